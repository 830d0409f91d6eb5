// A job's files as the API knows them, for the upload queue (DESIGN.md "Jobs of any size"): the
// job is created with the first page of the list, the rest is added a page at a time (every
// request and answer under 1 MB), and each file gets its plan when the queue comes to it. Plans
// are held for the next PLANS_HELD files only (a signed link is ~600 bytes and lasts an hour;
// 100,000 of them would be 60 MB gone stale), so most are signed in batches just before use
// (POST .../uploads/sign), and again when a link is near its end or storage refused it.
import type { JobOptions } from "../../core/jobs.ts";
import { MAX_PAGE_FILES, type UploadPlan, type UploadPlans } from "../../functions/wire.ts";
import { ApiError, type Api } from "./api.ts";
import type { Connection } from "./connection.ts";
import { formTimes, learnClock, linkStillGood, type LinkTimes } from "./linkExpiry.ts";
import type { PickedList } from "./pickedList.ts";
import { CancelledError, isConnectionError } from "./uploader.ts";

/**
 * Files sent in one request go as presigned form POSTs: a form is a simple cross-origin
 * request, so the browser skips the CORS preflight a presigned PUT costs per file.
 */
const SINGLE_UPLOAD = "POST";
/** Plans held at once: a few minutes of sending ahead, not the whole job. */
const PLANS_HELD = 2_000;
/** Files signed in one request when the queue needs plans (at most MAX_PAGE_FILES). */
const SIGN_BATCH = 500;

export class JobFiles {
  readonly jobId: string;
  readonly #api: Api;
  readonly #list: PickedList;
  readonly #connection: Connection;
  /** 1 for each list index the job's plan holds. */
  readonly #listed: Uint8Array;
  /** Names the server keeps differently from the page's upload name (made safe), by index. */
  readonly #serverNames = new Map<number, string>();
  readonly #plans = new Map<number, UploadPlan>();
  /** Signing under way, by each index it covers. */
  readonly #signing = new Map<number, Promise<void>>();
  /** Calls waiting for an index to be listed. */
  #listedWaiters: (() => void)[] = [];
  #stopped = false;

  private constructor(api: Api, list: PickedList, connection: Connection, jobId: string) {
    this.#api = api;
    this.#list = list;
    this.#connection = connection;
    this.jobId = jobId;
    this.#listed = new Uint8Array(list.size);
  }

  /** Creates the job with the first page of `indices` (their order is the job's); the rest follow with addRest(). */
  static async create(api: Api, list: PickedList, connection: Connection, request: { email: string; indices: number[]; options?: JobOptions }): Promise<{ job: JobFiles; rest: number[] }> {
    const first = request.indices.slice(0, MAX_PAGE_FILES);
    const created = await api.createJob({
      email: request.email,
      singleUpload: SINGLE_UPLOAD,
      files: first.map((index) => fileToUpload(list, index)),
      totals: { files: request.indices.length, bytes: request.indices.reduce((sum, index) => sum + list.file(index).size, 0) },
      ...(request.options ? { options: request.options } : {}),
    });
    const job = new JobFiles(api, list, connection, created.jobId);
    job.#took(first, created);
    return { job, rest: request.indices.slice(MAX_PAGE_FILES) };
  }

  /** A job that exists already (a resume): `inJob` are the list's files its plan holds. */
  static existing(api: Api, list: PickedList, connection: Connection, jobId: string, inJob: Iterable<number>): JobFiles {
    const job = new JobFiles(api, list, connection, jobId);
    for (const index of inJob) job.#listed[index] = 1;
    return job;
  }

  /**
   * Adds `indices` to the job a page at a time, in order; pauses with the connection and goes on
   * when it is back. `onPage` hears how many are listed so far.
   */
  async addRest(indices: readonly number[], onPage: (added: number) => void = () => {}): Promise<void> {
    for (let at = 0; at < indices.length && !this.#stopped; ) {
      const page = indices.slice(at, at + MAX_PAGE_FILES);
      try {
        const answer = await this.#api.addFiles(this.jobId, { files: page.map((index) => fileToUpload(this.#list, index)), singleUpload: SINGLE_UPLOAD });
        this.#connection.up();
        this.#took(page, answer);
      } catch (error) {
        if (isConnectionError(error)) {
          this.#connection.down();
          await this.#connection.ready();
          continue;
        }
        // The page's answer was lost after the server added it: it is in the job, plans are signed when needed.
        if (!(error instanceof ApiError && error.code === "duplicate_name")) throw error;
        this.#took(page, { uploads: [], expiresAt: "" });
      }
      at += page.length;
      onPage(at);
    }
  }

