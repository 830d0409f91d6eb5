// Builds the page into web/dist: one bundled, minified script, the HTML and CSS, and
// config.json saying where the API is ("" = same origin; the deploy writes its own).
// Run: node web/build.ts   (API_BASE_URL=https://api.example.org to point elsewhere)
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const webDir = dirname(fileURLToPath(import.meta.url));
export const distDir = join(webDir, "dist");

/**
 * Builds into a private folder, then moves each file into dist with rename (atomic per file): the
 * browser test files build at the same time as pages are being served from dist, and an
 * rm-then-write left a moment with no index.html (a page that never showed its form).
 */
export async function buildWeb(apiBaseUrl = process.env.API_BASE_URL ?? ""): Promise<string> {
  const staging = await mkdtemp(join(webDir, ".dist-"));
  try {
    await build({
      entryPoints: [join(webDir, "src", "main.ts")],
      outfile: join(staging, "app.js"),
      bundle: true,
      format: "esm",
      target: ["es2022", "chrome100", "firefox100", "safari15"],
      minify: true,
      sourcemap: true,
      legalComments: "linked",
      logLevel: "warning",
    });
    await copyFile(join(webDir, "index.html"), join(staging, "index.html"));
    await copyFile(join(webDir, "styles.css"), join(staging, "styles.css"));
    await writeFile(join(staging, "config.json"), `${JSON.stringify({ apiBaseUrl })}\n`);
    await mkdir(distDir, { recursive: true });
    for (const name of await readdir(staging)) await rename(join(staging, name), join(distDir, name));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return distDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildWeb();
  console.log(`Built the web page into ${out}`);
}
