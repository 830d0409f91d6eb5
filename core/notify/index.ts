// The job's email: what it says (composeJobEmail), how it leaves (mailTransport: SMTP, SES or the
// log), and the once-per-job send the worker calls when a job is done or failed (sendJobEmail).
export { composeJobEmail, filesDeletedAt, type JobEmail, type JobEmailInput } from "./composeJobEmail.ts";
export { jobPageUrl } from "./jobPageUrl.ts";
export { createMailTransport, senderOf, type MailMessage, type MailTransport, type MailTransportKind } from "./mailTransport.ts";
export { EMAIL_LEASE_SECONDS, jobEmailDeps, sendJobEmail, type JobEmailDeps, type JobEmailOutcome } from "./sendJobEmail.ts";
