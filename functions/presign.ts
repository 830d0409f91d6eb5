// Presigned S3 URLs for browsers: PUT for small files, one URL per multipart part, GET for the
// result. All are signed with the presigning client (no x-amz-checksum-* parameters). Upload URLs
// sign the body's length too (content-length in X-Amz-SignedHeaders), so S3 refuses a body of any
// other size with SignatureDoesNotMatch; browsers send that header themselves.
//
// UploadSigner signs the many upload URLs of a page of files: the same URLs, byte for byte, as
// getSignedUrl (functions/presign.test.ts compares them), about five times faster, because it
// resolves the bucket's endpoint once and then signs each request with the SDK's own signer
// instead of running a command through the client's middleware for every URL.
//
// UploadSigner.post signs a browser form upload (S3 POST Object) for the same single-request
// files: a policy that names the key, the content type and the exact length, signed with the
// SDK's SigV4 signer. A form POST is a "simple" cross-origin request, so a browser sends it
// without the CORS preflight every presigned PUT costs (each PUT URL is unique, so the
// preflight cache never hits): one round trip per photo instead of two.
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl, S3RequestPresigner } from "@aws-sdk/s3-request-presigner";
import type { S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { partLength } from "./uploadPlan.ts";

export interface Signed {
  url: string;
  expiresAt: string;
}

/** When a URL signed now for `seconds` stops working, as ISO 8601. */
export function expiry(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}

/** A GET URL that downloads as `filename`. */
export async function presignGet(presigner: S3Client, bucket: string, key: string, filename: string, seconds: number): Promise<Signed> {
  const url = await getSignedUrl(
    presigner,
    new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition: `attachment; filename="${filename}"` }),
    { expiresIn: seconds },
  );
  return { url, expiresAt: expiry(seconds) };
}


/** Encodes like the SDK's extendedEncodeURIComponent: RFC 3986 unreserved characters stay, the rest is %XX. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An S3 key as the SDK puts it into a path: each segment escaped, slashes kept. */
function escapeKey(key: string): string {
  return key.split("/").map(escapeUri).join("/");
}

interface Endpoint {
  protocol: string;
  hostname: string;
  port?: number;
  /** The path before the key: "/<bucket>/" for path-style endpoints, "/" for virtual-hosted ones. */
  basePath: string;
}

/** Key used once to learn where the bucket's objects are addressed. */
const PROBE_KEY = "trapline-endpoint-probe";

/** A presigned form upload: POST multipart/form-data to `url` with `fields` first and the file last. */
export interface SignedPost {
  url: string;
  fields: Record<string, string>;
}

/** SigV4's basic ISO 8601 form, as X-Amz-Date writes it: 20260501T100000Z. */
function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Upload URLs (single PUTs and multipart parts), and GETs of previews, for one bucket, valid for `seconds`. */
export class UploadSigner {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #seconds: number;
  readonly #signer: S3RequestPresigner;
  /** Signs POST policies (a string, not a request) with the presigning client's credentials and region. */
  readonly #policySigner: SignatureV4;
  #endpoint: Promise<Endpoint> | undefined;

  constructor(presigner: S3Client, bucket: string, seconds: number) {
    this.#client = presigner;
    this.#bucket = bucket;
    this.#seconds = seconds;
    this.#signer = new S3RequestPresigner({ ...presigner.config });
    this.#policySigner = new SignatureV4({ credentials: presigner.config.credentials, region: presigner.config.region, service: "s3", sha256: presigner.config.sha256 });
  }

