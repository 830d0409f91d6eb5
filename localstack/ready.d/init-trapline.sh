#!/usr/bin/env bash
# LocalStack ready hook: the bucket (with the CORS rule browsers need to upload and read ETags),
# the dead-letter queue, and the job queue redriving to it after MAX_RECEIVES receives.
# Mirrors provision() in functions/local.ts; safe to run again.
set -euo pipefail

BUCKET="${BUCKET:-trapline-local}"
QUEUE_NAME="${QUEUE_NAME:-trapline-jobs}"
DLQ_NAME="${DLQ_NAME:-trapline-jobs-dlq}"
MAX_RECEIVES="${MAX_RECEIVES:-3}"
VISIBILITY_SECONDS="${VISIBILITY_SECONDS:-300}"

awslocal s3api head-bucket --bucket "$BUCKET" 2>/dev/null || awslocal s3api create-bucket --bucket "$BUCKET"
awslocal s3api put-bucket-cors --bucket "$BUCKET" --cors-configuration '{
  "CORSRules": [{
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 3000
  }]
}'

DLQ_URL="$(awslocal sqs create-queue --queue-name "$DLQ_NAME" --query QueueUrl --output text)"
DLQ_ARN="$(awslocal sqs get-queue-attributes --queue-url "$DLQ_URL" --attribute-names QueueArn --query Attributes.QueueArn --output text)"
REDRIVE="{\"deadLetterTargetArn\":\"$DLQ_ARN\",\"maxReceiveCount\":\"$MAX_RECEIVES\"}"
ATTRIBUTES="$(printf '{"VisibilityTimeout":"%s","RedrivePolicy":%s}' "$VISIBILITY_SECONDS" "$(printf '%s' "$REDRIVE" | sed 's/"/\\"/g; s/^/"/; s/$/"/')")"
awslocal sqs create-queue --queue-name "$QUEUE_NAME" --attributes "$ATTRIBUTES" >/dev/null

echo "Trapline: bucket $BUCKET, queue $QUEUE_NAME (DLQ $DLQ_NAME after $MAX_RECEIVES receives) ready"
