import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { createAwsClients } from "./aws.ts";
import { loadConfig } from "./config.ts";
import { startLocalAws } from "../test/helpers/localAws.ts";
import type { LocalAws } from "../test/helpers/localAws.ts";

describe("AWS clients", () => {
  let aws: LocalAws;
  before(async () => {
    aws = await startLocalAws();
  });
  after(async () => aws.stop());

  test("presigned PutObject and UploadPart URLs carry no x-amz-checksum parameters, and a plain fetch PUT works", async () => {
    const { presigner, s3 } = aws.clients;
    const Bucket = aws.config.BUCKET;
    const putUrl = await getSignedUrl(presigner, new PutObjectCommand({ Bucket, Key: "a/b.jpg", ContentType: "image/jpeg" }), { expiresIn: 60 });
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "big.zip" }));
    const partUrl = await getSignedUrl(presigner, new UploadPartCommand({ Bucket, Key: "big.zip", UploadId, PartNumber: 1 }), { expiresIn: 60 });
    for (const url of [putUrl, partUrl]) {
      const names = [...new URL(url).searchParams.keys()].map((name) => name.toLowerCase());
      assert.ok(names.includes("x-amz-signature"), url);
      assert.deepEqual(names.filter((name) => name.includes("checksum")), [], url);
      assert.ok(url.startsWith(`${aws.endpoint}/${Bucket}/`), `path-style on the emulator: ${url}`);
    }

    // The ordinary client does add them: that is what the presigner's settings prevent.
    const plain = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: "a/b.jpg" }), { expiresIn: 60 });
    assert.match(plain, /x-amz-checksum-/);

    const response = await fetch(putUrl, { method: "PUT", headers: { "content-type": "image/jpeg" }, body: "pixels" });
    assert.equal(response.status, 200);
    const object = await s3.send(new GetObjectCommand({ Bucket, Key: "a/b.jpg" }));
    assert.equal(await object.Body?.transformToString(), "pixels");
  });

  test("the queue URL comes from QUEUE_URL, or is looked up by name once", async () => {
    assert.equal(await aws.clients.queueUrl(), aws.queueUrl);
    const byName = createAwsClients(loadConfig({ AWS_ENDPOINT_URL: aws.endpoint }), { credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    assert.equal(await byName.queueUrl(), aws.queueUrl);
    const missing = createAwsClients(loadConfig({ AWS_ENDPOINT_URL: aws.endpoint, QUEUE_NAME: "nope" }), {
      credentials: { accessKeyId: "t", secretAccessKey: "t" },
    });
    await assert.rejects(missing.queueUrl());
  });

  test("without an endpoint the clients address AWS by region, virtual-hosted style", async () => {
    const clients = createAwsClients(loadConfig({ AWS_REGION: "eu-west-2" }), { credentials: { accessKeyId: "t", secretAccessKey: "t" } });
    const url = await getSignedUrl(clients.presigner, new PutObjectCommand({ Bucket: "trapline-x", Key: "k" }), { expiresIn: 60 });
    assert.match(url, /^https:\/\/trapline-x\.s3\.eu-west-2\.amazonaws\.com\/k\?/);
    assert.ok(!url.toLowerCase().includes("checksum"));
  });
});
