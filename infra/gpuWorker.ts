// The GPU worker: an ECS service on EC2 GPU instances that grows with the queue and shrinks to
// no instances at all when there is nothing to do. Tasks hold scale-in protection while they
// run a job (gpu-worker/taskProtection.ts); instances drain before they are terminated.
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { acknowledge, nagEnv, nagRef } from "./nag.ts";

/** Room for the Docker images (CUDA + cuDNN runtime, node_modules, the model: about 8 GB) and job scratch space. */
const ROOT_VOLUME_GIB = 100;
/** SIGTERM to SIGKILL: the most ECS allows, and about a Spot interruption notice. */
export const STOP_TIMEOUT_SECONDS = 120;
/**
 * How long a stopping worker may finish its shard before handing it back (WORKER_GRACE_SECONDS,
 * gpu-worker/worker/main.ts). On Spot the instance goes two minutes after its notice and SIGTERM
 * comes some seconds after that (the agent drains, then ECS stops the task), so the worker must be
 * done well inside the stop timeout: a shard that cannot finish is returned at once with
 * visibility 0, one that is nearly done gets up to this long.
 */
export const WORKER_GRACE_SECONDS = STOP_TIMEOUT_SECONDS - 30;
/** Soft memory reservation: a g4dn/g5/g6.xlarge registers about 15 GiB with ECS. */
const MEMORY_RESERVATION_MIB = 12 * 1024;

/**
 * The container's health check, also the image's HEALTHCHECK (gpu-worker/Dockerfile; its test
 * holds the two equal): the GPU answers (a GPU that has fallen off the bus leaves the worker
 * alive but useless), and the worker's heartbeat file shows a turning event loop and a job that
 * moves (gpu-worker/worker/health.ts). An unhealthy task is replaced; its job goes back to the queue.
 */
export const WORKER_HEALTH_COMMAND = "nvidia-smi --query-gpu=name --format=csv,noheader > /dev/null && node /app/gpu-worker/worker/healthCheck.ts || exit 1";

export interface GpuWorkerProps {
  vpc: ec2.IVpc;
  /** Where the instances run; they need a route to ECS, ECR and CloudWatch Logs. */
  subnets: ec2.SubnetSelection;
  securityGroup: ec2.ISecurityGroup;
  image: ecs.ContainerImage;
  instanceType: string;
  spot: boolean;
  maxWorkers: number;
  queue: sqs.IQueue;
  environment: Record<string, string>;
}

/**
 * Scaling steps on (visible + in-flight) messages: one worker per message, up to `maxWorkers`.
 * A job is planned into shards of about SHARD_IMAGES photos, each its own message (and a merge
 * message at the end), so a job of 50 shards asks for `maxWorkers` GPUs and a small job for one.
 */
export function workerSteps(maxWorkers: number): appscaling.ScalingInterval[] {
  const steps: appscaling.ScalingInterval[] = [{ upper: 0, change: 0 }];
  for (let workers = 1; workers <= maxWorkers; workers++) {
    steps.push(workers < maxWorkers ? { lower: workers, upper: workers + 1, change: workers } : { lower: workers, change: workers });
  }
  return steps;
}

