import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, readlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Browser } from "playwright-core";
import { chooseChromium, launchChromium, resolveChromium } from "./chromium.ts";

const DEBIAN = "/usr/bin/chromium";
const MAC_CHROME = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome";
const only = (...paths: string[]) => (path: string) => paths.includes(path);

test("unset: Debian's Chromium where it is, else the bundled build on Linux x64", () => {
  assert.deepEqual(chooseChromium(undefined, "linux", "x64", only(DEBIAN)), { kind: "system", path: DEBIAN });
  assert.deepEqual(chooseChromium(undefined, "linux", "x64", only()), { kind: "bundled" });
  assert.deepEqual(chooseChromium("", "linux", "x64", only()), { kind: "bundled" });
});

test("unset on macOS: Chrome from /Applications; nothing installed says what to set", () => {
  assert.deepEqual(chooseChromium(undefined, "darwin", "arm64", only(MAC_CHROME)), { kind: "system", path: MAC_CHROME });
  assert.throws(() => chooseChromium(undefined, "darwin", "arm64", only()), /install Google Chrome or Chromium and set TRAPLINE_CHROMIUM/);
  assert.throws(() => chooseChromium(undefined, "linux", "arm64", only()), /set TRAPLINE_CHROMIUM/);
});

test("TRAPLINE_CHROMIUM=bundled wins over Debian's, and is refused where the Linux x64 build cannot run", () => {
  assert.deepEqual(chooseChromium("bundled", "linux", "x64", only(DEBIAN)), { kind: "bundled" });
  assert.throws(() => chooseChromium("bundled", "darwin", "arm64", only(MAC_CHROME)), /Linux x64 build, which cannot run on darwin arm64/);
});

test("TRAPLINE_CHROMIUM=<path> is used as given, and must exist", () => {
  assert.deepEqual(chooseChromium("/opt/chrome/chrome", "linux", "x64", only(DEBIAN, "/opt/chrome/chrome")), { kind: "system", path: "/opt/chrome/chrome" });
  assert.throws(() => chooseChromium("/opt/chrome/chrome", "linux", "x64", only(DEBIAN)), /TRAPLINE_CHROMIUM=\/opt\/chrome\/chrome: no such file/);
});

async function rendersText(browser: Browser): Promise<{ sans: number; mono: number }> {
  const page = await browser.newPage();
  await page.setContent(`<p><span id="sans" style="font: 16px sans-serif">4 files · 7.3 MB</span></p><p><span id="mono" style="font: 16px monospace">4 files · 7.3 MB</span></p>`);
  const sans = await page.locator("#sans").boundingBox();
  const mono = await page.locator("#mono").boundingBox();
  assert.ok(sans && sans.width > 0 && sans.height > 0, "text has no size: the browser has no font");
  await page.close();
  return { sans: sans.width, mono: mono!.width };
}

test("the browser the tests will use launches and lays out text", async () => {
  const browser = await launchChromium();
  try {
    console.log(`Chromium ${browser.version()} (${(await resolveChromium()).executablePath})`);
    await rendersText(browser);
  } finally {
    await browser.close();
  }
});

test("the bundled build runs with its own NSS libraries and font, none of the system's", { skip: process.platform !== "linux" || process.arch !== "x64" ? "the bundled build is Linux x64 only" : false }, async () => {
  const { executablePath } = await resolveChromium("bundled");
  const browser = await launchChromium("bundled");
  try {
    // Only Open Sans is there, so monospace text falls back to it and measures like sans-serif.
    const { sans, mono } = await rendersText(browser);
    assert.equal(mono, sans, "monospace differs from sans-serif: the bundled build is reading the system's fonts");
    const maps = await browserMaps(executablePath);
    const nss = maps.split("\n").find((line) => line.endsWith("/libnss3.so"));
    assert.equal(nss?.split(/\s+/).pop(), join(dirname(executablePath), "lib", "libnss3.so"), "libnss3 was not loaded from the bundle");
  } finally {
    await browser.close();
  }
});

/** The memory map of the running browser process started from `executablePath` (Linux /proc). */
async function browserMaps(executablePath: string): Promise<string> {
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => "");
    if (exe === executablePath) return readFile(`/proc/${pid}/maps`, "utf8");
  }
  throw new Error(`no running process of ${executablePath}`);
}
