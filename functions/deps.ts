// Builds the API's dependencies from validated config: one Redis client, one set of AWS clients.
import { createAwsClients } from "../core/aws.ts";
import type { AwsClientOptions } from "../core/aws.ts";
import type { Config } from "../core/config.ts";
import { JobStore, createRedis } from "../core/jobStore.ts";
import type { AppDeps } from "./types.ts";

export function createDeps(config: Config, options: { aws?: AwsClientOptions; staticDir?: string; log?: (message: string) => void } = {}): AppDeps {
  const log = options.log ?? ((message: string) => console.error(message));
  const redis = createRedis(config, { log });
  return {
    config,
    store: new JobStore(redis, { retentionDays: config.RETENTION_DAYS }),
    aws: createAwsClients(config, options.aws),
    log,
    ...(options.staticDir ? { staticDir: options.staticDir } : {}),
  };
}
