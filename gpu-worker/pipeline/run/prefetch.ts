// Keeps up to `depth` async results in flight ahead of the consumer, in input order:
// decoding the next images (on libuv's thread pool) overlaps with inference on this batch.

export async function* prefetch<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  depth: number,
  work: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  const inFlight: Promise<R>[] = [];
  let exhausted = false;
  const topUp = async () => {
    while (!exhausted && inFlight.length < depth) {
      const next = await iterator.next();
      if (next.done) exhausted = true;
      else {
        const pending = work(next.value);
        // Failures surface when the consumer reaches this item, not as unhandled rejections now.
        pending.catch(() => {});
        inFlight.push(pending);
      }
    }
  };
  await topUp();
  while (inFlight.length > 0) {
    const result = await inFlight.shift()!;
    await topUp();
    yield result;
  }
}

/** Groups a stream into arrays of at most `size`. */
export async function* chunk<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
