import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { allowServiceToSendDeadLetters, createDeadLetterQueue } from './dead-letter-queue';

export interface SecureTopicProps {
  readonly displayName: string;
  /** KMS key the topic encrypts messages with. */
  readonly encryptionKey: kms.IKey;
  /** E-mail addresses subscribed to the topic. @default - none */
  readonly emails?: readonly string[];
  /** AWS service principals allowed to publish (e.g. `events.rds.amazonaws.com`). @default - none */
  readonly servicePublishers?: readonly string[];
}

/** An SNS topic encrypted with a customer-managed key that refuses publishing without TLS. */
export class SecureTopic extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: SecureTopicProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    for (const service of props.servicePublishers ?? []) {
      const principal = new iam.ServicePrincipal(service);
      this.topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${service.split('.')[0].replace(/[^A-Za-z0-9]/g, '')}Publish`,
          principals: [principal],
          actions: ['sns:Publish'],
          resources: [this.topic.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': this.topic.env.account } },
        }),
      );
      // The service encrypts with the topic's key: it needs a key-policy grant, only on behalf of
      // this account (confused deputy: aws:SourceAccount).
      props.encryptionKey.grant(
        new iam.PrincipalWithConditions(principal, { StringEquals: { 'aws:SourceAccount': this.topic.env.account } }),
        'kms:GenerateDataKey*',
        'kms:Decrypt',
      );
    }
    const emails = props.emails ?? [];
    if (emails.length > 0) {
      // Undeliverable notifications are kept for 14 days instead of being lost.
      const deadLetterQueue = createDeadLetterQueue(this, 'DeliveryDeadLetterQueue', {
        encryptionKey: props.encryptionKey,
        deadLetterOf: 'the topic subscriptions',
        unrecognisedByNag: true,
      });
      // SNS redrives with the queue's key. The key policy cannot name this topic's ARN (the topic
      // already depends on the key: a cycle), so it names the topics of this stack, whose
      // generated names all start with the stack name.
      const stack = Stack.of(this);
      allowServiceToSendDeadLetters(
        deadLetterQueue,
        'sns.amazonaws.com',
        stack.formatArn({
          service: 'sns',
          resource: `${stack.stackName}-*`,
          arnFormat: ArnFormat.NO_RESOURCE_NAME,
        }),
      );
      for (const email of emails) {
        this.topic.addSubscription(new subs.EmailSubscription(email, { deadLetterQueue }));
      }
    }
  }
}
