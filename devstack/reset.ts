// `npm run reset`: empties the local stack's data folder (uploads, results, queued messages).
// Job records stay in Redis; their pages then say the files are gone ("expired") instead of
// offering a broken download. Refuses while a stack is using the folder.
//   node devstack/reset.ts
import { ConfigError, loadConfig } from "../core/config.ts";
import { DataDirInUseError, wipeDataDir } from "./dataDir.ts";

try {
  const { root } = wipeDataDir(loadConfig().TRAPLINE_DATA_DIR);
  console.log(`Removed ${root}. The next npm start begins with an empty bucket and queue.`);
} catch (error) {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
