// Reads a whole zip into memory for assertions (tests only: results zips there are small).
import yauzl, { type Entry } from "yauzl";

export async function readZip(path: string): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
  const entries = new Map<string, Buffer>();
  try {
    const all = await new Promise<Entry[]>((resolve, reject) => {
      const found: Entry[] = [];
      zip.on("entry", (entry: Entry) => (found.push(entry), zip.readEntry()));
      zip.on("end", () => resolve(found));
      zip.on("error", reject);
      zip.readEntry();
    });
    for (const entry of all) {
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      entries.set(entry.fileName, Buffer.concat(chunks));
    }
  } finally {
    zip.close();
  }
  return entries;
}