  /**
   * A form upload of exactly `size` bytes to `key` (the policy's content-length-range is that
   * one size, as a PUT URL signs content-length): S3 refuses any other body, key or type.
   */
  async post(key: string, contentType: string, size: number, signingDate = new Date()): Promise<SignedPost> {
    const endpoint = await this.#resolve();
    const credentials = await this.#client.config.credentials();
    const region = await this.#client.config.region();
    const date = amzDate(signingDate);
    const fields: Record<string, string> = {
      key,
      "Content-Type": contentType,
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `${credentials.accessKeyId}/${date.slice(0, 8)}/${region}/s3/aws4_request`,
      "X-Amz-Date": date,
      ...(credentials.sessionToken ? { "X-Amz-Security-Token": credentials.sessionToken } : {}),
    };
    // Every field but the policy and signature must be matched by a condition (S3 POST policy rules).
    const conditions: unknown[] = [{ bucket: this.#bucket }, ["content-length-range", size, size], ...Object.entries(fields).map(([name, value]) => ({ [name]: value }))];
    const expiration = new Date(signingDate.getTime() + this.#seconds * 1000).toISOString();
    const policy = Buffer.from(JSON.stringify({ expiration, conditions })).toString("base64");
    const signature = await this.#policySigner.sign(policy, { signingDate });
    const host = endpoint.port === undefined ? endpoint.hostname : `${endpoint.hostname}:${endpoint.port}`;
    // Path-style endpoints take the form at /<bucket>, virtual-hosted ones at the bucket host's root.
    const path = endpoint.basePath === "/" ? "/" : endpoint.basePath.replace(/\/$/, "");
    return { url: `${endpoint.protocol}//${host}${path}`, fields: { ...fields, Policy: policy, "X-Amz-Signature": signature } };
  }

  /** A PUT URL for a body of exactly `size` bytes; the client sends one header of its own: content-type. */
  async put(key: string, contentType: string, size: number, signingDate?: Date): Promise<string> {
    return this.#sign(key, { "x-id": "PutObject" }, { "content-type": contentType, "content-length": String(size) }, signingDate);
  }

  /** A GET URL for showing an object in the page (an <img>): no download name, nothing signed but the host. */
  async get(key: string, signingDate?: Date): Promise<string> {
    return this.#sign(key, { "x-id": "GetObject" }, {}, signingDate, "GET");
  }

  /** The URL of part `partNumber` of a file of `size` bytes cut into `partSize` parts. */
  async part(target: { key: string; uploadId: string; size: number; partSize: number }, partNumber: number, signingDate?: Date): Promise<string> {
    const length = partLength(target.size, target.partSize, partNumber);
    return this.#sign(target.key, { "x-id": "UploadPart", partNumber: String(partNumber), uploadId: target.uploadId }, { "content-length": String(length) }, signingDate);
  }

  async #sign(key: string, query: Record<string, string>, headers: Record<string, string>, signingDate?: Date, method: "PUT" | "GET" = "PUT"): Promise<string> {
    const endpoint = await this.#resolve();
    const host = endpoint.port === undefined ? endpoint.hostname : `${endpoint.hostname}:${endpoint.port}`;
    const signed = await this.#signer.presign(
      { method, protocol: endpoint.protocol, hostname: endpoint.hostname, ...(endpoint.port === undefined ? {} : { port: endpoint.port }), path: endpoint.basePath + escapeKey(key), query, headers: { host, ...headers } },
      { expiresIn: this.#seconds, signableHeaders: new Set(Object.keys(headers)), ...(signingDate ? { signingDate } : {}) },
    );
    const signedQuery = signed.query ?? {};
    const search = Object.keys(signedQuery)
      .sort()
      .map((name) => `${escapeUri(name)}=${escapeUri(String(signedQuery[name]))}`)
      .join("&");
    return `${endpoint.protocol}//${host}${signed.path}?${search}`;
  }

  /** Where the bucket's objects live, learnt once from one URL the SDK signs in full. */
  #resolve(): Promise<Endpoint> {
    this.#endpoint ??= getSignedUrl(this.#client, new PutObjectCommand({ Bucket: this.#bucket, Key: PROBE_KEY }), { expiresIn: 60 }).then((url) => {
      const parsed = new URL(url);
      if (!parsed.pathname.endsWith(`/${PROBE_KEY}`)) throw new Error(`Unexpected presigned URL layout: ${parsed.origin}${parsed.pathname}`);
      return {
        protocol: parsed.protocol,
        hostname: parsed.hostname,
        ...(parsed.port ? { port: Number(parsed.port) } : {}),
        basePath: parsed.pathname.slice(0, -PROBE_KEY.length),
      };
    });
    return this.#endpoint;
  }
}
