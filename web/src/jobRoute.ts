// Which view a link asks for: the upload page at #/, a job at #/jobs/<id>. Links travel through
// mail clients and chat apps that glue a full stop, a bracket or an encoded space to their end;
// that junk is dropped rather than showing the wrong page. A #/jobs/ link that still holds no
// job id is said to be one, rather than silently showing the upload page.
import { JOB_ID_PATTERN } from "../../core/jobs.ts";

export type Route =
  | { view: "upload" }
  /** `tidied`: the clean hash to put in the address bar when the link carried junk. */
  | { view: "job"; jobId: string; tidied?: string; query?: string }
  | { view: "not-a-job"; link: string }
  /** A hash that is no route at all (the skip link's #main): stay where we are. */
  | { view: "none" };

const JOBS_PREFIX = "/jobs/";
/** What sentences and chat apps put after a link: punctuation, brackets, quotes, spaces, slashes. */
const TRAILING_JUNK = /[\s.,;:!?'"’”)\]}>/\\]+$/u;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function routeOf(hash: string): Route {
  // A job link may carry the gallery's filters after "?" (gallery.ts): they are the view's, not the job id's.
  const mark = hash.indexOf("?");
  const query = mark >= 0 ? hash.slice(mark + 1) : undefined;
  const raw = (mark >= 0 ? hash.slice(0, mark) : hash).replace(/^#/, "");
  if (raw === "" || raw === "/") return { view: "upload" };
  if (!raw.startsWith("/")) return { view: "none" };
  const path = decoded(raw).trim();
  if (!path.toLowerCase().startsWith(JOBS_PREFIX)) return { view: "upload" };
  const candidate = path.slice(JOBS_PREFIX.length).replace(TRAILING_JUNK, "");
  if (!JOB_ID_PATTERN.test(candidate)) return { view: "not-a-job", link: path };
  const clean = `#${JOBS_PREFIX}${candidate}${query ? `?${query}` : ""}`;
  const route: Route = clean === hash ? { view: "job", jobId: candidate } : { view: "job", jobId: candidate, tidied: clean };
  return query ? { ...route, query } : route;
}