  /** The file's plan, its links still good (linkExpiry.ts); signs a batch of the files after it when none is held. */
  async planFor(index: number): Promise<UploadPlan> {
    for (;;) {
      const held = this.#plans.get(index);
      if (held && stillGood(held)) return held;
      const signing = this.#signing.get(index);
      if (signing) {
        await signing;
        continue;
      }
      await this.#whenListed(index);
      if (this.#stopped) throw new CancelledError();
      await this.#signFrom(index);
    }
  }

  /** The plan is used up (the file is done, failed or its link refused): the next planFor() signs afresh. */
  forget(index: number): void {
    this.#plans.delete(index);
  }

  /** The name the job's plan holds for the file. */
  serverName(index: number): string {
    return this.#serverNames.get(index) ?? this.#list.uploadName(index);
  }

  /** Stops adding pages (a cancel): calls waiting for a listing go on and find nothing. */
  stop(): void {
    this.#stopped = true;
    this.#release();
  }

  /** Records a page the job now holds and keeps the plans of it that fit. */
  #took(indices: readonly number[], answer: UploadPlans): void {
    noteClock(answer);
    indices.forEach((index, at) => {
      this.#listed[index] = 1;
      const plan = answer.uploads[at];
      if (!plan) return; // not signed in this answer (`unsigned`): planFor() asks when it is needed
      if (plan.name !== this.#list.uploadName(index)) this.#serverNames.set(index, plan.name);
      if (this.#plans.size < PLANS_HELD) this.#plans.set(index, plan);
    });
    this.#release();
  }

  async #signFrom(index: number): Promise<void> {
    const batch = [index];
    for (let next = index + 1; next < this.#list.size && batch.length < SIGN_BATCH; next += 1) {
      const held = this.#plans.get(next);
      if (this.#listed[next] && this.#list.state(next) === "ready" && !this.#signing.has(next) && !(held && stillGood(held))) batch.push(next);
    }
    const work = this.#api.signUploads(this.jobId, { names: batch.map((at) => this.serverName(at)), singleUpload: SINGLE_UPLOAD }).then((answer) => {
      noteClock(answer);
      batch.forEach((at, position) => {
        const plan = answer.uploads[position];
        if (plan) this.#plans.set(at, plan);
      });
      if (!answer.uploads[0]) throw new Error(`The server signed no upload link for “${this.serverName(index)}”.`);
    });
    for (const at of batch) this.#signing.set(at, work);
    try {
      await work;
    } finally {
      for (const at of batch) this.#signing.delete(at);
    }
  }

  #whenListed(index: number): Promise<void> {
    if (this.#listed[index] || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.#listed[index] || this.#stopped) resolve();
        else this.#listedWaiters.push(check);
      };
      check();
    });
  }

  #release(): void {
    const waiters = this.#listedWaiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}

/** A link of a plan, to tell its age by (a multipart plan may come with no part links yet). */
function linkOf(plan: UploadPlan): string | LinkTimes | null | undefined {
  if (plan.method === "PUT") return plan.url;
  if (plan.method === "POST") return formTimes(plan.fields);
  return plan.multipart.parts[0]?.url;
}

/** Links in a plan are still good to start with; the multipart upload itself does not expire (its parts are signed as needed). */
function stillGood(plan: UploadPlan): boolean {
  const link = linkOf(plan);
  return link === undefined || linkStillGood(link);
}

/** The answer's links were signed just now, by the signer's clock. */
function noteClock(answer: UploadPlans): void {
  const link = answer.uploads.map(linkOf).find((url) => url !== undefined);
  if (link) learnClock(link);
}

function fileToUpload(list: PickedList, index: number) {
  const file = list.file(index);
  return { name: list.uploadName(index), size: file.size, ...(file.type ? { type: file.type } : {}) };
}
