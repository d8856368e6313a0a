/**
 * The permission graph of every environment, read from the synthesised templates of all its stacks:
 *
 * 1. Every writer of a KMS-encrypted topic, queue, log group or bucket — roles (identity policies)
 *    and AWS service principals (SNS, EventBridge, Scheduler, CloudWatch, RDS events, CloudWatch
 *    Logs) — is allowed to use that key, by its identity policy (with the key policy delegating to
 *    the account) or by the key policy itself, conditions included.
 * 2. Every AWS API a Lambda's bundled code calls (the SDK `*Command` classes and paginators its
 *    sources import, read from the bundle's source map) is granted to its role on a resource of
 *    the type that API acts on (Service Authorization Reference).
 *
 * A small IAM evaluator (hand-written: no library evaluates CloudFormation-shaped policies
 * offline): Allow statements with `*`/`?` wildcards, Deny statements of key policies, and the
 * condition operators this project uses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ENVIRONMENTS, type EnvironmentConfig, validateConfig } from '../../lib/config';
import { CrmStage } from '../../lib/crm-stage';
import { TEST_ENV, testConfig } from './fixtures';

const { account: ACCOUNT, region: REGION } = TEST_ENV;

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}
interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly Resource?: Json;
  readonly Principal?: Json;
  readonly Condition?: Record<string, Record<string, Json>>;
}
interface StackTemplate {
  readonly name: string;
  readonly resources: Record<string, Resource>;
}
/** A resource anywhere in the environment. */
interface Ref {
  readonly stack: StackTemplate;
  readonly id: string;
  readonly resource: Resource;
}

/** One environment's stacks, resolved against each other. */
class Environment {
  private readonly stacks: StackTemplate[];
  private readonly exports = new Map<string, { stack: StackTemplate; value: Json }>();

  constructor(
    readonly name: string,
    templates: { name: string; template: { Resources?: Record<string, Resource>; Outputs?: Record<string, Json> } }[],
    readonly assetDir: (hash: string) => string,
  ) {
    this.stacks = templates.map((t) => ({ name: t.name, resources: t.template.Resources ?? {} }));
    templates.forEach((t, i) => {
      for (const output of Object.values(t.template.Outputs ?? {}) as { Value: Json; Export?: { Name: string } }[]) {
        if (output.Export) this.exports.set(output.Export.Name, { stack: this.stacks[i], value: output.Value });
      }
    });
  }

  all(type: string): Ref[] {
    return this.stacks.flatMap((stack) =>
      Object.entries(stack.resources)
        .filter(([, r]) => r.Type === type)
        .map(([id, resource]) => ({ stack, id, resource })),
    );
  }

  /** The resource a Ref / GetAtt / ImportValue expression points to. */
  target(expr: Json, stack: StackTemplate): Ref | undefined {
    const o = expr as Record<string, Json>;
    if (o && typeof o === 'object') {
      if ('Fn::ImportValue' in o) {
        const exp = this.exports.get(o['Fn::ImportValue'] as string);
        return exp ? this.target(exp.value, exp.stack) : undefined;
      }
      const id = 'Ref' in o ? (o.Ref as string) : 'Fn::GetAtt' in o ? (o['Fn::GetAtt'] as string[])[0] : undefined;
      if (id && stack.resources[id]) return { stack, id, resource: stack.resources[id] };
    }
    return undefined;
  }

