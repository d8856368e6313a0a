import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import { acknowledge } from '../compliance';

export interface ManagedPolicyRoleProps {
  /** Who assumes the role. */
  readonly assumedBy: iam.IPrincipal;
  /** What the role is for. */
  readonly description: string;
}

/**
 * A role whose permissions all live in one customer-managed policy: no inline policies and no
 * AWS-managed policies (NIST IAMNoInlinePolicy, AwsSolutions-IAM4). Every `grant*()` and
 * `addToPrincipalPolicy()` lands in that policy, so least privilege stays visible in one document.
 */
export class ManagedPolicyRole extends iam.Role {
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ManagedPolicyRoleProps) {
    super(scope, id, { assumedBy: props.assumedBy, description: props.description });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `Permissions of: ${props.description}`.slice(0, 1000),
      roles: [this],
    });
  }

  public override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }
}

export interface FunctionRoleProps {
  /** What the role is for. */
  readonly description: string;
  /** ARN of the function's log group; the role may write only there. */
  readonly logGroupArn: string;
  /** Whether the function runs in a VPC (needs network-interface permissions). @default true */
  readonly inVpc?: boolean;
}

/** A Lambda execution role: logs to its own group, X-Ray, and the VPC network interfaces. */
export class FunctionRole extends ManagedPolicyRole {
  constructor(scope: Construct, id: string, props: FunctionRoleProps) {
    super(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.description });
    // Logs: only the function's own log group (the group exists; no CreateLogGroup).
    this.policy.addStatements(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [props.logGroupArn, `${props.logGroupArn}:log-stream:*`],
      }),
      new iam.PolicyStatement({
        // X-Ray segments are not resource-scoped.
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        resources: ['*'],
      }),
    );
    if (props.inVpc ?? true) {
      this.policy.addStatements(
        new iam.PolicyStatement({
          // Lambda manages the function's ENIs with these; EC2 does not scope them to resources.
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:RequestedRegion': Stack.of(this).region } },
        }),
      );
    }
  }
}

/**
 * The wildcard findings every Lambda role of this project has by construction, acknowledged on
 * that role's policy with the reason for each.
 */
export function acknowledgeFunctionPolicy(role: FunctionRole, logGroup: logs.ILogGroup): void {
  const stack = role.stack;
  const logGroupId = stack.getLogicalId(logGroup.node.defaultChild as logs.CfnLogGroup);
  acknowledge(
    role.policy,
    'AwsSolutions-IAM5[Resource::*]',
    'Only actions without resource-level permissions use "*": X-Ray PutTraceSegments/PutTelemetryRecords and the EC2 network-interface actions Lambda needs to run in the VPC (limited to this region by condition).',
  );
  acknowledge(
    role.policy,
    `AwsSolutions-IAM5[Resource::<${logGroupId}.Arn>:log-stream:*]`,
    "Log streams are created per execution environment with generated names; the grant is limited to this function's own log group.",
  );
  acknowledge(
    role.policy,
    'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    'CDK grants on the KMS-encrypted dead-letter queue and environment variables use the GenerateDataKey* family; the resource is the single project key.',
  );
  acknowledge(
    role.policy,
    'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
    'CDK grants on the KMS-encrypted dead-letter queue use the ReEncrypt* family; the resource is the single project key.',
  );
}

/**
 * CT.LAMBDA.PR.3 reads subnet ids only as literals or same-template references; a function in a
 * VPC owned by another stack gets them through Fn::ImportValue, which the rule cannot follow.
 * The function is in the VPC all the same (the infra tests assert its VpcConfig).
 */
export function acknowledgeImportedVpc(fn: IConstruct, vpc: IConstruct): void {
  if (Stack.of(fn) === Stack.of(vpc)) return;
  acknowledge(
    fn,
    'cdk-validator-cfnguard::lambda_inside_vpc_check',
    'The function runs in the private subnets of the VPC from the network stack; the subnet ids arrive via Fn::ImportValue, which this guard rule cannot resolve.',
  );
}
