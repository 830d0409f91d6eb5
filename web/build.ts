// Builds the page into web/dist: one bundled, minified script, the HTML and CSS, and
// config.json saying where the API is ("" = same origin; the deploy writes its own).
// Run: node web/build.ts   (API_BASE_URL=https://api.example.org to point elsewhere)
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const webDir = dirname(fileURLToPath(import.meta.url));
export const distDir = join(webDir, "dist");

export async function buildWeb(apiBaseUrl = process.env.API_BASE_URL ?? ""): Promise<string> {
  await rm(distDir, { recursive: true, force: true });
  await mkdir(distDir, { recursive: true });
  await build({
    entryPoints: [join(webDir, "src", "main.ts")],
    outfile: join(distDir, "app.js"),
    bundle: true,
    format: "esm",
    target: ["es2022", "chrome100", "firefox100", "safari15"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  await copyFile(join(webDir, "index.html"), join(distDir, "index.html"));
  await copyFile(join(webDir, "styles.css"), join(distDir, "styles.css"));
  await writeFile(join(distDir, "config.json"), `${JSON.stringify({ apiBaseUrl })}\n`);
  return distDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildWeb();
  console.log(`Built the web page into ${out}`);
}