  /** A string for an expression: ARNs and names as CloudFormation would give them. */
  str(expr: Json, stack: StackTemplate): string {
    if (typeof expr === 'string') return expr;
    if (typeof expr === 'number' || typeof expr === 'boolean') return String(expr);
    const o = expr as Record<string, Json>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, Json[]];
      return parts.map((p) => this.str(p, stack)).join(sep);
    }
    if ('Fn::Select' in o) {
      const [index, list] = o['Fn::Select'] as [number, Json];
      return this.list(list, stack)[Number(index)] ?? '<unresolved>';
    }
    if ('Fn::ImportValue' in o) {
      const exp = this.exports.get(o['Fn::ImportValue'] as string);
      return exp ? this.str(exp.value, exp.stack) : '<unresolved-import>';
    }
    if ('Ref' in o) {
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': REGION,
        'AWS::AccountId': ACCOUNT,
        'AWS::URLSuffix': 'amazonaws.com',
        'AWS::StackName': stack.name,
      };
      const id = o.Ref as string;
      if (pseudo[id]) return pseudo[id];
      const r = stack.resources[id];
      return r ? this.attribute({ stack, id, resource: r }, 'Ref') : `<param:${id}>`;
    }
    if ('Fn::GetAtt' in o) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      const r = stack.resources[id];
      return r ? this.attribute({ stack, id, resource: r }, attr) : `<unresolved:${id}>`;
    }
    return '<unresolved>';
  }

  private list(expr: Json, stack: StackTemplate): string[] {
    if (Array.isArray(expr)) return expr.map((e) => this.str(e, stack));
    const o = expr as Record<string, Json>;
    if (o && 'Fn::Split' in o) {
      const [sep, value] = o['Fn::Split'] as [string, Json];
      return this.str(value, stack).split(sep);
    }
    return [this.str(expr, stack)];
  }

  /** Ref and GetAtt values of the resource types the policies name. */
  attribute(ref: Ref, attr: string): string {
    const p = ref.resource.Properties ?? {};
    const name = (prop: string, fallback = ref.id) => (p[prop] !== undefined ? this.str(p[prop], ref.stack) : fallback);
    const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
    // CloudFormation names a resource without a name property <stack>-<logical id>-<random>.
    const generated = `${ref.stack.name}-${ref.id}-1A2B3C4D5E6F`;
    switch (ref.resource.Type) {
      case 'AWS::SNS::Topic':
        return arn('sns', name('TopicName', generated));
      case 'AWS::SQS::Queue':
        return attr === 'Arn'
          ? arn('sqs', name('QueueName', generated))
          : `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${ref.id}`;
      case 'AWS::KMS::Key':
        return attr === 'Arn' ? arn('kms', `key/${ref.id}`) : ref.id;
      case 'AWS::Logs::LogGroup':
        return attr === 'Arn' ? arn('logs', `log-group:${name('LogGroupName')}:*`) : name('LogGroupName');
      case 'AWS::S3::Bucket':
        return attr === 'Arn'
          ? `arn:aws:s3:::${name('BucketName', ref.id.toLowerCase())}`
          : name('BucketName', ref.id.toLowerCase());
      case 'AWS::Lambda::Function':
        return attr === 'Arn' ? arn('lambda', `function:${name('FunctionName')}`) : name('FunctionName');
      case 'AWS::IAM::Role':
        return attr === 'Arn' ? `arn:aws:iam::${ACCOUNT}:role/${name('RoleName')}` : name('RoleName');
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${ACCOUNT}:policy/${ref.id}`;
      case 'AWS::SecretsManager::Secret':
        return arn('secretsmanager', `secret:${name('Name')}-AbCdEf`);
      case 'AWS::SecretsManager::SecretTargetAttachment':
        return this.str(p.SecretId, ref.stack);
      case 'AWS::StepFunctions::StateMachine':
        return attr === 'Name' ? name('StateMachineName') : arn('states', `stateMachine:${name('StateMachineName')}`);
      case 'AWS::RDS::DBInstance':
        if (attr === 'DbiResourceId') return `db-${ref.id.toUpperCase()}`;
        if (attr.startsWith('Endpoint')) return `${ref.id}.example.${REGION}.rds.amazonaws.com`;
        return name('DBInstanceIdentifier');
      case 'AWS::RDS::DBProxy':
        if (attr === 'DBProxyArn') return arn('rds', `db-proxy:prx-${ref.id.toLowerCase()}`);
        if (attr === 'Endpoint') return `${ref.id}.proxy.${REGION}.rds.amazonaws.com`;
        return name('DBProxyName');
      case 'AWS::CloudWatch::Alarm':
        return arn('cloudwatch', `alarm:${name('AlarmName')}`);
      case 'AWS::Events::Rule':
        return arn('events', `rule/${name('Name', generated)}`);
      case 'AWS::RDS::EventSubscription':
        return arn('rds', `es:${name('SubscriptionName', ref.id.toLowerCase())}`);
      default:
        return attr === 'Ref' ? ref.id : `${ref.id}.${attr}`;
    }
  }

  /** Every statement of the identity policies attached to a role. */
  roleStatements(role: Ref): Statement[] {
    const refsRole = (roles: Json) =>
      Array.isArray(roles) && roles.some((r) => this.target(r, role.stack)?.id === role.id);
    const managed = [...this.all('AWS::IAM::ManagedPolicy'), ...this.all('AWS::IAM::Policy')]
      .filter((p) => p.stack === role.stack && refsRole(p.resource.Properties?.Roles))
      .flatMap((p) => this.statements(p.resource.Properties?.PolicyDocument, p.stack));
    const inline = ((role.resource.Properties?.Policies ?? []) as { PolicyDocument: Json }[]).flatMap((p) =>
      this.statements(p.PolicyDocument, role.stack),
    );
    return [...managed, ...inline];
  }

  /** A policy document's statements with every expression resolved to strings. */
  statements(document: Json, stack: StackTemplate): Statement[] {
    const doc = document as { Statement?: Record<string, Json>[] } | undefined;
    return (doc?.Statement ?? []).map((s) => this.resolveDeep(s, stack) as Statement);
  }

  private resolveDeep(value: Json, stack: StackTemplate): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolveDeep(v, stack));
    if (value && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return this.str(value, stack);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolveDeep(v, stack)]));
    }
    return value;
  }

  /** The role an expression (a role ARN) points to. */
  role(expr: Json, stack: StackTemplate): Ref {
    const role = this.target(expr, stack);
    if (role?.resource.Type !== 'AWS::IAM::Role') throw new Error(`not a role: ${JSON.stringify(expr)}`);
    return role;
  }
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

/** The request context conditions are evaluated against; keys absent here fail a condition. */
type Context = Record<string, string>;

function conditionsHold(condition: Statement['Condition'], context: Context): boolean {
  return Object.entries(condition ?? {}).every(([operator, tests]) =>
    Object.entries(tests).every(([key, expected]) => {
      const ifExists = operator.endsWith('IfExists');
      const op = operator.replace(/IfExists$/, '');
      const actual = context[key];
      if (actual === undefined) return ifExists;
      const values = asArray(expected as string | string[]).map(String);
      switch (op) {
        case 'StringEquals':
        case 'ArnEquals':
        case 'Bool':
          return values.some((v) => v === actual);
        case 'StringLike':
        case 'ArnLike':
          return values.some((v) => glob(v).test(actual));
        default:
          return false;
      }
    }),
  );
}

function statementMatches(s: Statement, action: string, resource: string, context: Context): boolean {
  return (
    asArray(s.Action).some((a) => glob(a).test(action)) &&
    asArray(s.Resource as string | string[]).some((r) => glob(r).test(resource)) &&
    conditionsHold(s.Condition, context)
  );
}

/** Whether a principal named in a key policy statement is `principal` (a role ARN or a service). */
function principalMatches(s: Statement, principal: { role?: string; service?: string }): boolean {
  if (s.Principal === '*') return true;
  const p = s.Principal as { AWS?: string | string[]; Service?: string | string[] };
  if (principal.service) return asArray(p.Service).includes(principal.service);
  return asArray(p.AWS).some((a) => a === '*' || a === principal.role);
}

interface Writer {
  /** What writes, for the failure message. */
  readonly description: string;
  readonly role?: Ref;
  readonly service?: string;
  /** Request context of the key use (aws:SourceArn, kms:ViaService, encryption context). */
  readonly context: Context;
}

/** Whether `writer` may perform `action` on the key: key policy, or identity policy the key policy delegates to. */
function keyUseAllowed(env: Environment, key: Ref, writer: Writer, action: string): boolean {
  const keyArn = env.attribute(key, 'Arn');
  const keyPolicy = env.statements(key.resource.Properties?.KeyPolicy, key.stack);
  const roleArn = writer.role ? env.attribute(writer.role, 'Arn') : undefined;
  const context: Context = {
    'aws:SourceAccount': ACCOUNT,
    'aws:PrincipalAccount': ACCOUNT,
    ...(writer.service ? { 'aws:PrincipalIsAWSService': 'true' } : { 'aws:PrincipalIsAWSService': 'false' }),
    ...writer.context,
  };
  const matching = (effect: 'Allow' | 'Deny') =>
    keyPolicy.filter(
      (s) =>
        s.Effect === effect &&
        principalMatches(s, { role: roleArn, service: writer.service }) &&
        statementMatches(s, action, '*', context),
    );
  if (matching('Deny').length > 0) return false;
  if (matching('Allow').length > 0) return true;
  if (!writer.role) return false;
  // The key policy delegates to IAM when it allows the account root.
  const delegates = keyPolicy.some(
    (s) =>
      s.Effect === 'Allow' &&
      asArray((s.Principal as { AWS?: string })?.AWS).includes(`arn:aws:iam::${ACCOUNT}:root`) &&
      statementMatches(s, action, '*', {}),
  );
  return (
    delegates &&
    env.roleStatements(writer.role).some((s) => s.Effect === 'Allow' && statementMatches(s, action, keyArn, context))
  );
}

/** The key an encrypted resource uses, or undefined when it uses none (or an AWS-managed one). */
function keyOf(env: Environment, ref: Ref): Ref | undefined {
  const p = ref.resource.Properties ?? {};
  const expr =
    p.KmsMasterKeyId ??
    p.KmsKeyId ??
    (p.BucketEncryption as { ServerSideEncryptionConfiguration?: Record<string, Json>[] } | undefined)
      ?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
  const keyExpr =
    expr && typeof expr === 'object' && 'KMSMasterKeyID' in (expr as object)
      ? (expr as { KMSMasterKeyID: Json }).KMSMasterKeyID
      : expr;
  const key = keyExpr === undefined ? undefined : env.target(keyExpr, ref.stack);
  return key?.resource.Type === 'AWS::KMS::Key' ? key : undefined;
}

/** An edge: a writer of an encrypted resource and the key actions that write needs. */
interface Edge {
  readonly writer: Writer;
  readonly resource: string;
  readonly key: Ref;
  readonly actions: readonly string[];
}

const VIA = (service: string) => ({ 'kms:ViaService': `${service}.${REGION}.amazonaws.com` });
/** Publishing to an encrypted topic, sending to an encrypted queue (SNS and SQS developer guides). */
const PUBLISH_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];
/** CloudWatch Logs' use of a log group's key (CloudWatch Logs user guide, "Encrypt log data"). */
const LOGS_KEY_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom'];

/** Every writer of every encrypted topic, queue, log group and bucket of the environment. */
function writerEdges(env: Environment): Edge[] {
  const edges: Edge[] = [];
  const roles = env.all('AWS::IAM::Role');
  const identityWriters = (action: string, resourceArn: string, service: string, key: Ref, what: string) => {
    for (const role of roles) {
      const allowed = env
        .roleStatements(role)
        .some((s) => s.Effect === 'Allow' && statementMatches(s, action, resourceArn, {}));
      if (allowed) {
        edges.push({
          writer: { description: `role ${role.stack.name}/${role.id} (${action})`, role, context: VIA(service) },
          resource: what,
          key,
          actions: PUBLISH_KEY_ACTIONS,
        });
      }
    }
  };

  for (const topic of env.all('AWS::SNS::Topic')) {
    const key = keyOf(env, topic);
    if (!key) continue;
    const topicArn = env.attribute(topic, 'Ref');
    const what = `topic ${topic.stack.name}/${topic.id}`;
    identityWriters('sns:Publish', topicArn, 'sns', key, what);
    for (const alarm of env.all('AWS::CloudWatch::Alarm')) {
      const actions = ['AlarmActions', 'OKActions', 'InsufficientDataActions'].flatMap((a) =>
        asArray(alarm.resource.Properties?.[a] as Json[]),
      );
      if (actions.some((a) => env.str(a, alarm.stack) === topicArn)) {
        edges.push({
          writer: {
            description: `alarm ${alarm.stack.name}/${alarm.id}`,
            service: 'cloudwatch.amazonaws.com',
            context: { 'aws:SourceArn': env.attribute(alarm, 'Arn') },
          },
          resource: what,
          key,
          actions: PUBLISH_KEY_ACTIONS,
        });
      }
    }
    for (const subscription of env.all('AWS::RDS::EventSubscription')) {
      if (env.str(subscription.resource.Properties?.SnsTopicArn, subscription.stack) !== topicArn) continue;
      edges.push({
        writer: {
          description: `RDS event subscription ${subscription.stack.name}/${subscription.id}`,
          service: 'events.rds.amazonaws.com',
          context: { 'aws:SourceArn': env.attribute(subscription, 'Arn') },
        },
        resource: what,
        key,
        actions: PUBLISH_KEY_ACTIONS,
      });
    }
  }

  for (const queue of env.all('AWS::SQS::Queue')) {
    const key = keyOf(env, queue);
    if (!key) continue;
    const queueArn = env.attribute(queue, 'Arn');
    const what = `queue ${queue.stack.name}/${queue.id}`;
    identityWriters('sqs:SendMessage', queueArn, 'sqs', key, what);
    const isQueue = (expr: Json, stack: StackTemplate) => expr !== undefined && env.str(expr, stack) === queueArn;
    // Services that send failed deliveries here.
    for (const sub of env.all('AWS::SNS::Subscription')) {
      const dlq = (sub.resource.Properties?.RedrivePolicy as { deadLetterTargetArn?: Json } | undefined)
        ?.deadLetterTargetArn;
      if (!isQueue(dlq, sub.stack)) continue;
      edges.push({
        writer: {
          description: `SNS subscription ${sub.stack.name}/${sub.id}`,
          service: 'sns.amazonaws.com',
          context: { 'aws:SourceArn': env.str(sub.resource.Properties?.TopicArn, sub.stack) },
        },
        resource: what,
        key,
        actions: PUBLISH_KEY_ACTIONS,
      });
    }
    for (const rule of env.all('AWS::Events::Rule')) {
      for (const target of (rule.resource.Properties?.Targets ?? []) as { DeadLetterConfig?: { Arn?: Json } }[]) {
        if (!isQueue(target.DeadLetterConfig?.Arn, rule.stack)) continue;
        edges.push({
          writer: {
            description: `EventBridge rule ${rule.stack.name}/${rule.id}`,
            service: 'events.amazonaws.com',
            context: { 'aws:SourceArn': env.attribute(rule, 'Arn') },
          },
          resource: what,
          key,
          actions: PUBLISH_KEY_ACTIONS,
        });
      }
    }
    // Senders that act with a role: the schedule's execution role, a function's execution role.
    for (const schedule of env.all('AWS::Scheduler::Schedule')) {
      const target = schedule.resource.Properties?.Target as { RoleArn: Json; DeadLetterConfig?: { Arn?: Json } };
      if (!isQueue(target.DeadLetterConfig?.Arn, schedule.stack)) continue;
      const role = env.role(target.RoleArn, schedule.stack);
      edges.push({
        writer: { description: `schedule ${schedule.stack.name}/${schedule.id} role`, role, context: VIA('sqs') },
        resource: what,
        key,
        actions: PUBLISH_KEY_ACTIONS,
      });
    }
    for (const fn of env.all('AWS::Lambda::Function')) {
      const p = fn.resource.Properties ?? {};
      const configs = env
        .all('AWS::Lambda::EventInvokeConfig')
        .filter((c) => env.str(c.resource.Properties?.FunctionName, c.stack) === env.attribute(fn, 'Ref'))
        .map((c) => (c.resource.Properties?.DestinationConfig as { OnFailure?: { Destination?: Json } })?.OnFailure);
      const dlqs = [(p.DeadLetterConfig as { TargetArn?: Json })?.TargetArn, ...configs.map((c) => c?.Destination)];
      if (!dlqs.some((d) => isQueue(d, fn.stack))) continue;
      const role = env.role(p.Role, fn.stack);
      edges.push({
        writer: {
          description: `function ${fn.stack.name}/${fn.id} (failed async invocations)`,
          role,
          context: VIA('sqs'),
        },
        resource: what,
        key,
        actions: PUBLISH_KEY_ACTIONS,
      });
    }
  }

  for (const bucket of env.all('AWS::S3::Bucket')) {
    const key = keyOf(env, bucket);
    if (!key) continue;
    const objects = `${env.attribute(bucket, 'Arn')}/any/object`;
    for (const role of roles) {
      if (
        env.roleStatements(role).some((s) => s.Effect === 'Allow' && statementMatches(s, 's3:PutObject', objects, {}))
      ) {
        edges.push({
          writer: { description: `role ${role.stack.name}/${role.id} (s3:PutObject)`, role, context: VIA('s3') },
          resource: `bucket ${bucket.stack.name}/${bucket.id}`,
          key,
          actions: ['kms:GenerateDataKey'],
        });
      }
    }
  }

  // CloudWatch Logs encrypts for every writer of a log group (Lambda, API Gateway, Step Functions,
  // flow logs, RDS, WAF) with its own service principal, under the group's encryption context.
  const logGroupEdge = (name: string, key: Ref, what: string): Edge => ({
    writer: {
      description: `CloudWatch Logs for ${name}`,
      service: `logs.${REGION}.amazonaws.com`,
      context: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}` },
    },
    resource: what,
    key,
    actions: LOGS_KEY_ACTIONS,
  });
  for (const group of env.all('AWS::Logs::LogGroup')) {
    const key = keyOf(env, group);
    if (key) edges.push(logGroupEdge(env.attribute(group, 'Ref'), key, `log group ${group.stack.name}/${group.id}`));
  }
  // Restored and drill instances' log groups are created at run time with the operations key.
  const opsKey = env
    .all('AWS::KMS::Alias')
    .filter((a) => a.resource.Properties?.AliasName === `alias/crm-${env.name}-ops`)
    .map((a) => env.target(a.resource.Properties?.TargetKeyId, a.stack)!)[0];
  if (opsKey) {
    const restored = `/aws/rds/instance/crm-${env.name}-restore-20260101/postgresql`;
    edges.push(logGroupEdge(restored, opsKey, `run-time log group ${restored}`));
  }
  return edges;
}

