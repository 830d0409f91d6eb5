// `npm run models:fetch -- <id>`: argument parsing and the manifest listing around
// fetchModelWithProgress(). Returns an exit code instead of exiting, so it stays testable.

import { Command, CommanderError } from "commander";
import { DEFAULT_MODELS_DIR, defaultModelsDir, ModelFetchError } from "./fetch.ts";
import { fetchModelWithProgress } from "./fetchProgress.ts";
import { findModel, getManifest } from "./manifest.ts";
import type { Manifest } from "./manifest.ts";

interface CliOptions {
  dir?: string;
  force?: boolean;
  url?: string;
  list?: boolean;
}

export async function runFetchCli(args: string[]): Promise<number> {
  let manifest: Manifest;
  try {
    manifest = getManifest();
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }

  const program = new Command()
    .name("npm run models:fetch --")
    .usage("[options] [id]")
    .description(
      "Download a detector listed in models/manifest.json and check it against the published checksum.\n" +
        "Weights are never committed to git; they live in the weights folder.",
    )
    .argument("[id]", "model id", manifest.default)
    .option("--dir <folder>", `weights folder (default: $TRAPLINE_MODELS_DIR, else ${DEFAULT_MODELS_DIR})`)
    .option("--force", "download again even when a verified copy is already there")
    .option("--url <url>", "download from this mirror instead of the manifest URL (checksums are still enforced)")
    .option("--list", "list the models in the manifest and exit")
    .addHelpText(
      "after",
      `\nModels: ${manifest.models.map((entry) => entry.id).join(", ")} (default ${manifest.default}).\n` +
        "No internet on this machine? Download the file elsewhere (see --list for each URL), copy it into\n" +
        "the weights folder under the name --list shows, or pass its path wherever a model id is accepted.",
    )
    .exitOverride()
    .allowExcessArguments(false);

  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }

  const options = program.opts<CliOptions>();
  if (options.list) {
    console.log(describeManifest(manifest, options.dir ?? defaultModelsDir()));
    return 0;
  }

  const id = program.processedArgs[0] as string;
  const entry = findModel(id, manifest);
  if (!entry) {
    console.error(`Unknown model "${id}". Known models: ${manifest.models.map((known) => known.id).join(", ")}.`);
    return 1;
  }

  try {
    const path = await fetchModelWithProgress(entry, { dir: options.dir, force: options.force, url: options.url });
    console.log(`${entry.id} is ready: ${path}`);
    return 0;
  } catch (error) {
    if (error instanceof ModelFetchError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

function describeManifest(manifest: Manifest, dir: string): string {
  const lines = [`Models in models/manifest.json (weights folder: ${dir}):`, ""];
  for (const entry of manifest.models) {
    const checks = [entry.sha256 && "sha256", entry.md5 && "md5", entry.sizeBytes && "size"].filter(Boolean);
    lines.push(
      `${entry.id}${entry.id === manifest.default ? "  (default)" : ""}`,
      `  ${entry.description}`,
      `  input ${entry.inputSize} px, stride ${entry.stride}, ${entry.outputLayout} output, ` +
        `typical threshold ${entry.typicalDetectionThreshold}, licence ${entry.licence}`,
      `  file ${entry.fileName} from ${entry.url}`,
      `  verified by: ${checks.length > 0 ? checks.join(", ") : "nothing pinned yet (the fetch prints the sha256 to pin)"}`,
      "",
    );
  }
  return lines.join("\n").trimEnd();
}

if (import.meta.main) {
  process.exitCode = await runFetchCli(process.argv.slice(2));
}