export class GpuWorker extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.Ec2Service;
  readonly taskDefinition: ecs.Ec2TaskDefinition;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly logGroup: logs.LogGroup;
  /** Messages (shards, merges) waiting plus being worked on: what the service is scaled on. */
  readonly jobsInSystem: cloudwatch.IMetric;

  constructor(scope: Construct, id: string, props: GpuWorkerProps) {
    super(scope, id);

    this.cluster = new ecs.Cluster(this, "Cluster", { vpc: props.vpc });

    // Instances: the ECS GPU-optimised Amazon Linux 2023 AMI (NVIDIA driver and container
    // runtime; the AL2 GPU AMIs reached end of life in June 2026).
    const instanceRole = new iam.Role(this, "InstanceRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
    });
    const userData = ec2.UserData.forLinux();
    const launchTemplate = new ec2.LaunchTemplate(this, "LaunchTemplate", {
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
      userData,
      role: instanceRole,
      securityGroup: props.securityGroup,
      associatePublicIpAddress: true,
      requireImdsv2: true,
      // One hop: containers on the bridge network cannot reach the instance's credentials.
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: "/dev/xvda",
          volume: ec2.BlockDeviceVolume.ebs(ROOT_VOLUME_GIB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
      ...(props.spot ? { spotOptions: { interruptionBehavior: ec2.SpotInstanceInterruption.TERMINATE } } : {}),
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, "Instances", {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      launchTemplate,
      minCapacity: 0,
      maxCapacity: props.maxWorkers,
    });

    // The capacity provider starts instances when tasks cannot be placed and removes empty ones;
    // managed termination protection keeps instances with running tasks, and managed draining
    // moves tasks off an instance before it is terminated.
    const capacityProvider = new ecs.AsgCapacityProvider(this, "CapacityProvider", {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedScaling: true,
      enableManagedTerminationProtection: true,
      enableManagedDraining: true,
      targetCapacityPercent: 100,
    });
    this.cluster.addAsgCapacityProvider(capacityProvider);
    // On Spot, the agent drains an instance as soon as its two-minute interruption notice arrives
    // (CDK adds this only for spotPrice-based groups, not for Spot launch templates).
    if (props.spot) userData.addCommands("echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config");

    // The task: one container, one GPU.
    this.logGroup = new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, "Task");
    this.taskDefinition.addContainer("worker", {
      image: props.image,
      gpuCount: 1,
      memoryReservationMiB: MEMORY_RESERVATION_MIB,
      stopTimeout: Duration.seconds(STOP_TIMEOUT_SECONDS),
      environment: { ...props.environment, AWS_REGION: Stack.of(this).region, WORKER_GRACE_SECONDS: String(WORKER_GRACE_SECONDS) },
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: "worker" }),
      healthCheck: {
        command: ["CMD-SHELL", WORKER_HEALTH_COMMAND],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(10),
        startPeriod: Duration.seconds(60),
        retries: 3,
      },
    });
    props.queue.grantConsumeMessages(this.taskDefinition.taskRole);
    // Scale-in protection through $ECS_AGENT_URI is authorised with the task's own role.
    const tasksOfCluster = Stack.of(this).formatArn({ service: "ecs", resource: "task", resourceName: `${this.cluster.clusterName}/*` });
    this.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"], resources: [tasksOfCluster] }),
    );

    this.service = new ecs.Ec2Service(this, "Service", {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: 0,
      // A GPU instance runs one task: a deployment replaces tasks one by one (protected tasks
      // finish their job first) rather than asking for twice the GPUs.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      capacityProviderStrategies: [{ capacityProvider: capacityProvider.capacityProviderName, weight: 1 }],
      circuitBreaker: { rollback: true },
    });

    // Scale on visible + in-flight messages (shards and merges): visible alone drops to 0 as soon
    // as a worker receives its shard, which would stop the very task doing the work. No CPU-based scaling.
    const period = Duration.minutes(1);
    this.jobsInSystem = new cloudwatch.MathExpression({
      expression: "visible + inFlight",
      usingMetrics: {
        visible: props.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM }),
        inFlight: props.queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: cloudwatch.Stats.MAXIMUM }),
      },
      period,
      label: "Shards waiting or running",
    });
    const taskCount = this.service.autoScaleTaskCount({ minCapacity: 0, maxCapacity: props.maxWorkers });
    taskCount.scaleOnMetric("ScaleOnJobs", {
      metric: this.jobsInSystem,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      scalingSteps: workerSteps(props.maxWorkers),
      cooldown: Duration.minutes(1),
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    });

    acknowledge(instanceRole, {
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]":
        "Lets operators open a Session Manager shell on a GPU instance without SSH keys or inbound ports; it grants nothing over job data.",
      "AwsSolutions-IAM5[Action::ecs:Submit*]": "CDK's standard ECS container-instance permissions: the agent reports task and container state with ecs:Submit*.",
      "AwsSolutions-IAM5[Resource::*]": "CDK's standard ECS container-instance permissions: ecs:DiscoverPollEndpoint and ecr:GetAuthorizationToken take no resource.",
    });
    acknowledge(this.taskDefinition.obtainExecutionRole(), {
      "AwsSolutions-IAM5[Resource::*]": "ecr:GetAuthorizationToken, needed to pull the worker image, takes no resource.",
    });
    const env = nagEnv(this);
    acknowledge(this.taskDefinition, {
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${env.region}:${env.account}:task/${nagRef(this.cluster)}/*]`]:
        "A task sets scale-in protection on itself, and its ARN is only known once it runs: the grant covers tasks of this cluster only.",
      "AwsSolutions-ECS2": "The environment holds only names and settings (bucket, queue URL, Redis endpoint, model id): there is no secret to move to Secrets Manager.",
    });
    acknowledge(this.cluster, {
      "AwsSolutions-ECS4":
        "Container Insights bills per metric even while the cluster is empty; the queue metrics, alarms and worker logs are what operators watch. Turn it on when tuning.",
    });
    acknowledge(this.autoScalingGroup, {
      "AwsSolutions-AS3": "Scaling follows the queue automatically; the queue alarms already tell operators when jobs are not being picked up.",
    });

  }
}
