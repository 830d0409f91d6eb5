// Which Chromium the browser tests drive, and how they launch it: the one home for that choice.
//
//   TRAPLINE_CHROMIUM unset     the system's browser where it is (Debian's /usr/bin/chromium;
//                               on macOS Google Chrome or Chromium in /Applications), else, on
//                               Linux x64, the build that `npm ci` brings in @sparticuz/chromium
//   TRAPLINE_CHROMIUM=bundled   that bundled build, even where a system browser exists
//   TRAPLINE_CHROMIUM=/a/path   that executable (any Chrome or Chromium)
//
// The bundled build is made for AWS Lambda: one brotli-compressed executable plus the NSS
// libraries and a font it needs, so it runs on a Linux without Chromium, NSS or any fonts.
// It is decompressed once per package version into node_modules/.cache (gone with the next
// `npm ci`, private to whoever owns the checkout, unlike /tmp where the package itself would put it).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { createBrotliDecompress } from "node:zlib";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

export const CHROMIUM_SETTING = "TRAPLINE_CHROMIUM";
const ROOT = join(import.meta.dirname, "..", "..");
const BUNDLE_PACKAGE = "@sparticuz/chromium";
/** Where a system browser lives when none is named, per platform, first found wins. */
const SYSTEM_BROWSERS: Partial<Record<NodeJS.Platform, readonly string[]>> = {
  linux: ["/usr/bin/chromium"],
  darwin: ["/Applications/Google Chrome.app/Contents/MacOS/Google Chrome", "/Applications/Chromium.app/Contents/MacOS/Chromium"],
};
/** Headless, as root in CI (no sandbox), and quiet: nothing reaches out to Google during a test. */
const LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export type ChromiumChoice = { kind: "system"; path: string } | { kind: "bundled" };

/** The choice alone, from the setting and what the machine has (a pure function, so every branch is testable anywhere). */
export function chooseChromium(setting: string | undefined, platform: NodeJS.Platform, arch: string, exists: (path: string) => boolean): ChromiumChoice {
  const bundledRuns = platform === "linux" && arch === "x64";
  if (setting === "bundled") {
    if (!bundledRuns) {
      throw new Error(`${CHROMIUM_SETTING}=bundled: ${BUNDLE_PACKAGE} holds a Linux x64 build, which cannot run on ${platform} ${arch}; set ${CHROMIUM_SETTING} to the path of an installed Chrome or Chromium`);
    }
    return { kind: "bundled" };
  }
  if (setting) {
    if (!exists(setting)) throw new Error(`${CHROMIUM_SETTING}=${setting}: no such file; set it to a Chrome or Chromium executable, or to "bundled"`);
    return { kind: "system", path: setting };
  }
  const system = (SYSTEM_BROWSERS[platform] ?? []).find(exists);
  if (system) return { kind: "system", path: system };
  if (bundledRuns) return { kind: "bundled" };
  throw new Error(`No Chromium for the browser tests on ${platform} ${arch}: install Google Chrome or Chromium and set ${CHROMIUM_SETTING} to its executable`);
}

export interface ChromiumLaunch {
  executablePath: string;
  /** Extra environment for the browser process: the bundled build's libraries and fonts. */
  env: Record<string, string>;
}

/** The executable the tests will drive, decompressing the bundled build on first use. */
export async function resolveChromium(setting = process.env[CHROMIUM_SETTING]): Promise<ChromiumLaunch> {
  const choice = chooseChromium(setting, process.platform, process.arch, existsSync);
  return choice.kind === "system" ? { executablePath: choice.path, env: {} } : bundledChromium();
}

/** A headless browser for one test file; launch() gives it a fresh temporary profile each time. */
export async function launchChromium(setting?: string): Promise<Browser> {
  const { executablePath, env } = await resolveChromium(setting);
  return chromium.launch({ executablePath, args: LAUNCH_ARGS, env: { ...process.env, ...env } });
}

async function bundledChromium(): Promise<ChromiumLaunch> {
  let bin: string;
  try {
    bin = join(dirname(fileURLToPath(import.meta.resolve(BUNDLE_PACKAGE))), "..", "bin");
  } catch {
    throw new Error(`${BUNDLE_PACKAGE} is not installed: run \`npm ci\` (it is a devDependency), or set ${CHROMIUM_SETTING} to a Chrome or Chromium executable`);
  }
  const { version } = JSON.parse(await readFile(join(bin, "..", "package.json"), "utf8")) as { version: string };
  const home = join(ROOT, "node_modules", ".cache", "trapline-chromium", version);
  if (!existsSync(home)) await unpackBundle(bin, home);
  return {
    executablePath: join(home, "chromium"),
    env: { LD_LIBRARY_PATH: join(home, "lib"), FONTCONFIG_FILE: join(home, "fonts.conf") },
  };
}

/**
 * Decompresses into a private folder, then renames it into place: parallel test files never see
 * half a binary, and whichever finishes second just drops its copy.
 */
async function unpackBundle(bin: string, home: string): Promise<void> {
  const partial = `${home}.partial-${randomBytes(4).toString("hex")}`;
  await mkdir(partial, { recursive: true });
  try {
    await pipeline(createReadStream(join(bin, "chromium.br")), createBrotliDecompress(), createWriteStream(join(partial, "chromium"), { mode: 0o755 }));
    // NSS and expat as built for Amazon Linux 2023 (glibc 2.34): older than any current distro's glibc.
    await untarBrotli(join(bin, "al2023.tar.br"), partial);
    // Open Sans: without any font Chromium's renderer crashes; with only this one, pages render the same everywhere.
    await untarBrotli(join(bin, "fonts.tar.br"), partial);
    await writeFile(
      join(partial, "fonts.conf"),
      `<?xml version="1.0"?>\n<fontconfig>\n  <dir>${join(home, "fonts")}</dir>\n  <cachedir>${join(home, "fonts-cache")}</cachedir>\n</fontconfig>\n`,
    );
    await rename(partial, home);
  } catch (error) {
    if (existsSync(home)) return;
    throw error;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/**
 * `.tar.br` into a folder: Node decompresses to a file, the system's tar (on every Linux) unpacks
 * it. Not piped: tar may exit at the archive's end marker before reading the padding after it.
 */
async function untarBrotli(archive: string, into: string): Promise<void> {
  const tarFile = join(into, basename(archive, ".br"));
  await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(tarFile));
  const tar = spawnSync("tar", ["-x", "--no-same-owner", "-f", tarFile, "-C", into], { encoding: "utf8" });
  await rm(tarFile);
  if (tar.status !== 0) throw new Error(`tar could not unpack ${archive}: ${tar.error?.message ?? tar.stderr.trim()}`);
}
