// A shard's previews go to S3 as they are made, a few at a time: the photo loop never waits on
// one PUT's latency, and memory holds at most PREVIEW_PUTS_IN_FLIGHT previews (tens of kB each).
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { previewKey } from "../../../core/keys.ts";

/** PUTs in flight at once: enough to hide S3's latency, few enough to bound memory. */
export const PREVIEW_PUTS_IN_FLIGHT = 8;

export class PreviewUploads {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #jobId: string;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: unknown;
  #failed = false;

  constructor(s3: S3Client, bucket: string, jobId: string) {
    this.#s3 = s3;
    this.#bucket = bucket;
    this.#jobId = jobId;
  }

  /** Starts the PUT of preview `name` (result.preview); waits only while too many are in flight. */
  async put(name: string, bytes: Buffer): Promise<void> {
    this.#throwIfFailed();
    while (this.#inFlight.size >= PREVIEW_PUTS_IN_FLIGHT) await Promise.race(this.#inFlight);
    const sending: Promise<void> = this.#s3
      .send(new PutObjectCommand({ Bucket: this.#bucket, Key: previewKey(this.#jobId, name), Body: bytes, ContentType: "image/jpeg" }))
      .then(
        () => {},
        (error: unknown) => {
          this.#failed = true;
          this.#failure = error;
        },
      )
      .finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  /** Every PUT settled; throws the first failure (the shard is then redone). */
  async drain(): Promise<void> {
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failed) throw new Error(`a preview could not be stored: ${this.#failure instanceof Error ? this.#failure.message : String(this.#failure)}`);
  }
}
