import { type CfnElement, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance';
import { createDeadLetterQueue } from './dead-letter-queue';
import { ManagedPolicyRole } from './function-role';

export interface CrmScheduleProps {
  /** EventBridge Scheduler expression, e.g. `cron(0 3 * * ? *)`. */
  readonly expression: string;
  /** IANA time zone of the expression. */
  readonly timeZone: string;
  readonly description: string;
  /** The function invoked, or the state machine started. */
  readonly target: lambda.IFunction | sfn.IStateMachine;
  /** Event passed to the target; `ContextAttribute.scheduledTime` may be used in it. */
  readonly input?: Record<string, unknown>;
  /** Key for the dead-letter queue. */
  readonly encryptionKey: kms.IKey;
  /** @default 3 */
  readonly retryAttempts?: number;
  /** @default 1 hour: a slot missed by more than this is not run late. */
  readonly maxEventAge?: Duration;
}

/**
 * An EventBridge Scheduler schedule invoking a function, with retries, a maximum event age and a
 * KMS-encrypted dead-letter queue for invocations that still fail. The scheduler's role may
 * invoke only that function.
 */
export class CrmSchedule extends Construct {
  public readonly schedule: scheduler.Schedule;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: CrmScheduleProps) {
    super(scope, id);
    this.deadLetterQueue = createDeadLetterQueue(this, 'DeadLetterQueue', {
      encryptionKey: props.encryptionKey,
      deadLetterOf: 'the schedule',
      unrecognisedByNag: true,
    });
    const role = new ManagedPolicyRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: `${id} schedule: invokes one target`,
    });
    // The scheduler target grants only sqs:SendMessage; the queue is KMS-encrypted, so the role
    // also needs the key (grantSendMessages includes it).
    this.deadLetterQueue.grantSendMessages(role);
    const targetProps: targets.ScheduleTargetBaseProps = {
      role,
      input: props.input ? scheduler.ScheduleTargetInput.fromObject(props.input) : undefined,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: props.retryAttempts ?? 3,
      maxEventAge: props.maxEventAge ?? Duration.hours(1),
    };
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: props.description,
      schedule: scheduler.ScheduleExpression.expression(props.expression, TimeZone.of(props.timeZone)),
      target: isStateMachine(props.target)
        ? new targets.StepFunctionsStartExecution(props.target, targetProps)
        : new targets.LambdaInvoke(props.target, targetProps),
    });
    if (!isStateMachine(props.target)) {
      const fnId = Stack.of(this).getLogicalId(props.target.node.defaultChild as CfnElement);
      acknowledge(
        role.policy,
        `AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
        'The scheduler invokes the target function by qualified ARN (versions of that one function only); CDK generates this grant.',
      );
    }
    acknowledge(
      role.policy,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'CDK grants on the KMS-encrypted dead-letter queue use the GenerateDataKey* family; the resource is the single project key.',
    );
    acknowledge(
      role.policy,
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      'CDK grants on the KMS-encrypted dead-letter queue use the ReEncrypt* family; the resource is the single project key.',
    );
  }
}

function isStateMachine(target: lambda.IFunction | sfn.IStateMachine): target is sfn.IStateMachine {
  return 'stateMachineArn' in target;
}
