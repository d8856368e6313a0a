import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from '../compliance';

export interface DeadLetterQueueOptions {
  /** Key the queue encrypts messages with. */
  readonly encryptionKey: kms.IKey;
  /** Whose dead letters these are, for the acknowledgements' reasons (e.g. "the function"). */
  readonly deadLetterOf: string;
  /**
   * cdk-nag recognises a queue as a DLQ only behind another SQS queue or a Lambda function; for
   * SNS subscriptions and schedules it reports AwsSolutions-SQS3, acknowledged here.
   * @default false
   */
  readonly unrecognisedByNag?: boolean;
}

/**
 * A dead-letter queue as every one in this project is: KMS-encrypted, TLS only, 14 days of
 * retention, usable as a DLQ by any source (CT.SQS.PR.1), without a DLQ of its own.
 */
export function createDeadLetterQueue(scope: Construct, id: string, options: DeadLetterQueueOptions): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: options.encryptionKey,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
  });
  acknowledge(
    queue,
    'Serverless-SQSRedrivePolicy',
    `This queue is the dead-letter queue of ${options.deadLetterOf}; a DLQ for a DLQ would only move the same failed messages again.`,
  );
  if (options.unrecognisedByNag) {
    acknowledge(
      queue,
      'AwsSolutions-SQS3',
      `This queue IS a dead-letter queue (of ${options.deadLetterOf}); cdk-nag recognises only SQS and Lambda dead-letter targets.`,
    );
  }
  return queue;
}

/**
 * Lets an AWS service (SNS for subscription redrives, EventBridge for rule targets) put its failed
 * deliveries into an encrypted dead-letter queue. The queue policy CDK writes is not enough: the
 * service encrypts with the queue's key, and only the key policy can grant a service principal
 * (IAM grants do not reach it). Scoped to the sources matching `sourceArn` (ArnLike) in this
 * account; GenerateDataKey and Decrypt are what SQS needs from a producer.
 */
export function allowServiceToSendDeadLetters(queue: sqs.Queue, service: string, sourceArn: string): void {
  const key = queue.encryptionMasterKey;
  if (!key) throw new Error(`allowServiceToSendDeadLetters: queue ${queue.node.path} is not KMS-encrypted`);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(service)],
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: ['*'], // in a key policy, '*' means this key
      conditions: {
        ArnLike: { 'aws:SourceArn': sourceArn },
        StringEquals: { 'aws:SourceAccount': queue.env.account },
      },
    }),
  );
}
