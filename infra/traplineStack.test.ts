// The CDK app, synthesized offline (no AWS account, no Docker) and checked where it matters:
// storage, queue, scaling, GPU task, API, IAM scope, the page's config, and cdk-nag.
// One full synth (with CDK's CloudFormation schema validation) per variant, shared by the tests.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { App, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import type { ScalingInterval } from "aws-cdk-lib/aws-applicationautoscaling";
import { STOP_TIMEOUT_SECONDS, WORKER_GRACE_SECONDS, WORKER_HEALTH_COMMAND, workerSteps } from "./gpuWorker.ts";
import { DEFAULT_SETTINGS, type DeploySettings } from "./settings.ts";
import { MAX_RECEIVES, TraplineStack, VISIBILITY_SECONDS } from "./traplineStack.ts";

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}

let workDir: string;
let siteDir: string;

before(() => {
  workDir = mkdtempSync(join(tmpdir(), "trapline-infra-"));
  siteDir = join(workDir, "site");
  mkdirSync(siteDir);
  writeFileSync(join(siteDir, "index.html"), "<!doctype html><title>Trapline</title>");
  // The local build's config.json must not reach the deployed site.
  writeFileSync(join(siteDir, "config.json"), JSON.stringify({ apiBaseUrl: "" }));
});

after(() => rmSync(workDir, { recursive: true, force: true }));

function synth(settings: DeploySettings, validate: boolean) {
  const outdir = mkdtempSync(join(workDir, "cdk.out-"));
  const app = new App({ outdir, builtinCloudFormationValidation: validate });
  const stack = new TraplineStack(app, "Trapline", { settings, siteDir, env: { region: settings.region } });
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  return { app, stack, template, outdir, assembly };
}

function resourceById(template: Template, logicalId: string): Resource {
  const resource = (template.toJSON() as { Resources: Record<string, Resource> }).Resources[logicalId];
  assert.ok(resource, `no resource ${logicalId}`);
  return resource;
}

