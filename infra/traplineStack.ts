// Trapline on AWS, top to bottom: storage, queue, network and Redis, the API, the GPU worker,
// the page, then outputs. What varies between deployments comes in as DeploySettings.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { S3_JOBS_PREFIX } from "../core/keys.ts";
import { GpuWorker } from "./gpuWorker.ts";
import { acknowledge, nagRef } from "./nag.ts";
import type { DeploySettings } from "./settings.ts";
import { StaticSite } from "./staticSite.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "..");

/** The worker keeps its message invisible for this long and extends it while the job runs (core/config.ts VISIBILITY_SECONDS). */
export const VISIBILITY_SECONDS = 300;
/** A job's message goes to the dead-letter queue after this many receives (core/config.ts MAX_RECEIVES). */
export const MAX_RECEIVES = 3;
/** SQS's longest long poll: fewest empty receives while idle. */
export const RECEIVE_WAIT_SECONDS = 20;
/** A job waiting this long means no worker is taking jobs (instances failing to start, a crash loop). */
export const OLDEST_JOB_ALARM_SECONDS = 3600;
/** Multipart uploads abandoned by browsers are cleaned up after this many days. */
export const ABORT_MULTIPART_DAYS = 1;
const REDIS_PORTS = { first: 6379, last: 6380 };

/** The API's bundle: esbuild from devDependencies, never Docker, so synth works on a machine without it. */
export const API_BUNDLING: nodejs.BundlingOptions = {
  forceDockerBundling: false,
  format: nodejs.OutputFormat.ESM,
  target: "node24",
  minify: true,
  sourceMap: true,
  mainFields: ["module", "main"],
  // CommonJS dependencies (ioredis, parts of the AWS SDK) call require() inside the ES module.
  banner: "import { createRequire as __traplineCreateRequire } from 'node:module'; const require = __traplineCreateRequire(import.meta.url);",
  externalModules: [],
};

export interface TraplineStackProps extends StackProps {
  settings: DeploySettings;
  /** The built upload page (default web/dist). */
  siteDir?: string;
}

