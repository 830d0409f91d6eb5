// Every Redis call (JobStore, core/filePlan.ts, core/uploadIdle.ts) fails the same way: a
// connection problem becomes StoreUnavailableError (the API answers 503, the worker waits),
// while a ReplyError (Redis answering "no": a bug or bad data) passes through as it is.

/** Redis could not be reached (down, restarting, network): the API answers 503, the worker waits. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

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
