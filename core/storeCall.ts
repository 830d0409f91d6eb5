// Redis calls outside JobStore (core/filePlan.ts, core/uploadIdle.ts) fail the way JobStore's
// do: a connection problem becomes StoreUnavailableError (the API answers 503, the worker waits),
// while a ReplyError (Redis answering "no": a bug or bad data) passes through as it is.
import { StoreUnavailableError } from "./jobStore.ts";

export async function storeCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error && error.name !== "ReplyError") {
      throw new StoreUnavailableError(`The job database (Redis) is unavailable: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
