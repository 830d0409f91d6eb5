// Redis for tests: the machine's shared server, but every key under a random prefix so tests
// never see real jobs or each other's, and cleanup removes exactly what the test wrote.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createRedis } from "../../core/jobStore.ts";
import type { RedisClient } from "../../core/jobStore.ts";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TestRedis {
  redis: RedisClient;
  prefix: string;
  /** Deletes every key under the prefix and disconnects. */
  cleanup(): Promise<void>;
}

export function testRedis(): TestRedis {
  const prefix = `test:${randomBytes(6).toString("hex")}:`;
  const redis = createRedis({ REDIS_URL: TEST_REDIS_URL, REDIS_CLUSTER: false }, { keyPrefix: prefix });
  return {
    redis,
    prefix,
    async cleanup() {
      try {
        await deleteKeysWithPrefix(prefix);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** Deletes a test's keys from the shared Redis (a plain client: SCAN's MATCH is not prefixed by ioredis's keyPrefix). */
export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  const raw = new Redis(TEST_REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await raw.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    raw.disconnect();
  }
}
