// The CDK app: `npm run synth` / `npm run deploy` (see infra/README.md). Settings come from
// context: `npx cdk deploy -c instanceType=g5.xlarge -c spot=true -c maxWorkers=4`.
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { readSettings, SettingsError, type DeploySettings } from "./settings.ts";
import { TraplineStack } from "./traplineStack.ts";

const app = new App();
let settings: DeploySettings;
try {
  settings = readSettings((key) => app.node.tryGetContext(key), process.env.CDK_DEFAULT_REGION);
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  console.error(error.message);
  process.exit(1);
}

new TraplineStack(app, "Trapline", {
  settings,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: settings.region },
  description: "Trapline: MegaDetector over camera-trap photos (API, queue, GPU workers, upload page)",
});

// Every synth is checked against the AWS Solutions rules: a finding that is not acknowledged
// (with its reason, next to the resource) stops the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
