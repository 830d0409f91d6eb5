// What the API needs from the outside world; the entry points (node.ts, lambda.ts, tests) build it.
import type { Context } from "hono";
import type { AwsClients } from "../core/aws.ts";
import type { Config } from "../core/config.ts";
import type { JobStore } from "../core/jobStore.ts";
import type { RateLimiter } from "../core/rateLimit.ts";

export interface AppDeps {
  config: Config;
  store: JobStore;
  aws: AwsClients;
  /** Defaults to a RateLimiter on the store's Redis with RATE_LIMIT_PER_HOUR. */
  rateLimiter?: RateLimiter;
  /** The caller's IP as the runtime knows it; defaults to the first X-Forwarded-For entry. */
  clientIp?: (c: Context) => string | undefined;
  /** A folder with the built web page (index.html and assets), served at / when given. */
  staticDir?: string;
  /** Where errors and notices go; defaults to console.error. */
  log?: (message: string) => void;
  /**
   * When the storage was last started, where it can lose objects while it is down (the local
   * stack's data folder can be emptied between runs): a done job's result seen before this is
   * looked for again. Unset (AWS): a result seen once is trusted, since S3 keeps it as long as the
   * record lives.
   */
  storageStartedAt?: Date;
}
