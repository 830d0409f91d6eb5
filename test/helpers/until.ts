// Polls until something becomes true in the real system under test (a job's status, a queue's
// depth): end-to-end tests wait on behaviour, not on fixed sleeps.
import { setTimeout as sleep } from "node:timers/promises";

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}