export class TraplineStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly api: nodejs.NodejsFunction;
  readonly apiUrl: lambda.FunctionUrl;
  readonly worker: GpuWorker;
  readonly site: StaticSite;
  readonly network: ec2.Vpc;

  constructor(scope: Construct, id: string, props: TraplineStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const siteDir = props.siteDir ?? join(REPO_ROOT, "web", "dist");
    if (!existsSync(join(siteDir, "index.html"))) {
      throw new Error(`The upload page is not built (no ${join(siteDir, "index.html")}). Run \`npm run build\` first.`);
    }

    // The page comes first only because its URL is the one origin the API and the bucket allow.
    this.site = new StaticSite(this, "Site", { siteDir });

    // ── Storage ────────────────────────────────────────────────────────────────────────────
    this.bucket = new s3.Bucket(this, "Data", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Browsers upload straight to S3 with presigned URLs; a resumable multipart upload needs
      // each part's ETag back, so the header must be exposed to the page.
      cors: [
        {
          allowedOrigins: [this.site.url],
          allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedHeaders: ["*"],
          exposedHeaders: ["ETag"],
          maxAge: 3600,
        },
      ],
      // Replaces the first users' cron job: inputs and results go after the retention period.
      lifecycleRules: [
        { id: "expire-jobs", prefix: S3_JOBS_PREFIX, expiration: Duration.days(settings.retentionDays) },
        { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(ABORT_MULTIPART_DAYS) },
      ],
      // Job data is temporary by design; deleting the stack deletes it.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    // ── Queue ──────────────────────────────────────────────────────────────────────────────
    this.deadLetterQueue = new sqs.Queue(this, "JobsDeadLetters", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, "Jobs", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(VISIBILITY_SECONDS),
      receiveMessageWaitTime: Duration.seconds(RECEIVE_WAIT_SECONDS),
      retentionPeriod: Duration.days(Math.min(14, settings.retentionDays)),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
    });

    const alarmTopic = new sns.Topic(this, "Alarms", { displayName: "Trapline alarms", enforceSSL: true });
    if (settings.alarmEmail) alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    const notify = new cwActions.SnsAction(alarmTopic);
    const deadLetterAlarm = new cloudwatch.Alarm(this, "JobsDeadLettered", {
      alarmDescription: "A job failed on every attempt and its message is in the dead-letter queue: read the worker logs for its id.",
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const oldestJobAlarm = new cloudwatch.Alarm(this, "JobsWaitingTooLong", {
      alarmDescription: `A job has waited over ${OLDEST_JOB_ALARM_SECONDS / 60} minutes: GPU workers are not taking jobs (instance capacity, Spot availability, a crash loop).`,
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: OLDEST_JOB_ALARM_SECONDS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [deadLetterAlarm, oldestJobAlarm]) alarm.addAlarmAction(notify);

    // ── Network and Redis ──────────────────────────────────────────────────────────────────
    // No NAT gateway: the API runs in isolated subnets and reaches S3 through a gateway
    // endpoint and SQS through an interface endpoint; the GPU instances run in public subnets
    // with no inbound rules (they pull images and talk to ECS over the internet).
    const vpc = (this.network = new ec2.Vpc(this, "Network", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "private", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    }));
    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const apiSecurityGroup = new ec2.SecurityGroup(this, "ApiSecurityGroup", { vpc, description: "Trapline API Lambda" });
    const workerSecurityGroup = new ec2.SecurityGroup(this, "WorkerSecurityGroup", { vpc, description: "Trapline GPU instances (no inbound)" });
    const sqsEndpoint = vpc.addInterfaceEndpoint("SqsEndpoint", {
      service: ec2.InterfaceVpcEndpointAwsService.SQS,
      subnets: isolated,
      privateDnsEnabled: true,
      open: false,
    });
    for (const client of [apiSecurityGroup, workerSecurityGroup]) sqsEndpoint.connections.allowFrom(client, ec2.Port.tcp(443), "HTTPS to SQS");

    const redisSecurityGroup = new ec2.SecurityGroup(this, "RedisSecurityGroup", { vpc, description: "Trapline Valkey", allowAllOutbound: false });
    for (const client of [apiSecurityGroup, workerSecurityGroup]) {
      redisSecurityGroup.addIngressRule(client, ec2.Port.tcpRange(REDIS_PORTS.first, REDIS_PORTS.last), "Valkey (TLS) from the API and the workers");
    }
    // ElastiCache Serverless is cluster-mode and TLS-only: clients connect with REDIS_CLUSTER=true
    // to rediss://, and a job's keys share a {jobId} hash slot (core/keys.ts).
    const redis = new elasticache.CfnServerlessCache(this, "Redis", {
      serverlessCacheName: `${this.stackName.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 30)}-jobs`,
      engine: "valkey",
      majorEngineVersion: "8",
      subnetIds: vpc.selectSubnets(isolated).subnetIds,
      securityGroupIds: [redisSecurityGroup.securityGroupId],
      description: "Trapline job records, queue positions and rate limits",
    });
    const redisUrl = `rediss://${redis.attrEndpointAddress}:${redis.attrEndpointPort}`;

    // Settings shared by the API and the worker (names as in core/config.ts).
    const shared: Record<string, string> = {
      BUCKET: this.bucket.bucketName,
      QUEUE_URL: this.queue.queueUrl,
      QUEUE_NAME: this.queue.queueName,
      DLQ_NAME: this.deadLetterQueue.queueName,
      REDIS_URL: redisUrl,
      REDIS_CLUSTER: "true",
      RETENTION_DAYS: String(settings.retentionDays),
      MAX_RECEIVES: String(MAX_RECEIVES),
      VISIBILITY_SECONDS: String(VISIBILITY_SECONDS),
    };

    // ── API ────────────────────────────────────────────────────────────────────────────────
    const apiLogs = new logs.LogGroup(this, "ApiLogs", { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.api = new nodejs.NodejsFunction(this, "Api", {
      entry: join(REPO_ROOT, "functions", "lambda.ts"),
      handler: "handler",
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      timeout: Duration.seconds(30),
      logGroup: apiLogs,
      vpc,
      vpcSubnets: isolated,
      securityGroups: [apiSecurityGroup],
      environment: { ...shared, CORS_ORIGIN: this.site.url, NODE_OPTIONS: "--enable-source-maps" },
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      projectRoot: REPO_ROOT,
      bundling: API_BUNDLING,
    });
    this.apiUrl = this.api.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    // Least privilege: presign and list only under jobs/, send to the one queue.
    const jobObjects = this.bucket.arnForObjects(`${S3_JOBS_PREFIX}*`);
    this.api.addToRolePolicy(
      new iam.PolicyStatement({
        // PutObject covers presigned PUTs and multipart create/part/complete; GetObject presigned downloads and HEAD.
        actions: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        resources: [jobObjects],
      }),
    );
    // A job left uploading past UPLOAD_IDLE_SECONDS has its inputs deleted by the API (functions/idleUploads.ts); results never.
    this.api.addToRolePolicy(new iam.PolicyStatement({ actions: ["s3:DeleteObject"], resources: [this.bucket.arnForObjects(`${S3_JOBS_PREFIX}*/input/*`)] }));
    this.api.addToRolePolicy(listJobsOnly(this.bucket));
    this.api.addToRolePolicy(new iam.PolicyStatement({ actions: ["sqs:SendMessage", "sqs:GetQueueAttributes"], resources: [this.queue.queueArn] }));

    // ── GPU worker ─────────────────────────────────────────────────────────────────────────
    this.worker = new GpuWorker(this, "Worker", {
      vpc,
      subnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: workerSecurityGroup,
      // Staged at synth (no Docker needed); built and pushed to the CDK assets repository by `cdk deploy`.
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: "gpu-worker/Dockerfile",
        buildArgs: { MODEL: settings.model },
        // The GPU instances are x86_64: build for them even on an Apple-silicon laptop.
        platform: Platform.LINUX_AMD64,
      }),
      instanceType: settings.instanceType,
      spot: settings.spot,
      maxWorkers: settings.maxWorkers,
      queue: this.queue,
      environment: {
        ...shared,
        MODEL: settings.model,
        PROVIDER: "cuda",
        SHARD_IMAGES: String(settings.shardImages),
        // Job emails link to the job's page on the site, which signs a fresh download each time.
        PUBLIC_SITE_URL: this.site.url,
        ...(settings.senderEmail ? { SENDER_EMAIL: settings.senderEmail } : {}),
      },
    });
    // The worker reads a job's uploads, writes its results zip under output/, and checks it is there.
    const workerRole = this.worker.taskDefinition.taskRole;
    workerRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [jobObjects] }));
    workerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
        resources: [this.bucket.arnForObjects(`${S3_JOBS_PREFIX}*/output/*`)],
      }),
    );
    // Shards write their records and photos under shards/, and the merge removes them once the package is in.
    workerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
        resources: [this.bucket.arnForObjects(`${S3_JOBS_PREFIX}*/shards/*`)],
      }),
    );
    workerRole.addToPrincipalPolicy(listJobsOnly(this.bucket));
    // Jobs whose last attempt died land in the dead-letter queue; the worker marks them failed.
    this.deadLetterQueue.grantConsumeMessages(workerRole);
    // Job emails go through SES from the one sender address, and only when one is set.
    if (settings.senderEmail) workerRole.addToPrincipalPolicy(sendEmailFrom(this, settings.senderEmail));

    // ── Page ───────────────────────────────────────────────────────────────────────────────
    this.site.publish({ apiBaseUrl: this.apiUrl.url });

    // ── Outputs ────────────────────────────────────────────────────────────────────────────
    new CfnOutput(this, "SiteUrl", { value: this.site.url, description: "The upload page" });
    new CfnOutput(this, "ApiUrl", { value: this.apiUrl.url, description: "The API (Lambda function URL)" });
    new CfnOutput(this, "BucketName", { value: this.bucket.bucketName });
    new CfnOutput(this, "QueueUrl", { value: this.queue.queueUrl });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, "RedisEndpoint", { value: redisUrl });
    new CfnOutput(this, "WorkerLogGroup", { value: this.worker.logGroup.logGroupName });
    new CfnOutput(this, "AlarmTopic", { value: alarmTopic.topicArn, description: "Subscribe to be told when jobs fail or wait" });

    this.#acknowledgeNagFindings();
  }

  /** cdk-nag findings accepted on purpose, each with its reason. */
  #acknowledgeNagFindings(): void {
    const jobsPrefix = `AwsSolutions-IAM5[Resource::${nagRef(this.bucket, "Arn")}/${S3_JOBS_PREFIX}*]`;
    acknowledge(this.bucket, {
      "AwsSolutions-S1": "Each job is recorded by the API (who created it, from which IP); S3 access logs would be a second store of personal data to retain and delete.",
    });
    acknowledge(this.api, {
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": "The managed policy Lambda needs to write the API's logs.",
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]": "The managed policy Lambda needs to attach the API to the VPC (network interfaces).",
      [jobsPrefix]: "Presigned URLs are for keys that do not exist yet (jobs/<new id>/input/<file>): the grant is limited to objects under jobs/.",
      [`AwsSolutions-IAM5[Resource::${nagRef(this.bucket, "Arn")}/${S3_JOBS_PREFIX}*/input/*]`]: "The API deletes the inputs of any job left uploading past UPLOAD_IDLE_SECONDS; never results.",
    });
    acknowledge(this.worker.taskDefinition, {
      [jobsPrefix]: "The worker reads the uploads of whichever job it receives; job ids are not known in advance.",
      [`AwsSolutions-IAM5[Resource::${nagRef(this.bucket, "Arn")}/${S3_JOBS_PREFIX}*/output/*]`]: "The worker writes only results, under jobs/<id>/output/, for whichever job it receives.",
      [`AwsSolutions-IAM5[Resource::${nagRef(this.bucket, "Arn")}/${S3_JOBS_PREFIX}*/shards/*]`]:
        "The worker writes and removes a job's shard records and photos, under jobs/<id>/shards/, for whichever shard it receives.",
    });
    acknowledge(this.network, {
      "AwsSolutions-VPC7": "Nothing in the VPC accepts inbound traffic from outside; flow logs would bill per GB for little to act on. Enable them when investigating.",
    });
  }
}

