// Entry point: reads the config, then shows the upload page at #/ and a job at #/jobs/<id>
// (jobRoute.ts reads the link). Hash routes work on any static host (S3, CloudFront) without
// rewrite rules. A job still uploading opens in the upload view, which asks for its files again;
// the job this tab is sending keeps the upload view while its link is in the address bar.
import { Api } from "./api.ts";
import { loadConfig } from "./config.ts";
import { byId } from "./dom.ts";
import { createJobPage } from "./jobPage.ts";
import { routeOf } from "./jobRoute.ts";
import { createUploadPage } from "./uploadPage.ts";

async function main(): Promise<void> {
  const config = await loadConfig();
  const api = new Api(config.apiBaseUrl);
  const uploadPage = createUploadPage(api, (jobId) => {
    const link = `#/jobs/${jobId}`;
    // The link is in the address bar already while the job uploads: no hashchange comes for it.
    if (window.location.hash === link) route(true);
    else window.location.hash = link;
  });
  const jobPage = createJobPage(api, (jobId, job) => {
    uploadPage.resume(jobId, job);
    byId("upload-title").focus();
  });

  // Focus moves to the new heading on navigation, not on first load (screen readers start at the top).
  function route(navigated: boolean): void {
    const target = routeOf(window.location.hash);
    if (target.view === "none") {
      if (navigated) return;
      jobPage.hide();
      uploadPage.show();
    } else if (target.view === "job") {
      // The address bar shows the link as it should have been, ready to copy again.
      if (target.tidied) window.history.replaceState(null, "", target.tidied);
      if (uploadPage.activeJob() === target.jobId) {
        jobPage.hide();
        uploadPage.show();
        return;
      }
      jobPage.show(target.jobId, target.query);
      if (navigated) byId("job-title").focus();
    } else if (target.view === "not-a-job") {
      jobPage.showNotAJobLink(target.link);
      if (navigated) byId("job-title").focus();
    } else {
      jobPage.hide();
      uploadPage.show();
      if (navigated) byId("upload-title").focus();
    }
  }
  window.addEventListener("hashchange", () => route(true));
  route(false);
}

void main();
