import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CrmFunction } from './crm-function';
import { CrmProvider } from './crm-provider';

export interface DefaultSecurityGroupLockdownProps {
  readonly vpc: ec2.Vpc;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Removes every rule of the VPC's default security group at deploy time. Replaces CDK's
 * `restrictDefaultSecurityGroup`, whose helper Lambda runs outside the VPC.
 */
export class DefaultSecurityGroupLockdown extends Construct {
  constructor(scope: Construct, id: string, props: DefaultSecurityGroupLockdownProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const fn = new CrmFunction(this, 'Handler', {
      entry: 'lambda/network-lockdown/handler.ts',
      description: 'Removes all rules from the VPC default security group',
      vpc: props.vpc,
      memorySize: 256,
      timeout: Duration.minutes(1),
      reservedConcurrentExecutions: 1,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      // EC2 has no interface endpoint in this VPC; the call goes out through NAT.
      allowHttpsToInternet: true,
    });
    const groupArn = `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:security-group/${props.vpc.vpcDefaultSecurityGroup}`;
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({
        // Revoking is scoped to the default group of this VPC only.
        actions: ['ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'],
        resources: [groupArn],
      }),
    );
    fn.function.addToRolePolicy(
      new iam.PolicyStatement({
        // Describe* calls do not support resource-level permissions; read-only.
        actions: ['ec2:DescribeSecurityGroupRules'],
        resources: ['*'],
      }),
    );
    const provider = new CrmProvider(this, 'Provider', {
      onEventHandler: fn.function,
      vpc: props.vpc,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DefaultSecurityGroupLockdown',
      properties: { SecurityGroupId: props.vpc.vpcDefaultSecurityGroup },
    });
  }
}
