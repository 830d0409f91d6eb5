// UploadSigner must sign exactly what getSignedUrl signs (the SDK is the reference): the same
// URL, byte for byte, for awkward keys, on an emulator's path-style endpoint and on AWS's
// virtual-hosted one, with temporary credentials (a Lambda's session token) too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createAwsClients } from "../core/aws.ts";
import { loadConfig } from "../core/config.ts";
import { UploadSigner } from "./presign.ts";

const KEYS = [
  "jobs/AAAAAAAAAAAAAAAAAAAAAA/input/cam1/IMG_0001.JPG",
  "jobs/x/input/a b/ü (1)!'*~.JPG",
  "jobs/x/input/a+b%20c#?=&;,$@:.jpg",
  "jobs/x/input/日本/写真 テスト.jpg",
];
const DATE = new Date("2026-05-01T10:00:00Z");

for (const [where, env, credentials] of [
  ["an emulator (path-style)", { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }, { accessKeyId: "test", secretAccessKey: "test" }],
  ["AWS (virtual-hosted), temporary credentials", { AWS_REGION: "eu-west-1" }, { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "FwoGZXIvYXdzE+/token=" }],
] as const) {
  test(`UploadSigner signs the same URLs as getSignedUrl: ${where}`, async () => {
    const { presigner } = createAwsClients(loadConfig(env), { credentials });
    const signer = new UploadSigner(presigner, "trapline-data", 3600);
    for (const key of KEYS) {
      const put = await getSignedUrl(presigner, new PutObjectCommand({ Bucket: "trapline-data", Key: key, ContentType: "image/jpeg", ContentLength: 1234 }), {
        expiresIn: 3600,
        signableHeaders: new Set(["content-type", "content-length"]),
        signingDate: DATE,
      });
      assert.equal(await signer.put(key, "image/jpeg", 1234, DATE), put, key);
      const part = await getSignedUrl(presigner, new UploadPartCommand({ Bucket: "trapline-data", Key: key, UploadId: "2~abc/def+==", PartNumber: 3, ContentLength: 5 }), {
        expiresIn: 3600,
        signableHeaders: new Set(["content-length"]),
        signingDate: DATE,
      });
      // Part 3 of a 15-byte file in 5-byte parts is 5 bytes long.
      assert.equal(await signer.part({ key, uploadId: "2~abc/def+==", size: 15, partSize: 5 }, 3, DATE), part, key);
      const get = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: "trapline-data", Key: key }), { expiresIn: 3600, signingDate: DATE });
      assert.equal(await signer.get(key, DATE), get, key);
    }
  });
}

/** SigV4 for a POST policy as AWS documents it, by hand: the reference the signer is checked against. */
function policySignature(secret: string, date: string, region: string, policy: string): string {
  const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), "s3"), "aws4_request");
  return createHmac("sha256", key).update(policy).digest("hex");
}

for (const [where, env, credentials, url] of [
  ["an emulator (path-style)", { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }, { accessKeyId: "test", secretAccessKey: "test" }, "http://127.0.0.1:4566/trapline-data"],
  ["AWS (virtual-hosted), temporary credentials", { AWS_REGION: "eu-west-1" }, { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "FwoGZXIvYXdzE+/token=" }, "https://trapline-data.s3.eu-west-1.amazonaws.com/"],
] as const) {
  test(`UploadSigner.post signs a policy that pins key, type and exact length: ${where}`, async () => {
    const config = loadConfig(env);
    const { presigner } = createAwsClients(config, { credentials });
    const signer = new UploadSigner(presigner, "trapline-data", 3600);
    for (const key of KEYS) {
      const signed = await signer.post(key, "image/jpeg", 1234, DATE);
      assert.equal(signed.url, url);
      const { Policy, "X-Amz-Signature": signature, ...fields } = signed.fields;
      assert.deepEqual(fields, {
        key,
        "Content-Type": "image/jpeg",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": `${credentials.accessKeyId}/20260501/${config.AWS_REGION}/s3/aws4_request`,
        "X-Amz-Date": "20260501T100000Z",
        ...("sessionToken" in credentials ? { "X-Amz-Security-Token": credentials.sessionToken } : {}),
      });
      const policy = JSON.parse(Buffer.from(Policy!, "base64").toString("utf8")) as { expiration: string; conditions: unknown[] };
      assert.equal(policy.expiration, "2026-05-01T11:00:00.000Z");
      assert.deepEqual(policy.conditions, [{ bucket: "trapline-data" }, ["content-length-range", 1234, 1234], ...Object.entries(fields).map(([name, value]) => ({ [name]: value }))]);
      assert.equal(signature, policySignature(credentials.secretAccessKey, "20260501", config.AWS_REGION, Policy!));
    }
  });
}