function resourcesOf(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

function only(template: Template, type: string): [string, Resource] {
  const found = resourcesOf(template, type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/** Logical id of the resource a construct stands for. */
function idOf(stack: TraplineStack, construct: IConstruct): string {
  const child = construct.node.defaultChild ?? construct;
  return stack.resolve((child as unknown as { logicalId: string }).logicalId) as string;
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

function statementsOfRole(template: Template, roleLogicalId: string): Statement[] {
  return resourcesOf(template, "AWS::IAM::Policy")
    .filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (statement: Statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);
const resourcesOfStatement = (statement: Statement): unknown[] => (Array.isArray(statement.Resource) ? (statement.Resource as unknown[]) : [statement.Resource]);

describe("Trapline stack (default settings)", () => {
  let stack: TraplineStack;
  let template: Template;
  let outdir: string;

  before(() => {
    ({ stack, template, outdir } = synth(DEFAULT_SETTINGS, true));
  });

  it("passes CDK's CloudFormation schema validation", () => {
    const report = JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8")) as { pluginReports: { violations?: unknown[] }[] };
    assert.deepEqual(report.pluginReports.flatMap((r) => r.violations ?? []), []);
  });

  it("has no unacknowledged cdk-nag AwsSolutions finding, and every acknowledgment gives a reason", () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    assert.deepEqual(
      report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => (r as { constructPath?: string }).constructPath).join(", ")}`),
      [],
    );
    // Recorded as { "<plugin>::<finding id>": "<reason>" } on the construct that acknowledged it.
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .filter(([id]) => id.includes("AwsSolutions-"));
    assert.ok(acknowledged.length >= 20, `expected the acknowledgments to be recorded, found ${acknowledged.length}`);
    for (const [id, reason] of acknowledged) assert.ok(reason.length >= 40, `${id} needs a real reason, got "${reason}"`);
  });

  it("blocks public access, encrypts and requires TLS on every bucket", () => {
    const buckets = resourcesOf(template, "AWS::S3::Bucket");
    assert.equal(buckets.length, 2, "the data bucket and the site bucket");
    for (const [id, bucket] of buckets) {
      assert.deepEqual(
        bucket.Properties.PublicAccessBlockConfiguration,
        { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        id,
      );
      assert.ok(bucket.Properties.BucketEncryption, `${id} is encrypted`);
    }
    const policies = resourcesOf(template, "AWS::S3::BucketPolicy");
    for (const [id] of buckets) {
      const policy = policies.find(([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: id }));
      assert.ok(policy, `${id} has a bucket policy`);
      const statements = (policy[1].Properties.PolicyDocument as { Statement: (Statement & { Principal: unknown })[] }).Statement;
      assert.ok(
        statements.some((st) => st.Effect === "Deny" && JSON.stringify(st.Condition) === JSON.stringify({ Bool: { "aws:SecureTransport": "false" } })),
        `${id} denies plain HTTP`,
      );
      const open = statements.filter((st) => st.Effect === "Allow" && JSON.stringify(st.Principal).match(/^"\*"$|^\{"AWS":"\*"\}$/));
      assert.deepEqual(open, [], `${id} allows no anonymous principal`);
    }
  });

  it("lets only the site's origin upload to the data bucket, exposing ETag for multipart", () => {
    const data = resourceById(template, idOf(stack, stack.bucket));
    const rules = (data.Properties.CorsConfiguration as { CorsRules: Json[] }).CorsRules;
    assert.equal(rules.length, 1);
    const rule = rules[0]!;
    assert.deepEqual(rule.AllowedOrigins, [{ "Fn::Join": ["", ["https://", { "Fn::GetAtt": [idOf(stack, stack.site.distribution), "DomainName"] }]] }]);
    assert.ok((rule.AllowedMethods as string[]).includes("PUT"));
    // The page sends single files as presigned form POSTs (no preflight).
    assert.ok((rule.AllowedMethods as string[]).includes("POST"));
    assert.deepEqual(rule.ExposedHeaders, ["ETag"]);
  });

  it("expires jobs/ after the retention days and aborts incomplete multipart uploads after one day", () => {
    const data = resourceById(template, idOf(stack, stack.bucket));
    const rules = (data.Properties.LifecycleConfiguration as { Rules: Json[] }).Rules;
    assert.deepEqual(
      rules.find((r) => r.Id === "expire-jobs"),
      { Id: "expire-jobs", Prefix: "jobs/", ExpirationInDays: DEFAULT_SETTINGS.retentionDays, Status: "Enabled" },
    );
    assert.deepEqual(
      rules.find((r) => r.Id === "abort-incomplete-uploads"),
      { Id: "abort-incomplete-uploads", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: "Enabled" },
    );
  });

  it("sends a job's message to the dead-letter queue after 3 receives, with 20 s long polling and the worker's visibility", () => {
    const queue = resourceById(template, idOf(stack, stack.queue));
    assert.equal(queue.Properties.VisibilityTimeout, VISIBILITY_SECONDS);
    assert.equal(queue.Properties.ReceiveMessageWaitTimeSeconds, 20);
    assert.equal(queue.Properties.SqsManagedSseEnabled, true);
    assert.deepEqual(queue.Properties.RedrivePolicy, {
      deadLetterTargetArn: { "Fn::GetAtt": [idOf(stack, stack.deadLetterQueue), "Arn"] },
      maxReceiveCount: 3,
    });
    assert.equal(MAX_RECEIVES, 3);
  });

  it("alarms on dead-lettered jobs and on jobs waiting too long, to the alarm topic", () => {
    const topic = only(template, "AWS::SNS::Topic")[0];
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [idOf(stack, stack.deadLetterQueue), "QueueName"] } }],
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmActions: [{ Ref: topic }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [idOf(stack, stack.queue), "QueueName"] } }],
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [{ Ref: topic }],
    });
  });

  it("scales the worker service from 0 on visible + in-flight messages, one task per message (a shard or a merge), with no CPU scaling", () => {
    const [, target] = only(template, "AWS::ApplicationAutoScaling::ScalableTarget");
    assert.equal(target.Properties.MinCapacity, 0);
    assert.equal(target.Properties.MaxCapacity, DEFAULT_SETTINGS.maxWorkers);
    assert.equal(target.Properties.ScalableDimension, "ecs:service:DesiredCount");

    const policies = resourcesOf(template, "AWS::ApplicationAutoScaling::ScalingPolicy").map(([, p]) => p.Properties);
    assert.ok(policies.length > 0);
    assert.ok(policies.every((p) => p.PolicyType === "StepScaling"), "no target tracking (CPU or otherwise) on the service");
    assert.doesNotMatch(JSON.stringify(template.toJSON()), /ECSServiceAverageCPUUtilization/);
    const steps = policies.map((p) => (p.StepScalingPolicyConfiguration as { AdjustmentType: string; StepAdjustments: Json[] }));
    assert.ok(steps.every((s) => s.AdjustmentType === "ExactCapacity"));
    const adjustments = steps.flatMap((s) => s.StepAdjustments.map((a) => a.ScalingAdjustment)).sort();
    assert.deepEqual(adjustments, [0, 1, 2], "0 jobs → 0 tasks, 1 → 1, 2 or more → 2");

    const scalingAlarms = resourcesOf(template, "AWS::CloudWatch::Alarm").filter(([, a]) => Array.isArray(a.Properties.Metrics));
    assert.equal(scalingAlarms.length, 2, "the lower (to zero) and upper step alarms");
    assert.deepEqual(
      scalingAlarms.map(([, a]) => [a.Properties.ComparisonOperator, a.Properties.Threshold]).sort(),
      [["GreaterThanOrEqualToThreshold", 1], ["LessThanOrEqualToThreshold", 0]],
      "no messages: no tasks; one message: a task",
    );
    const queueName = { "Fn::GetAtt": [idOf(stack, stack.queue), "QueueName"] };
    for (const [, alarm] of scalingAlarms) {
      const metrics = alarm.Properties.Metrics as Json[];
      const expression = metrics.find((m) => m.Expression) as { Expression: string };
      const byId = new Map(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, (m.MetricStat as { Metric: { MetricName: string; Dimensions: unknown } }).Metric]));
      const terms = expression.Expression.split("+").map((t) => t.trim());
      assert.deepEqual(
        terms.map((t) => byId.get(t)?.MetricName).sort(),
        ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesVisible"],
        "visible plus in-flight",
      );
      for (const t of terms) assert.deepEqual(byId.get(t)?.Dimensions, [{ Name: "QueueName", Value: queueName }]);
    }
  });

  it("runs workers on the ECS GPU AMI (Amazon Linux 2023), instances drained and protected while they run tasks", () => {
    const [, template_] = only(template, "AWS::EC2::LaunchTemplate");
    const data = template_.Properties.LaunchTemplateData as Json;
    assert.equal(data.InstanceType, "g4dn.xlarge");
    assert.equal(data.InstanceMarketOptions, undefined, "on-demand unless spot=true");
    const parameters = template.toJSON().Parameters as Record<string, { Default?: string }>;
    const imageParameter = (data.ImageId as { Ref: string }).Ref;
    assert.equal(parameters[imageParameter]?.Default, "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id");
    assert.deepEqual(data.MetadataOptions, { HttpPutResponseHopLimit: 1, HttpTokens: "required" });
    assert.match(JSON.stringify(data.BlockDeviceMappings), /"Encrypted":true/);

    const [, group] = only(template, "AWS::AutoScaling::AutoScalingGroup");
    assert.equal(group.Properties.MinSize, "0");
    assert.equal(group.Properties.MaxSize, String(DEFAULT_SETTINGS.maxWorkers));
    assert.equal(group.Properties.NewInstancesProtectedFromScaleIn, true);
    template.hasResourceProperties("AWS::ECS::CapacityProvider", {
      AutoScalingGroupProvider: Match.objectLike({
        ManagedScaling: Match.objectLike({ Status: "ENABLED" }),
        ManagedTerminationProtection: "ENABLED",
        ManagedDraining: "ENABLED",
      }),
    });
  });

  it("gives the worker container one GPU, the queue settings the stack chose, and task-protection rights", () => {
    const [, taskDefinition] = only(template, "AWS::ECS::TaskDefinition");
    const [container] = taskDefinition.Properties.ContainerDefinitions as Json[];
    assert.deepEqual(container!.ResourceRequirements, [{ Type: "GPU", Value: "1" }]);
    assert.equal(container!.StopTimeout, 120);
    // SIGTERM to SIGKILL is 120 s; the worker hands its shard back (visibility 0) well inside it.
    assert.equal(STOP_TIMEOUT_SECONDS, 120);
    assert.deepEqual((container!.HealthCheck as { Command: string[] }).Command, ["CMD-SHELL", WORKER_HEALTH_COMMAND], "ECS runs the image's health check: GPU and heartbeat");
    const env = Object.fromEntries((container!.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    assert.equal(env.VISIBILITY_SECONDS, String(VISIBILITY_SECONDS));
    assert.equal(env.MAX_RECEIVES, String(MAX_RECEIVES));
    assert.equal(env.REDIS_CLUSTER, "true");
    assert.equal(env.PROVIDER, "cuda");
    assert.equal(env.MODEL, DEFAULT_SETTINGS.model);
    assert.deepEqual(env.QUEUE_URL, { Ref: idOf(stack, stack.queue) });
    assert.match(JSON.stringify(env.REDIS_URL), /rediss:\/\//);
    assert.match(JSON.stringify(container!.Image), /cdk-hnb659fds-container-assets/, "the image is built from gpu-worker/Dockerfile by cdk deploy");
    assert.equal(env.WORKER_GRACE_SECONDS, String(WORKER_GRACE_SECONDS));
    assert.ok(WORKER_GRACE_SECONDS > 0 && WORKER_GRACE_SECONDS <= (container!.StopTimeout as number) - 20, "the grace ends well before SIGKILL and the Spot reclaim");
    assert.deepEqual(env.PUBLIC_SITE_URL, { "Fn::Join": ["", ["https://", { "Fn::GetAtt": [idOf(stack, stack.site.distribution), "DomainName"] }]] }, "job emails link to the site");
    assert.equal(env.SENDER_EMAIL, undefined, "no sender set: no email");

    const [, service] = only(template, "AWS::ECS::Service");
    assert.equal(service.Properties.DesiredCount, 0);
    assert.ok(service.Properties.CapacityProviderStrategy);

    const taskRole = (taskDefinition.Properties.TaskRoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const statements = statementsOfRole(template, taskRole);
    assert.ok(statements.some((s) => actionsOf(s).includes("ecs:UpdateTaskProtection")));
    assert.deepEqual(statements.flatMap(actionsOf).filter((a) => a.startsWith("ses:")), [], "no sender set: no SES permission");
  });

  it("stages the worker's Docker build context at synth without Docker, without node_modules or tests", () => {
    const manifest = JSON.parse(readFileSync(join(outdir, "Trapline.assets.json"), "utf8")) as { dockerImages: Record<string, { source: { directory: string; dockerFile: string } }> };
    const images = Object.values(manifest.dockerImages);
    assert.equal(images.length, 1);
    const context = join(outdir, images[0]!.source.directory);
    assert.equal(images[0]!.source.dockerFile, "gpu-worker/Dockerfile");
    assert.ok(existsSync(join(context, "gpu-worker", "worker", "main.ts")));
    assert.ok(existsSync(join(context, "package-lock.json")));
    assert.ok(!existsSync(join(context, "node_modules")));
    const listing = readdirSync(context, { recursive: true }) as string[];
    assert.deepEqual(listing.filter((p) => p.endsWith(".test.ts")), []);
  });

  it("runs the API on Node.js 24 in the VPC, with the shared settings and CORS for the site only", () => {
    const fn = resourceById(template, idOf(stack, stack.api));
    assert.equal(fn.Properties.Runtime, "nodejs24.x");
    assert.equal(fn.Properties.Handler, "index.handler");
    assert.ok((fn.Properties.VpcConfig as { SubnetIds: unknown[] }).SubnetIds.length >= 2);
    const env = (fn.Properties.Environment as { Variables: Json }).Variables;
    assert.deepEqual(env.CORS_ORIGIN, { "Fn::Join": ["", ["https://", { "Fn::GetAtt": [idOf(stack, stack.site.distribution), "DomainName"] }]] });
    assert.equal(env.REDIS_CLUSTER, "true");
    assert.match(JSON.stringify(env.REDIS_URL), /rediss:\/\//);
    assert.deepEqual(env.QUEUE_URL, { Ref: idOf(stack, stack.queue) });
    assert.deepEqual(env.BUCKET, { Ref: idOf(stack, stack.bucket) });
    assert.equal(env.RETENTION_DAYS, String(DEFAULT_SETTINGS.retentionDays));
    template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE", TargetFunctionArn: { "Fn::GetAtt": [idOf(stack, stack.api), "Arn"] } });
  });

  it("bundled the API with esbuild into one ES module", () => {
    const code = (resourceById(template, idOf(stack, stack.api))).Properties.Code as { S3Key: string };
    const assetDir = join(outdir, `asset.${code.S3Key.replace(/\.zip$/, "")}`);
    const bundle = readFileSync(join(assetDir, "index.mjs"), "utf8");
    assert.match(bundle, /createRequire/, "CommonJS dependencies get a require()");
    assert.ok(bundle.length > 100_000, "dependencies are bundled, not left to the runtime");
  });

  it("limits the API to presigning and listing under jobs/, deleting inputs of idle jobs, and sending to the one queue", () => {
    const role = (resourceById(template, idOf(stack, stack.api))).Properties.Role as { "Fn::GetAtt": [string, string] };
    const statements = statementsOfRole(template, role["Fn::GetAtt"][0]).filter((s) => !actionsOf(s).some((a) => a.startsWith("ec2:")));
    const bucketArn = { "Fn::GetAtt": [idOf(stack, stack.bucket), "Arn"] };
    for (const statement of statements) {
      assert.equal(statement.Effect, "Allow");
      for (const action of actionsOf(statement)) {
        assert.ok(!action.includes("*"), `no wildcard actions (${action})`);
        assert.ok(action.startsWith("s3:") || action.startsWith("sqs:"), `unexpected action ${action}`);
        assert.ok(!["sqs:ReceiveMessage", "sqs:DeleteMessage"].includes(action), `the API does not need ${action}`);
      }
      for (const resource of resourcesOfStatement(statement)) {
        assert.notEqual(resource, "*");
        if (actionsOf(statement).includes("s3:ListBucket")) {
          assert.deepEqual(resource, bucketArn);
          assert.deepEqual(statement.Condition, { StringLikeIfExists: { "s3:prefix": ["jobs/*"] } });
        } else if (actionsOf(statement).includes("s3:DeleteObject")) {
          assert.deepEqual(actionsOf(statement), ["s3:DeleteObject"]);
          assert.deepEqual(resource, { "Fn::Join": ["", [bucketArn, "/jobs/*/input/*"]] }, "the API deletes inputs only");
        } else if (actionsOf(statement).some((a) => a.startsWith("s3:"))) {
          assert.deepEqual(resource, { "Fn::Join": ["", [bucketArn, "/jobs/*"]] });
        } else {
          assert.deepEqual(resource, { "Fn::GetAtt": [idOf(stack, stack.queue), "Arn"] });
        }
      }
    }
    const allActions = statements.flatMap(actionsOf);
    for (const needed of ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:DeleteObject", "sqs:SendMessage"]) {
      assert.ok(allActions.includes(needed), `the API can ${needed}`);
    }
  });

  it("lets the worker write only results (jobs/*/output/*) and shard objects (jobs/*/shards/*, which it also removes)", () => {
    const [, taskDefinition] = only(template, "AWS::ECS::TaskDefinition");
    const taskRole = (taskDefinition.Properties.TaskRoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const writes = statementsOfRole(template, taskRole).filter((s) => actionsOf(s).includes("s3:PutObject"));
    const under = (suffix: string) => [{ "Fn::Join": ["", [{ "Fn::GetAtt": [idOf(stack, stack.bucket), "Arn"] }, suffix]] }];
    assert.deepEqual(writes.map((s) => resourcesOfStatement(s)), [under("/jobs/*/output/*"), under("/jobs/*/shards/*")]);
    const deletes = statementsOfRole(template, taskRole).filter((s) => actionsOf(s).includes("s3:DeleteObject"));
    assert.deepEqual(deletes.map((s) => resourcesOfStatement(s)), [under("/jobs/*/shards/*")], "never inputs or results");
  });

  it("puts Valkey Serverless in isolated subnets, reachable only from the API and the workers", () => {
    const [, cache] = only(template, "AWS::ElastiCache::ServerlessCache");
    assert.equal(cache.Properties.Engine, "valkey");
    const groupIds = (cache.Properties.SecurityGroupIds as { "Fn::GetAtt": [string, string] }[]).map((g) => g["Fn::GetAtt"][0]);
    assert.equal(groupIds.length, 1);
    const [redisGroupId] = groupIds;
    const group = resourceById(template, redisGroupId!);
    const inline = (group.Properties.SecurityGroupIngress as unknown[] | undefined) ?? [];
    assert.deepEqual(inline, [], "no inline (CIDR) ingress");
    const ingress = resourcesOf(template, "AWS::EC2::SecurityGroupIngress").filter(([, r]) => JSON.stringify(r.Properties.GroupId).includes(redisGroupId!));
    const sources = ingress.map(([, r]) => (r.Properties.SourceSecurityGroupId as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0]).sort();
    const fn = resourceById(template, idOf(stack, stack.api));
    const apiGroup = ((fn.Properties.VpcConfig as { SecurityGroupIds: { "Fn::GetAtt": [string, string] }[] }).SecurityGroupIds[0]!)["Fn::GetAtt"][0];
    assert.equal(sources.length, 2);
    assert.ok(sources.includes(apiGroup));
    for (const [, rule] of ingress) assert.deepEqual([rule.Properties.FromPort, rule.Properties.ToPort], [6379, 6380]);
    const subnetIds = JSON.stringify(cache.Properties.SubnetIds);
    assert.match(subnetIds, /private/i);
    assert.doesNotMatch(subnetIds, /public/i);
  });

  it("reaches S3 through a gateway endpoint and SQS through an interface endpoint, with no NAT gateway", () => {
    assert.equal(resourcesOf(template, "AWS::EC2::NatGateway").length, 0);
    const endpoints = resourcesOf(template, "AWS::EC2::VPCEndpoint").map(([, e]) => e.Properties);
    assert.ok(endpoints.some((e) => e.VpcEndpointType === "Gateway" && JSON.stringify(e.ServiceName).includes(".s3")));
    assert.ok(endpoints.some((e) => e.VpcEndpointType === "Interface" && JSON.stringify(e.ServiceName).includes(".sqs") && e.PrivateDnsEnabled === true));
  });

  it("serves the page through CloudFront with origin access control and writes the API URL into its config.json", () => {
    only(template, "AWS::CloudFront::OriginAccessControl");
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: "index.html",
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: "redirect-to-https" }),
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue(), S3OriginConfig: Match.anyValue() })],
      }),
    });
    const [, deployment] = only(template, "Custom::CDKBucketDeployment");
    const markers = deployment.Properties.SourceMarkers as Json[];
    const urlMarker = markers.flatMap((m) => Object.entries(m)).find(([, v]) => JSON.stringify(v) === JSON.stringify({ "Fn::GetAtt": [idOf(stack, stack.apiUrl), "FunctionUrl"] }));
    assert.ok(urlMarker, "the function URL is substituted at deploy");
    // The staged config.json says where the API is; the local build's copy was left out.
    const keys = deployment.Properties.SourceObjectKeys as string[];
    const configs = keys
      .map((key) => join(outdir, `asset.${key.replace(/\.zip$/, "")}`, "config.json"))
      .filter((path) => existsSync(path))
      .map((path) => JSON.parse(readFileSync(path, "utf8")) as Json);
    assert.deepEqual(configs, [{ apiBaseUrl: urlMarker[0] }]);
  });

  it("outputs the site URL and the API URL", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(outputs.ApiUrl?.Value, { "Fn::GetAtt": [idOf(stack, stack.apiUrl), "FunctionUrl"] });
    assert.deepEqual(outputs.SiteUrl?.Value, { "Fn::Join": ["", ["https://", { "Fn::GetAtt": [idOf(stack, stack.site.distribution), "DomainName"] }]] });
  });
});

/**
 * The task count the scaling policies set for a number of messages. CDK turns the interval with no
 * lower bound into the scale-in alarm (metric <= its upper bound) and the rest into the scale-out
 * alarm's steps (lower bound inclusive, upper exclusive): the scaling test above checks both alarms' comparisons.
 */
function desiredTasks(steps: readonly ScalingInterval[], messages: number): number {
  const step = steps.find((s) => (s.lower === undefined ? messages <= s.upper! : messages >= s.lower && (s.upper === undefined || messages < s.upper)));
  assert.ok(step, `no step for ${messages}`);
  return step.change;
}

describe("worker scaling steps", () => {
  it("one GPU per shard message up to maxWorkers: a small job gets one, a big job every worker allowed, none when idle", () => {
    const steps = workerSteps(20);
    assert.equal(desiredTasks(steps, 0), 0);
    assert.equal(desiredTasks(steps, 1), 1, "a job of one shard");
    assert.equal(desiredTasks(steps, 2), 2, "its last shard sending the merge");
    assert.equal(desiredTasks(steps, 7), 7);
    assert.equal(desiredTasks(steps, 20), 20);
    assert.equal(desiredTasks(steps, 51), 20, "a job of 50 shards and its merge");
    assert.equal(desiredTasks(steps, 125_000), 20);
    assert.equal(desiredTasks(workerSteps(1), 50), 1);
  });
});

describe("Trapline stack (Spot, g5, 20 workers, 30-day retention, a sender)", () => {
  let stack: TraplineStack;
  let template: Template;
  const senderEmail = "trapline@traps.example.org";

  before(() => {
    const settings: DeploySettings = { ...DEFAULT_SETTINGS, spot: true, instanceType: "g5.xlarge", maxWorkers: 20, retentionDays: 30, region: "eu-west-1", senderEmail };
    ({ stack, template } = synth(settings, false));
  });

  it("has no unacknowledged cdk-nag AwsSolutions finding with SES sending on", () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    assert.deepEqual(report.violations.map((v) => v.ruleName), []);
  });

  it("lets the worker send email as the sender only, through the address's or its domain's SES identity", () => {
    const [, taskDefinition] = only(template, "AWS::ECS::TaskDefinition");
    const taskRole = (taskDefinition.Properties.TaskRoleArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const sending = statementsOfRole(template, taskRole).filter((s) => actionsOf(s).some((a) => a.startsWith("ses:")));
    assert.equal(sending.length, 1);
    const [statement] = sending;
    assert.deepEqual(actionsOf(statement!).sort(), ["ses:SendEmail", "ses:SendRawEmail"]);
    const identity = (name: string) => ({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:ses:eu-west-1:`, { Ref: "AWS::AccountId" }, `:identity/${name}`]] });
    assert.deepEqual(resourcesOfStatement(statement!), [identity(senderEmail), identity("traps.example.org")]);
    assert.deepEqual(statement!.Condition, { StringEquals: { "ses:FromAddress": senderEmail } });
    const env = Object.fromEntries(((taskDefinition.Properties.ContainerDefinitions as Json[])[0]!.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    assert.equal(env.SENDER_EMAIL, senderEmail);
    // The API sends no email.
    const apiRole = (resourceById(template, idOf(stack, stack.api)).Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    assert.deepEqual(statementsOfRole(template, apiRole).flatMap(actionsOf).filter((a) => a.startsWith("ses:")), []);
  });

  it("asks for Spot instances of the chosen type, drained on interruption notices", () => {
    const [, launchTemplate] = only(template, "AWS::EC2::LaunchTemplate");
    const data = launchTemplate.Properties.LaunchTemplateData as Json;
    assert.equal(data.InstanceType, "g5.xlarge");
    assert.equal((data.InstanceMarketOptions as Json).MarketType, "spot");
    assert.match(JSON.stringify(data.UserData), /ECS_ENABLE_SPOT_INSTANCE_DRAINING=true/);
  });

  it("scales to the chosen number of workers, within the 20 step adjustments a policy may hold, and keeps jobs for the chosen days", () => {
    const [, target] = only(template, "AWS::ApplicationAutoScaling::ScalableTarget");
    assert.equal(target.Properties.MaxCapacity, 20);
    const [, group] = only(template, "AWS::AutoScaling::AutoScalingGroup");
    assert.equal(group.Properties.MaxSize, "20", "an instance for every task");
    const policies = resourcesOf(template, "AWS::ApplicationAutoScaling::ScalingPolicy").map(([, p]) => (p.Properties.StepScalingPolicyConfiguration as { StepAdjustments: Json[] }).StepAdjustments);
    for (const steps of policies) assert.ok(steps.length <= 20, `a policy holds ${steps.length} step adjustments`);
    const adjustments = policies.flatMap((steps) => steps.map((a) => a.ScalingAdjustment as number)).sort((a, b) => a - b);
    assert.deepEqual(adjustments, Array.from({ length: 21 }, (_, i) => i));
    assert.match(JSON.stringify(template.toJSON()), /"ExpirationInDays":30/);
    template.hasResourceProperties("AWS::ECS::TaskDefinition", {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: "RETENTION_DAYS", Value: "30" }]) })],
    });
  });
});