/**
 * Listing limited to jobs/. "IfExists": S3 also checks s3:ListBucket, without a prefix, to answer
 * HEAD and GET of a missing key (404 with it, 403 without) and for HeadBucket (the health check);
 * a ListObjects call always carries a prefix ("" when none), which must then be under jobs/.
 */
function listJobsOnly(bucket: s3.IBucket): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ["s3:ListBucket"],
    resources: [bucket.bucketArn],
    conditions: { StringLikeIfExists: { "s3:prefix": [`${S3_JOBS_PREFIX}*`] } },
  });
}

/**
 * SES sending as `address` and nothing else. SES authorises a send against the identity that
 * verified the sender, the address itself or its domain, so both ARNs are listed; the From
 * condition keeps a domain identity from sending as any other address of the domain. (SES's
 * SendEmail with a raw MIME message, as nodemailer sends it, is authorised as either action.)
 */
function sendEmailFrom(stack: Stack, address: string): iam.PolicyStatement {
  const domain = address.slice(address.lastIndexOf("@") + 1);
  return new iam.PolicyStatement({
    actions: ["ses:SendEmail", "ses:SendRawEmail"],
    resources: [address, domain].map((identity) => stack.formatArn({ service: "ses", resource: "identity", resourceName: identity })),
    conditions: { StringEquals: { "ses:FromAddress": address } },
  });
}
