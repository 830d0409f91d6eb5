// Sends a job's files, PARALLEL_FILES at a time, in list order: each file gets its plan from
// JobFiles (signed in batches, fresh), goes through the transport (Uppy and the PlanUploader),
// and its state and bytes land in the PickedList. A file refused for an expired or refused link
// is signed again once and sent again. A file cut off by the connection is not a failure: it
// goes back in line and the queue pauses (connection.ts) until the connection is back, then
// goes on by itself. A file once in storage is never sent again.
import type { Connection } from "./connection.ts";
import type { JobFiles } from "./jobFiles.ts";
import type { PickedList } from "./pickedList.ts";
import { CancelledError, isConnectionError, uploadErrorMessage, type Transport } from "./uploader.ts";

/**
 * Files in flight at once. Browsers keep six connections per host over HTTP/1.1 (S3 speaks
 * nothing newer), and one more file than that keeps a connection busy while the next starts.
 */
export const PARALLEL_FILES = 6;

export class UploadQueue {
  readonly #list: PickedList;
  readonly #files: JobFiles;
  readonly #transport: Transport;
  readonly #connection: Connection;
  readonly #onChange: () => void;
  /** Where the scan for the next ready file goes on from. */
  #cursor = 0;
  /** Files cut off by the connection, sent again before the rest. */
  #again: number[] = [];
  #cancelled = false;

  constructor(deps: { list: PickedList; files: JobFiles; transport: Transport; connection: Connection; onChange: () => void }) {
    this.#list = deps.list;
    this.#files = deps.files;
    this.#transport = deps.transport;
    this.#connection = deps.connection;
    this.#onChange = deps.onChange;
  }

  /** Sends every file in state "ready"; resolves once none is left to send or the queue is cancelled. */
  async run(): Promise<void> {
    this.#cursor = 0;
    const worker = async () => {
      for (;;) {
        await this.#connection.ready();
        if (this.#cancelled) return;
        const index = this.#next();
        if (index === undefined) return;
        await this.#sendOne(index);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_FILES }, worker));
  }

  /** Stops for good: transfers are aborted, files in flight go back to ready. */
  cancel(): void {
    this.#cancelled = true;
    this.#files.stop();
    this.#transport.cancel();
    this.#connection.reset();
  }

  #next(): number | undefined {
    const again = this.#again.shift();
    if (again !== undefined) return again;
    for (; this.#cursor < this.#list.size; this.#cursor += 1) {
      if (this.#list.state(this.#cursor) === "ready") return this.#cursor++;
    }
    return undefined;
  }

  async #sendOne(index: number): Promise<void> {
    const list = this.#list;
    list.setState(index, "sending");
    this.#onChange();
    const progress = (sent: number) => {
      list.setSent(index, sent);
      this.#onChange();
    };
    try {
      try {
        await this.#transport.send(list.file(index), this.#files.serverName(index), await this.#files.planFor(index), progress);
      } catch (error) {
        // An expired link, or one refused: signed afresh once (the next refusal is the file's).
        if ((error as { status?: number }).status !== 403 || this.#cancelled) throw error;
        this.#files.forget(index);
        await this.#transport.send(list.file(index), this.#files.serverName(index), await this.#files.planFor(index), progress);
      }
      list.setState(index, "done");
      this.#connection.up();
    } catch (error) {
      if (this.#cancelled || error instanceof CancelledError) {
        list.setState(index, "ready");
      } else if (isConnectionError(error)) {
        list.setState(index, "ready");
        this.#again.push(index);
        this.#connection.down();
      } else {
        list.setState(index, "failed", uploadErrorMessage(error));
        // Storage or the API answered: the connection itself works.
        this.#connection.up();
      }
    } finally {
      this.#files.forget(index);
      this.#onChange();
    }
  }
}
