// The S3 + SQS emulator (fauxqs) inside this process, on loopback only, answering browsers'
// CORS as the bucket's rule would (emulatorCors.ts).
//
// With folders given, it keeps its state on disk, so stopping and starting `npm start` loses
// nothing: queues and messages (visibility deadlines and receive counts included) in fauxqs's
// SQLite database, objects as plain files (fauxqs's file storage: only metadata stays in memory,
// so a job's uploads are not bounded by RAM).
//
// fauxqs offers persistence through startFauxqs({ dataDir, s3StorageDir }), but that listens on
// 0.0.0.0, and the emulator checks no credentials: anyone on the network could read the photos.
// So the same wiring startFauxqs does (fauxqs 2.4: stores loaded first, then persistence attached)
// is done here around buildApp({ stores }), which listens where we say. The stores and
// persistence classes are fauxqs's own, loaded from its dist folder since the package does not
// export them by name.
import { buildApp } from "fauxqs";
import { playBucketCors } from "./emulatorCors.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

export interface EmulatorFolders {
  /** fauxqs's SQLite database for queues and messages. */
  sqs: string;
  /** fauxqs's file storage for buckets and objects. */
  s3: string;
}

/** A queue's messages as the emulator holds them, none received or changed by looking. */
export interface QueueContents {
  /** Bodies of the messages a receive could return now or once their delay passes. */
  waiting: string[];
  /** Messages handed to a consumer and invisible until their deadline (ms since the epoch). */
  held: Array<{ body: string; receiptHandle: string; visibleAt: number }>;
}

export interface Emulator {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /**
   * Every message of the queue `name` (fauxqs's inspection endpoint; one message per waiting
   * job, so as many as the jobs submitted and not yet done); undefined when there is no such queue.
   */
  inspectQueue(name: string): Promise<QueueContents | undefined>;
  close(): Promise<void>;
}

/** What fauxqs's GET /_fauxqs/queues/<name> answers, as far as this file reads it. */
interface Inspection {
  messages: {
    ready: Array<{ body: string }>;
    delayed: Array<{ body: string }>;
    inflight: Array<{ message: { body: string }; receiptHandle: string; visibilityDeadline: number }>;
  };
}

/** Starts fauxqs on 127.0.0.1 (any free port): in memory, or on disk when `folders` are given. */
export async function startEmulator(folders?: EmulatorFolders): Promise<Emulator> {
  const persistent = folders ? await persistentStores(folders) : undefined;
  const app = buildApp({ logger: false, ...(persistent ? { stores: persistent.stores } : {}) });
  playBucketCors(app);
  const close = async () => {
    await app.close();
    persistent?.close();
  };
  try {
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    return {
      endpoint: new URL(address).origin,
      async inspectQueue(name) {
        const reply = await app.inject({ method: "GET", url: `/_fauxqs/queues/${encodeURIComponent(name)}` });
        if (reply.statusCode === 404) return undefined;
        if (reply.statusCode !== 200) throw new Error(`The emulator could not show the queue "${name}" (HTTP ${reply.statusCode}): ${reply.body}`);
        const { messages } = reply.json<Inspection>();
        return {
          waiting: [...messages.ready, ...messages.delayed].map((message) => message.body),
          held: messages.inflight.map((entry) => ({ body: entry.message.body, receiptHandle: entry.receiptHandle, visibleAt: entry.visibilityDeadline })),
        };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The database file PersistenceManager keeps in its folder. */
const SQS_DATABASE = "fauxqs.db";

// fauxqs's classes, typed through what buildApp's `stores` option declares.
type Stores = NonNullable<NonNullable<Parameters<typeof buildApp>[0]>["stores"]>;
type QueuePersistence = NonNullable<Stores["sqsStore"]["persistence"]>;
type ObjectPersistence = NonNullable<Stores["s3Store"]["persistence"]>;
interface Internals {
  SqsStore: new () => Stores["sqsStore"];
  SnsStore: new () => Stores["snsStore"];
  S3Store: new () => Stores["s3Store"];
  PersistenceManager: new (dir: string) => QueuePersistence;
  FileS3Persistence: new (dir: string) => ObjectPersistence;
}

/** The classes startFauxqs wires together, from the files of fauxqs 2.4.1's dist/app.js imports. */
async function loadInternals(): Promise<Internals> {
  const app = import.meta.resolve("fauxqs"); // <package>/dist/app.js
  const load = async <K extends keyof Internals>(path: string, name: K): Promise<Internals[K]> => {
    const module = (await import(new URL(path, app).href).catch(() => ({}))) as Partial<Internals>;
    const found = module[name];
    if (typeof found !== "function") {
      throw new Error(
        `fauxqs has no ${name} in dist/${path.slice(2)} any more; the local stack's persistence was written for fauxqs 2.4. ` +
          `Install that version (npm install fauxqs@2.4.1) or adapt devstack/emulator.ts.`,
      );
    }
    return found as Internals[K];
  };
  return {
    SqsStore: await load("./sqs/sqsStore.js", "SqsStore"),
    SnsStore: await load("./sns/snsStore.js", "SnsStore"),
    S3Store: await load("./s3/s3Store.js", "S3Store"),
    PersistenceManager: await load("./persistence.js", "PersistenceManager"),
    FileS3Persistence: await load("./s3/fileS3Persistence.js", "FileS3Persistence"),
  };
}

/**
 * Stores that load what the folders hold, then write every change through (fauxqs writes each
 * mutation at once: a killed process loses nothing it acknowledged). `close` closes the database
 * once the app using the stores has closed.
 */
async function persistentStores(folders: EmulatorFolders): Promise<{ stores: Stores; close(): void }> {
  const internals = await loadInternals();
  const stores: Stores = { sqsStore: new internals.SqsStore(), snsStore: new internals.SnsStore(), s3Store: new internals.S3Store() };
  const queues = new internals.PersistenceManager(folders.sqs);
  const objects = new internals.FileS3Persistence(folders.s3);
  // fauxqs 2.4.1 writes a message given back (ChangeMessageVisibility to 0) as NULL receive
  // count, which its schema forbids: the write throws after the message left the in-flight list
  // and before it reached the ready one, so the message is lost until the next start. This
  // statement on a second connection to the same database does what was meant, keeping the count.
  const database = new DatabaseSync(join(folders.sqs, SQS_DATABASE));
  const markReady = database.prepare("UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?");
  queues.updateMessageReady = (messageId) => void markReady.run(messageId);
  // Load first, then attach, as startFauxqs does: loading must not write the rows back.
  queues.loadSqsAndSns(stores.sqsStore, stores.snsStore);
  objects.loadS3(stores.s3Store);
  stores.sqsStore.persistence = queues;
  stores.snsStore.persistence = queues;
  for (const queue of stores.sqsStore.allQueues()) queue.persistence = queues;
  stores.s3Store.persistence = objects;
  return {
    stores,
    close() {
      database.close();
      queues.close();
      objects.close();
    },
  };
}
