import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance';
import { acknowledgeFunctionPolicy, acknowledgeImportedVpc, FunctionRole } from './function-role';

export interface CrmProviderProps {
  /** The CrmFunction answering Create/Update/Delete. */
  readonly onEventHandler: lambda.IFunction;
  readonly vpc: ec2.IVpc;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The CDK custom-resource Provider framework, held to the same rules as a CrmFunction: in the
 * VPC's private subnets (it invokes our handler through the Lambda API over NAT), its own
 * customer-managed role, an encrypted log group, X-Ray, reserved concurrency and a DLQ.
 */
export class CrmProvider extends Construct {
  public readonly provider: cr.Provider;
  public readonly serviceToken: string;

  constructor(scope: Construct, id: string, props: CrmProviderProps) {
    super(scope, id);
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${id} custom resource framework: HTTPS out only`,
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'Lambda API and the CloudFormation response URL',
    );
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new FunctionRole(this, 'Role', {
      description: `${id} custom resource framework`,
      logGroupArn: logGroup.logGroupArn,
    });
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: props.onEventHandler,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      logGroup,
      frameworkOnEventRole: role,
      providerFunctionEnvEncryption: props.encryptionKey,
    });
    this.serviceToken = this.provider.serviceToken;

    // The framework function is CDK's; give it the settings every function here has.
    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    deadLetterQueue.grantSendMessages(role);
    const framework = this.provider.node.findChild('framework-onEvent') as lambda.Function;
    const cfn = framework.node.defaultChild as lambda.CfnFunction;
    cfn.memorySize = 256;
    cfn.reservedConcurrentExecutions = 5;
    cfn.tracingConfig = { mode: 'Active' };
    cfn.deadLetterConfig = { targetArn: deadLetterQueue.queueArn };

    acknowledge(
      deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'This queue is the dead-letter queue of the custom-resource framework; a DLQ for a DLQ would only move the same failed events again.',
    );
    acknowledge(
      role.policy,
      `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(props.onEventHandler)}.Arn>:*]`,
      'The Provider framework invokes the handler by qualified ARN (versions/aliases of that one function only); CDK generates this grant.',
    );
    acknowledgeFunctionPolicy(role, logGroup);
    acknowledgeImportedVpc(framework, props.vpc);
  }

  private logicalIdOf(fn: lambda.IFunction): string {
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    return Stack.of(this).getLogicalId(cfn);
  }
}