/** IAM service prefix of each AWS SDK v3 client package. */
const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-rds': 'rds',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-cloudwatch-logs': 'logs',
  '@aws-sdk/client-ec2': 'ec2',
  '@aws-sdk/client-kms': 'kms',
};

/** ARN patterns of the resource types (Service Authorization Reference) an action must be granted on. */
const R = (service: string, resource: string) => new RegExp(`^arn:aws:${service}:[a-z0-9-]+:\\d{12}:${resource}`);
const RESOURCE_TYPES: Record<string, { readonly all?: RegExp[]; readonly any?: RegExp[] }> = {
  'rds:DescribeDBInstances': { all: [R('rds', 'db:')] },
  'rds:DescribeDBSnapshots': { any: [R('rds', 'db:'), R('rds', 'snapshot:')] },
  'rds:DescribeDBInstanceAutomatedBackups': { all: [R('rds', 'auto-backup:')] },
  'rds:CreateDBSnapshot': { all: [R('rds', 'db:'), R('rds', 'snapshot:')] },
  'rds:DeleteDBSnapshot': { all: [R('rds', 'snapshot:')] },
  'rds:CopyDBSnapshot': { all: [R('rds', 'snapshot:')] },
  'rds:DeleteDBInstance': { all: [R('rds', 'db:')] },
  'rds:RestoreDBInstanceFromDBSnapshot': {
    all: [R('rds', 'db:'), R('rds', 'snapshot:'), R('rds', 'subgrp:'), R('rds', 'pg:'), R('rds', 'og:')],
  },
  'rds:RestoreDBInstanceToPointInTime': {
    all: [R('rds', 'db:'), R('rds', 'subgrp:'), R('rds', 'pg:'), R('rds', 'og:')],
  },
  'rds:ModifyDBInstance': { all: [R('rds', 'db:')] },
  'rds:AddTagsToResource': { any: [R('rds', 'db:'), R('rds', 'snapshot:')] },
  'rds:ListTagsForResource': { any: [R('rds', 'db:'), R('rds', 'snapshot:')] },
  'rds-db:connect': { all: [R('rds-db', 'dbuser:')] },
  'sns:Publish': { all: [R('sns', '')] },
  'states:StartExecution': { all: [R('states', 'stateMachine:')] },
  'states:ListExecutions': { all: [R('states', 'stateMachine:')] },
  'states:DescribeStateMachine': { all: [R('states', 'stateMachine:')] },
  's3:PutObject': { all: [/^arn:aws:s3:::[^/]+\/.+/] },
  'secretsmanager:GetSecretValue': { all: [R('secretsmanager', 'secret:')] },
  'ec2:DescribeSecurityGroupRules': { all: [/^\*$/] },
  'ec2:RevokeSecurityGroupEgress': { all: [R('ec2', 'security-group/')] },
  'ec2:RevokeSecurityGroupIngress': { all: [R('ec2', 'security-group/')] },
  // CloudWatch Logs authorises every action but tagging against `log-group:<name>:*`; a grant on
  // the bare `log-group:<name>` never matches.
  'logs:CreateLogGroup': { all: [R('logs', 'log-group:.+:\\*$')] },
  'logs:PutRetentionPolicy': { all: [R('logs', 'log-group:.+:\\*$')] },
  'logs:DeleteLogGroup': { all: [R('logs', 'log-group:.+:\\*$')] },
  'logs:DescribeLogGroups': { all: [/^\*$/] },
  'cloudwatch:PutMetricData': { all: [/^\*$/] },
};

