// cdk-nag v3 findings are acknowledged with CDK's own Validations API, one finding id at a time
// (e.g. `AwsSolutions-IAM5[Resource::<Data666C94C7.Arn>/jobs/*]`), each with the reason it is
// accepted. These helpers spell those ids the way cdk-nag prints them.
import { Stack, Token, Validations, type CfnElement } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** A resource as cdk-nag writes it inside a finding id: `<LogicalId>` or `<LogicalId.Attribute>`. */
export function nagRef(resource: IConstruct, attribute?: string): string {
  const element = (resource.node.defaultChild ?? resource) as CfnElement;
  const stack = Stack.of(resource);
  const logicalId = stack.resolve(stack.getLogicalId(element)) as string;
  return attribute ? `<${logicalId}.${attribute}>` : `<${logicalId}>`;
}

/** Accepts cdk-nag findings on `scope` and everything under it. */
export function acknowledge(scope: IConstruct, findings: Record<string, string>): void {
  Validations.of(scope).acknowledge(...Object.entries(findings).map(([id, reason]) => ({ id, reason })));
}

/** The stack's region and account as cdk-nag prints them: the literal when known, else the pseudo parameter. */
export function nagEnv(scope: IConstruct): { region: string; account: string } {
  const stack = Stack.of(scope);
  return {
    region: Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region,
    account: Token.isUnresolved(stack.account) ? "<AWS::AccountId>" : stack.account,
  };
}
