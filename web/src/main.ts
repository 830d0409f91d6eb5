// Entry point: reads the config, then shows the upload page at #/ and a job at #/jobs/<id>
// (jobRoute.ts reads the link). Hash routes work on any static host (S3, CloudFront) without
// rewrite rules.
import { Api } from "./api.ts";
import { loadConfig } from "./config.ts";
import { byId } from "./dom.ts";
import { createJobPage } from "./jobPage.ts";
import { routeOf } from "./jobRoute.ts";
import { createUploadPage } from "./uploadPage.ts";

async function main(): Promise<void> {
  const config = await loadConfig();
  const api = new Api(config.apiBaseUrl);
  const jobPage = createJobPage(api);
  const uploadPage = createUploadPage(api, (jobId) => {
    window.location.hash = `#/jobs/${jobId}`;
  });

  // Focus moves to the new heading on navigation, not on first load (screen readers start at the top).
  const route = (navigated: boolean) => {
    const target = routeOf(window.location.hash);
    if (target.view === "none") {
      if (navigated) return;
      jobPage.hide();
      uploadPage.show();
    } else if (target.view === "job") {
      // The address bar shows the link as it should have been, ready to copy again.
      if (target.tidied) window.history.replaceState(null, "", target.tidied);
      jobPage.show(target.jobId);
      if (navigated) byId("job-title").focus();
    } else if (target.view === "not-a-job") {
      jobPage.showNotAJobLink(target.link);
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
