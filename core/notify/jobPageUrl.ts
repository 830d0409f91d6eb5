// The one link a job's email carries: the job's page, which signs a fresh download link each time
// it is opened (a presigned link in an email would stop working after PRESIGN_SECONDS).
import type { Config } from "../config.ts";

/** <PUBLIC_SITE_URL>/#/jobs/<id> (the page's route, web/src/jobRoute.ts); locally http://localhost:PORT/#/jobs/<id>. */
export function jobPageUrl(config: Pick<Config, "PUBLIC_SITE_URL" | "PORT">, jobId: string): string {
  const url = new URL(config.PUBLIC_SITE_URL ?? `http://localhost:${config.PORT}/`);
  url.hash = `/jobs/${encodeURIComponent(jobId)}`;
  return url.toString();
}