/**
 * Calls a bundle contains but its function never makes, with the reason (tree-shaking cannot see
 * a branch on a runtime value). Keyed by the function's entry source; `unlessEnv` limits the
 * exception to functions without that environment variable (the feature switched off).
 */
const NOT_CALLED: Record<string, { actions: string[]; unlessEnv?: string; reason: string }[]> = {
  'lambda/drill/handler.ts': [
    {
      actions: ['states:StartExecution'],
      reason:
        "the shared restore core starts verification only in operator mode; the drill runs it in 'drill' mode and its own state machine verifies",
    },
  ],
  'lambda/migrate/handler.ts': [
    {
      actions: ['rds:CreateDBSnapshot', 'rds:DescribeDBSnapshots'],
      unlessEnv: 'SNAPSHOT_BEFORE_MIGRATION',
      reason: 'the pre-migration snapshot runs only with database.migration.snapshotBeforeMigration',
    },
  ],
};

interface ApiCall {
  readonly action: string;
  readonly source: string;
}

/** The project sources (`lambda/...`) a bundle was built from. */
function projectSources(assetDir: string): string[] {
  const map = JSON.parse(fs.readFileSync(path.join(assetDir, 'index.js.map'), 'utf8')) as { sources: string[] };
  return map.sources.filter((s) => !s.includes('node_modules')).map((s) => s.slice(s.lastIndexOf('lambda/')));
}

