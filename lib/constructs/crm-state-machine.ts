import { type CfnElement, type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { acknowledge } from '../compliance';
import type { CrmFunction } from './crm-function';
import { ManagedPolicyRole } from './function-role';

/** Where Step Functions log groups live (vended logs: no account-wide resource policy entry). */
export const STATE_MACHINE_LOG_PREFIX = '/aws/vendedlogs/states/';

export interface CrmStateMachineOptions {
  readonly stateMachineName: string;
  /** What the workflow does (the role's description). */
  readonly description: string;
  readonly definition: sfn.IChainable;
  /** The whole execution's time limit. */
  readonly timeout: Duration;
  /** The functions its tasks invoke. */
  readonly taskFunctions: readonly CrmFunction[];
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * A workflow as every one in this project is: X-Ray tracing, all events logged (without execution
 * data, which may hold personal data) to a KMS-encrypted log group, a customer-managed role.
 * Created directly in `scope` (ids StateMachineLogs, StateMachineRole, StateMachine).
 */
export function createStateMachine(scope: Construct, options: CrmStateMachineOptions): sfn.StateMachine {
  const logGroup = new logs.LogGroup(scope, 'StateMachineLogs', {
    // Under /aws/vendedlogs/ Step Functions needs no entry in the account's CloudWatch Logs
    // resource policy (which is capped at 5120 characters and shared by every log delivery).
    logGroupName: `${STATE_MACHINE_LOG_PREFIX}${options.stateMachineName}`,
    encryptionKey: options.encryptionKey,
    retention: options.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new ManagedPolicyRole(scope, 'StateMachineRole', {
    assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    description: options.description,
  });
  const machine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: options.stateMachineName,
    definitionBody: sfn.DefinitionBody.fromChainable(options.definition),
    timeout: options.timeout,
    tracingEnabled: true,
    role,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
  const stack = Stack.of(scope);
  for (const fn of options.taskFunctions) {
    const id = stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
    acknowledge(
      role.policy,
      `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
      'Step Functions invokes the task function by qualified ARN (versions of that one function only); CDK generates this grant.',
    );
  }
  acknowledge(
    role.policy,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing and CloudWatch Logs delivery for the state machine have no resource-level permissions.',
  );
  return machine;
}
