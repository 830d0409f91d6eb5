// The upload page: a private bucket behind CloudFront (origin access control), with the API's
// URL written into config.json next to index.html at deploy time (web/src/config.ts reads it).
import { RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3deploy from "aws-cdk-lib/aws-s3-deployment";
import { Construct } from "constructs";
import { acknowledge, nagEnv, nagRef } from "./nag.ts";

/** What the page reads from config.json (web/src/config.ts: PageConfig). */
export interface SiteConfig {
  apiBaseUrl: string;
}

export interface StaticSiteProps {
  /** The built page (web/dist). */
  siteDir: string;
}

export class StaticSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** https://<id>.cloudfront.net, the page's origin (what the API and the data bucket allow). */
  readonly url: string;
  readonly #siteDir: string;

  constructor(scope: Construct, id: string, props: StaticSiteProps) {
    super(scope, id);
    this.#siteDir = props.siteDir;

    this.bucket = new s3.Bucket(this, "Bucket", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // The page is rebuilt from git on every deploy: nothing here to keep.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: "Trapline upload page",
      defaultRootObject: "index.html",
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    acknowledge(this.bucket, {
      "AwsSolutions-S1": "The bucket holds only the page's build output, replaced on every deploy; CloudFront is its only reader.",
    });
    acknowledge(this.distribution, {
      "AwsSolutions-CFR1": "Camera-trap projects run worldwide: there is no country to exclude.",
      "AwsSolutions-CFR2": "The distribution serves static files; the API limits job creation per IP and per email. Add AWS WAF here if the page draws attacks.",
      "AwsSolutions-CFR3": "Access logs of a static page are not needed to run the service; the API's logs record every job.",
      "AwsSolutions-CFR4": "The default *.cloudfront.net certificate fixes the TLS policy; set a custom domain and certificate to require TLS 1.2.",
    });

  }

  /** Uploads the page and its config.json (deploy-time values such as the API URL) and refreshes CloudFront. */
  publish(config: SiteConfig): s3deploy.BucketDeployment {
    const deployment = new s3deploy.BucketDeployment(this, "Deploy", {
      // The local build's config.json (same-origin API) is replaced by this deployment's.
      sources: [s3deploy.Source.asset(this.#siteDir, { exclude: ["config.json"] }), s3deploy.Source.jsonData("config.json", config)],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ["/*"],
      prune: true,
    });
    // CDK's copy function (one per stack, shared by every BucketDeployment) sits at the stack's root.
    const copier = Stack.of(this).node.children.find((child) => child.node.id.startsWith("Custom::CDKBucketDeployment"));
    if (copier) {
      const env = nagEnv(this);
      acknowledge(copier, {
        "AwsSolutions-L1": "CDK chooses the runtime of its own bucket-deployment function; it runs only during deploys.",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": "CDK's bucket-deployment function writes its logs with the basic execution role.",
        "AwsSolutions-IAM5[Resource::*]": "CDK's bucket-deployment function invalidates the distribution (cloudfront:CreateInvalidation takes no resource ARN in CDK's grant).",
        "AwsSolutions-IAM5[Action::s3:GetObject*]": "CDK's bucket-deployment function reads the page's asset zip and the site bucket.",
        "AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's bucket-deployment function reads the page's asset zip and the site bucket.",
        "AwsSolutions-IAM5[Action::s3:List*]": "CDK's bucket-deployment function lists the site bucket to prune old files.",
        "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "CDK's bucket-deployment function deletes files of the previous page version (prune).",
        "AwsSolutions-IAM5[Action::s3:Abort*]": "CDK's bucket-deployment function writes the page with multipart uploads.",
        [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${env.account}-${env.region}/*]`]:
          "CDK's bucket-deployment function reads the page's zip from the CDK assets bucket, under keys known only at deploy.",
        [`AwsSolutions-IAM5[Resource::${nagRef(this.bucket, "Arn")}/*]`]: "CDK's bucket-deployment function writes every file of the page into the site bucket.",
      });
    }
    return deployment;
  }
}