/** The IAM actions a bundle's project sources call, from the sources embedded in its source map. */
function apiCallsOf(assetDir: string): ApiCall[] {
  const map = JSON.parse(fs.readFileSync(path.join(assetDir, 'index.js.map'), 'utf8')) as {
    sources: string[];
    sourcesContent: string[];
  };
  // esbuild tree-shakes: an import whose code is not in the bundle is never called. The SDK
  // clients are external modules, so their class names survive minification as property names.
  const bundle = fs.readFileSync(path.join(assetDir, 'index.js'), 'utf8');
  const calls: ApiCall[] = [];
  map.sources.forEach((source, i) => {
    if (source.includes('node_modules')) return;
    const file = source.slice(source.lastIndexOf('lambda/'));
    const text = map.sourcesContent[i];
    for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"](@aws-sdk\/[a-z0-9-]+)['"]/g)) {
      const names = m[1]
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n && !n.startsWith('type '))
        .map((n) => n.split(/\s+as\s+/)[0]);
      if (m[2] === '@aws-sdk/rds-signer') {
        if (names.includes('Signer')) calls.push({ action: 'rds-db:connect', source: file });
        continue;
      }
      const prefix = SERVICE_PREFIX[m[2]];
      for (const n of names) {
        const command = /^(\w+)Command$/.exec(n)?.[1] ?? /^paginate(\w+)$/.exec(n)?.[1];
        if (!command || !new RegExp(`\\b${n}\\b`).test(bundle)) continue;
        if (!prefix) throw new Error(`${file}: add the IAM prefix of ${m[2]} to SERVICE_PREFIX`);
        calls.push({ action: `${prefix}:${command}`, source: file });
      }
    }
  });
  return calls;
}

