// Entry point: reads the config, then shows the upload page at #/ and a job at #/jobs/<id>.
// Hash routes work on any static host (S3, CloudFront) without rewrite rules.
import { Api } from "./api.ts";
import { loadConfig } from "./config.ts";
import { byId } from "./dom.ts";
import { createJobPage } from "./jobPage.ts";
import { createUploadPage } from "./uploadPage.ts";

const JOB_ROUTE = /^#\/jobs\/([A-Za-z0-9_-]+)\/?$/;

export function jobIdFromHash(hash: string): string | null {
  return JOB_ROUTE.exec(hash)?.[1] ?? null;
}

async function main(): Promise<void> {
  const config = await loadConfig();
  const api = new Api(config.apiBaseUrl);
  const jobPage = createJobPage(api);
  const uploadPage = createUploadPage(api, (jobId) => {
    window.location.hash = `#/jobs/${jobId}`;
  });

  // Focus moves to the new heading on navigation, not on first load (screen readers start at the top).
  const route = (navigated: boolean) => {
    const jobId = jobIdFromHash(window.location.hash);
    if (jobId) {
      jobPage.show(jobId);
      if (navigated) byId("job-title").focus();
    } else {
      jobPage.hide();
      uploadPage.show();
      if (navigated) byId("upload-title").focus();
    }
  };
  window.addEventListener("hashchange", () => route(true));
  route(false);
}

void main();
