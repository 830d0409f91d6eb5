#!/usr/bin/env bash
# LocalStack ready hook: the bucket (with the CORS rule browsers need to upload and read ETags),
# the dead-letter queue, and the job queue redriving to it after MAX_RECEIVES receives.
# The same resources as devstack/provision.ts (bash here: LocalStack's container has no Node.js):
# the CORS rule is that file's own devstack/bucketCors.json (mounted by docker-compose.yml), and
# test/localstack/initHook.test.ts checks the defaults and queue settings agree. Safe to run again.
set -euo pipefail

BUCKET="${BUCKET:-trapline-local}"
QUEUE_NAME="${QUEUE_NAME:-trapline-jobs}"
DLQ_NAME="${DLQ_NAME:-trapline-jobs-dlq}"
MAX_RECEIVES="${MAX_RECEIVES:-3}"
VISIBILITY_SECONDS="${VISIBILITY_SECONDS:-300}"
BUCKET_CORS_FILE="${BUCKET_CORS_FILE:-/etc/trapline/bucket-cors.json}"

awslocal s3api head-bucket --bucket "$BUCKET" 2>/dev/null || awslocal s3api create-bucket --bucket "$BUCKET"
awslocal s3api put-bucket-cors --bucket "$BUCKET" --cors-configuration "file://$BUCKET_CORS_FILE"

DLQ_URL="$(awslocal sqs create-queue --queue-name "$DLQ_NAME" --query QueueUrl --output text)"
DLQ_ARN="$(awslocal sqs get-queue-attributes --queue-url "$DLQ_URL" --attribute-names QueueArn --query Attributes.QueueArn --output text)"
REDRIVE="{\"deadLetterTargetArn\":\"$DLQ_ARN\",\"maxReceiveCount\":\"$MAX_RECEIVES\"}"
ATTRIBUTES="$(printf '{"VisibilityTimeout":"%s","RedrivePolicy":%s}' "$VISIBILITY_SECONDS" "$(printf '%s' "$REDRIVE" | sed 's/"/\\"/g; s/^/"/; s/$/"/')")"
awslocal sqs create-queue --queue-name "$QUEUE_NAME" --attributes "$ATTRIBUTES" >/dev/null

echo "Trapline: bucket $BUCKET, queue $QUEUE_NAME (DLQ $DLQ_NAME after $MAX_RECEIVES receives) ready"