function synthEnvironment(config: EnvironmentConfig): Environment {
  const name = config.name;
  const app = new App();
  const stage = new CrmStage(app, `crm-${name}`, { config, env: TEST_ENV });
  const assembly = stage.synth();
  return new Environment(
    name,
    assembly.stacks.map((s) => ({ name: s.stackName, template: s.template })),
    (hash) => path.join(app.outdir, `asset.${hash}`),
  );
}

/** Every shipped environment, and dev with the optional features on (their writers only exist then). */
const CASES: [string, () => EnvironmentConfig][] = [
  ...Object.keys(ENVIRONMENTS).map((name): [string, () => EnvironmentConfig] => [
    name,
    () => validateConfig(name, structuredClone(ENVIRONMENTS[name as keyof typeof ENVIRONMENTS])),
  ]),
  [
    'dev with a cross-region snapshot copy',
    () =>
      testConfig('dev', (c) => {
        c.backup.crossRegionCopy = {
          region: 'eu-central-1',
          kmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        };
      }),
  ],
];

describe.each(CASES)('permission graph of %s', (_label, config) => {
  let env: Environment;
  beforeAll(() => {
    env = synthEnvironment(config());
  });

  it('lets every writer of an encrypted topic, queue, log group or bucket use its key', () => {
    const edges = writerEdges(env);
    const missing = edges.flatMap((e) =>
      e.actions
        .filter((a) => !keyUseAllowed(env, e.key, e.writer, a))
        .map((a) => `${e.writer.description} -> ${e.resource}: ${a} on key ${e.key.stack.name}/${e.key.id}`),
    );
    // The graph is not empty: each kind of writer is present in every environment.
    expect(edges.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it("grants every Lambda's role the AWS API calls its bundled code makes, on the right resource type", () => {
    const functions = env
      .all('AWS::Lambda::Function')
      .map((fn) => {
        const code = fn.resource.Properties?.Code as { S3Key?: string };
        return { fn, dir: code.S3Key ? env.assetDir(code.S3Key.replace(/\.zip$/, '')) : undefined };
      })
      .filter(({ dir }) => dir && fs.existsSync(path.join(dir, 'index.js.map')));
    const table: string[] = [];
    const missing: string[] = [];
    for (const { fn, dir } of functions) {
      const variables = ((fn.resource.Properties?.Environment as { Variables?: Record<string, Json> })?.Variables ??
        {}) as Record<string, Json>;
      const environment = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, env.str(v, fn.stack)]));
      const statements = env
        .roleStatements(env.role(fn.resource.Properties?.Role, fn.stack))
        .filter((s) => s.Effect === 'Allow');
      const sources = projectSources(dir!);
      const notCalled = Object.entries(NOT_CALLED)
        .filter(([entry]) => sources.includes(entry))
        .flatMap(([, exceptions]) => exceptions)
        .filter((e) => e.unlessEnv === undefined || environment[e.unlessEnv] === undefined)
        .flatMap((e) => e.actions);
      const actions = [...new Set(apiCallsOf(dir!).map((c) => c.action))].filter((a) => !notCalled.includes(a)).sort();
      table.push(`${fn.id}: ${actions.join(', ') || '(none)'}`);
      for (const action of actions) {
        const types = RESOURCE_TYPES[action];
        if (!types) {
          missing.push(`${fn.id}: ${action} has no resource types in RESOURCE_TYPES (add them from the SAR)`);
          continue;
        }
        const granted = statements
          .filter((s) => asArray(s.Action).some((a) => glob(a).test(action)))
          .flatMap((s) => asArray(s.Resource as string | string[]));
        const covers = (type: RegExp) => granted.some((r) => r === '*' || type.test(r));
        const ok = types.all ? types.all.every(covers) : (types.any ?? []).some(covers);
        if (!ok) missing.push(`${fn.id}: ${action} (granted on: ${granted.join(' ') || 'nothing'})`);
      }
    }
    // Every project function was found and read (none silently skipped).
    expect(functions.length).toBeGreaterThanOrEqual(6);
    expect(table.some((row) => row.includes('rds:CreateDBSnapshot'))).toBe(true);
    expect(missing).toEqual([]);
  });
});
