import { Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance';
import { reservesConcurrency } from './crm-function';
import { STATE_MACHINE_LOG_PREFIX } from './crm-state-machine';
import { createDeadLetterQueue } from './dead-letter-queue';
import { acknowledgeFunctionPolicy, acknowledgeImportedVpc, FunctionRole } from './function-role';

export interface CrmProviderProps {
  /** The CrmFunction answering Create/Update/Delete. */
  readonly onEventHandler: lambda.IFunction;
  /** Completion check for an asynchronous resource. @default - synchronous */
  readonly isCompleteHandler?: lambda.IFunction;
  /** How often isComplete is polled. @default 30 seconds */
  readonly queryInterval?: Duration;
  /** Give up after. @default 50 minutes (CloudFormation waits at most one hour) */
  readonly totalTimeout?: Duration;
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
    const completeRole = props.isCompleteHandler
      ? new FunctionRole(this, 'CompleteRole', {
          description: `${id} custom resource framework (isComplete, onTimeout)`,
          logGroupArn: logGroup.logGroupArn,
        })
      : undefined;
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: props.onEventHandler,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      logGroup,
      frameworkOnEventRole: role,
      providerFunctionEnvEncryption: props.encryptionKey,
      ...(props.isCompleteHandler
        ? {
            isCompleteHandler: props.isCompleteHandler,
            // A role of their own: sharing onEvent's would close a dependency cycle through the waiter.
            frameworkCompleteAndTimeoutRole: completeRole,
            queryInterval: props.queryInterval ?? Duration.seconds(30),
            totalTimeout: props.totalTimeout ?? Duration.minutes(50),
            disableWaiterStateMachineLogging: false,
            waiterStateMachineLogOptions: {
              destination: new logs.LogGroup(this, 'WaiterLogGroup', {
                logGroupName: `${STATE_MACHINE_LOG_PREFIX}${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}-waiter`,
                encryptionKey: props.encryptionKey,
                retention: props.logRetention,
                removalPolicy: RemovalPolicy.DESTROY,
              }),
              level: sfn.LogLevel.ALL,
              includeExecutionData: false,
            },
          }
        : {}),
    });
    this.serviceToken = this.provider.serviceToken;

    // The framework function is CDK's; give it the settings every function here has.
    const deadLetterQueue = createDeadLetterQueue(this, 'DeadLetterQueue', {
      encryptionKey: props.encryptionKey,
      deadLetterOf: 'the custom-resource framework',
    });
    deadLetterQueue.grantSendMessages(role);
    if (completeRole) deadLetterQueue.grantSendMessages(completeRole);
    const frameworkFunctions = ['framework-onEvent', 'framework-isComplete', 'framework-onTimeout']
      .map((name) => this.provider.node.tryFindChild(name) as lambda.Function | undefined)
      .filter((fn): fn is lambda.Function => fn !== undefined);
    for (const framework of frameworkFunctions) {
      const cfn = framework.node.defaultChild as lambda.CfnFunction;
      cfn.memorySize = 256;
      if (reservesConcurrency(this, framework)) cfn.reservedConcurrentExecutions = 5;
      cfn.tracingConfig = { mode: 'Active' };
      cfn.deadLetterConfig = { targetArn: deadLetterQueue.queueArn };
    }

    // Every framework function may invoke every user handler (CDK grants them all alike).
    for (const handlerRole of [role, completeRole]) {
      for (const handler of [props.onEventHandler, props.isCompleteHandler]) {
        if (!handler || !handlerRole) continue;
        acknowledge(
          handlerRole.policy,
          `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(handler)}.Arn>:*]`,
          'The Provider framework invokes the handler by qualified ARN (versions/aliases of that one function only); CDK generates this grant.',
        );
      }
    }
    acknowledgeFunctionPolicy(role, logGroup);
    if (completeRole) acknowledgeFunctionPolicy(completeRole, logGroup);
    for (const framework of frameworkFunctions) acknowledgeImportedVpc(framework, props.vpc);
    if (props.isCompleteHandler) this.hardenWaiter(frameworkFunctions);
  }

  /**
   * The Provider's waiter state machine (polls isComplete) is CDK-internal: trace it like every
   * other workflow here, and acknowledge what its fixed, CDK-created role cannot change.
   */
  private hardenWaiter(frameworkFunctions: lambda.Function[]): void {
    const waiter = this.provider.node.findChild('waiter-state-machine');
    const cfn = waiter.node.findChild('Resource') as sfn.CfnStateMachine;
    cfn.tracingConfiguration = { enabled: true };
    const role = waiter.node.findChild('Role') as iam.Role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // X-Ray segments are not resource-scoped.
        actions: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        resources: ['*'],
      }),
    );
    const policy = role.node.findChild('DefaultPolicy');
    acknowledge(
      policy,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "The Provider framework's waiter state machine creates its own role internally; CDK offers no way to supply one. Its policy only invokes the two framework functions and writes its logs and traces.",
    );
    for (const fn of frameworkFunctions.filter((f) => f.node.id !== 'framework-onEvent')) {
      acknowledge(
        policy,
        `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        'The waiter state machine invokes the framework function by qualified ARN (versions of that one function only); CDK generates this grant.',
      );
    }
    acknowledge(
      policy,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing and CloudWatch Logs delivery for the state machine have no resource-level permissions.',
    );
  }

  private logicalIdOf(fn: lambda.IFunction): string {
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    return Stack.of(this).getLogicalId(cfn);
  }
}
