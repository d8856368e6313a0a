/**
 * Runs what is deployed: the state machine definitions from the SYNTHESISED Ops template, executed
 * by a real Amazon States Language interpreter (aws-local-stepfunctions), whose Lambda tasks invoke
 * the SYNTHESISED, MINIFIED bundles from the cloud assembly (the asset folder each
 * AWS::Lambda::Function's Code points at) with the function's Environment from the template.
 *
 * Only AWS calls are faked (aws-sdk-client-mock in the test files: the bundles keep the AWS SDK
 * clients external, as the Lambda runtime provides them, so they load the very classes the tests
 * patch). A function error reaches the interpreter as Lambda reports it to Step Functions: the
 * errorType is the thrown error's `name` (what the Node.js runtime puts in `errorType`), so Retry
 * and Catch match exactly as they would in AWS.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { PROJECT_ROOT } from '../../lib/constructs/crm-function';
import { synthStage, TEST_ENV, testConfig } from '../infra/fixtures';

// aws-local-stepfunctions targets Node >= 22 and calls Promise.withResolvers (Node 22+); Lambda
// runs Node 24, this machine Node 20. The shim only backs the interpreter's own timeout race.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= () => {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** The interpreter's event log entries (the type is not exported by name). */
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Resource = { Type: string; Properties?: Record<string, unknown> };
export interface TemplateJson {
  Resources: Record<string, Resource>;
}

const { account, region } = TEST_ENV;
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': region,
  'AWS::AccountId': account,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'crm-prod-Ops',
};

/** The ARN CloudFormation would give a resource (`Ref` or `Fn::GetAtt Arn`), with its logical ID as name. */
export function fakeArn(template: TemplateJson, logicalId: string): string {
  const type = template.Resources[logicalId]?.Type;
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${account}:function:${logicalId}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${region}:${account}:${logicalId}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${region}:${account}:${logicalId}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${region}:${account}:stateMachine:${logicalId}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${region}:${account}:key/${logicalId}`;
    case 'AWS::S3::Bucket':
      return logicalId.toLowerCase();
    default:
      throw new Error(`no fake ARN for ${logicalId} (${type ?? 'not in this template'})`);
  }
}

/** An export of another stack, as a plausible value (secrets become secret ARNs). */
function fakeImport(name: string): string {
  const id = name.replace(/[^A-Za-z0-9-]/g, '-');
  if (/Secret/.test(name)) return `arn:aws:secretsmanager:${region}:${account}:secret:${id}-AbCdEf`;
  return `imported-${id}`;
}

/** Resolves the CloudFormation intrinsics that appear in definitions and environments to strings. */
export function resolveTokens(template: TemplateJson, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return PSEUDO[v.Ref] ?? fakeArn(template, v.Ref);
  if (Array.isArray(v['Fn::GetAtt'])) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    if (attr !== 'Arn') throw new Error(`cannot resolve Fn::GetAtt ${id}.${attr}`);
    return fakeArn(template, id);
  }
  if (typeof v['Fn::ImportValue'] === 'string') return fakeImport(v['Fn::ImportValue']);
  if (Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveTokens(template, p)).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

export interface SynthesisedOps {
  readonly template: TemplateJson;
  /** The cloud assembly folder, holding the bundled assets. */
  readonly assemblyDir: string;
  /** Deletes the cloud assembly. */
  cleanup(): void;
}

/**
 * Synthesises the prod stage into a folder under the project's cdk.out/ (so the bundles resolve
 * the external AWS SDK clients from this project's node_modules, as the Lambda runtime provides
 * them) and returns the Ops template.
 */
export function synthesiseOps(): SynthesisedOps {
  const base = join(PROJECT_ROOT, 'cdk.out');
  mkdirSync(base, { recursive: true });
  const assemblyDir = join(base, `e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const saved = process.env.CDK_OUTDIR;
  process.env.CDK_OUTDIR = assemblyDir;
  try {
    const { templates } = synthStage(testConfig('prod'));
    return {
      template: templates.ops.toJSON() as TemplateJson,
      assemblyDir,
      cleanup: () => rmSync(assemblyDir, { recursive: true, force: true }),
    };
  } finally {
    if (saved === undefined) delete process.env.CDK_OUTDIR;
    else process.env.CDK_OUTDIR = saved;
  }
}

/** The ASL of the state machine named `name`, tokens resolved to fake ARNs. */
export function definitionOf(ops: SynthesisedOps, name: string): StateMachineDefinition {
  const entry = Object.values(ops.template.Resources).find(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties?.StateMachineName === name,
  );
  if (!entry) throw new Error(`no state machine ${name} in the Ops template`);
  return JSON.parse(resolveTokens(ops.template, entry.Properties!.DefinitionString)) as StateMachineDefinition;
}

/** An error as Step Functions sees a failed Lambda invocation: `name` is the runtime's errorType. */
export class LambdaFunctionError extends Error {
  constructor(errorType: string, errorMessage: string) {
    super(errorMessage);
    this.name = errorType;
  }
}

/** Variables the Lambda runtime sets for every function (and quiet Powertools for the test output). */
const RUNTIME_ENV: Record<string, string> = {
  AWS_REGION: region,
  AWS_DEFAULT_REGION: region,
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** One synthesised function: its bundle, handler and environment from the template. */
export class BundledFunction {
  readonly arn: string;
  readonly env: Record<string, string>;
  readonly invocations: { event: unknown; errorType?: string }[] = [];
  private readonly entry: string;
  private readonly exportName: string;
  private module?: Record<string, (event: unknown, context: unknown) => Promise<unknown>>;

  /** @param overrides test-machine substitutions (a CA bundle path, the test database name) */
  constructor(
    ops: SynthesisedOps,
    readonly logicalId: string,
    overrides: Record<string, string> = {},
  ) {
    const resource = ops.template.Resources[logicalId];
    if (resource?.Type !== 'AWS::Lambda::Function') throw new Error(`${logicalId} is not a Lambda function`);
    const props = resource.Properties!;
    const key = (props.Code as { S3Key: string }).S3Key;
    const assetDir = join(ops.assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
    const [file, exportName] = String(props.Handler).split('.');
    this.entry = join(assetDir, `${file}.js`);
    if (!existsSync(this.entry)) throw new Error(`${logicalId}: no bundle at ${this.entry}`);
    this.exportName = exportName;
    this.arn = fakeArn(ops.template, logicalId);
    const variables = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    this.env = {
      ...RUNTIME_ENV,
      AWS_LAMBDA_FUNCTION_NAME: logicalId,
      LAMBDA_TASK_ROOT: assetDir,
      _HANDLER: String(props.Handler),
      ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolveTokens(ops.template, v)])),
      ...overrides,
    };
    delete this.env.NODE_OPTIONS;
  }

  /** Invokes the handler as Lambda does: JSON in, JSON out, the function's environment set. */
  async invoke(event: unknown): Promise<Json> {
    const saved = { ...process.env };
    Object.assign(process.env, this.env);
    try {
      // Cold start on first use: module scope reads the environment, as in Lambda.
      this.module ??= require(this.entry);
      const handler = this.module![this.exportName];
      const result = await handler(JSON.parse(JSON.stringify(event ?? null)), {
        functionName: this.logicalId,
        awsRequestId: `req-${this.invocations.length + 1}`,
        getRemainingTimeInMillis: () => 60_000,
      });
      this.invocations.push({ event });
      return JSON.parse(JSON.stringify(result ?? null)) as Json;
    } catch (err) {
      // The Node.js runtime reports errorType = error.name, errorMessage = error.message.
      const e = err instanceof Error ? err : new Error(String(err));
      this.invocations.push({ event, errorType: e.name });
      throw new LambdaFunctionError(e.name, e.message);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }
}

export interface SnsPublish {
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
}

export interface ExecutionOutcome {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: Record<string, unknown>;
  /** The Error of a failed execution (the Fail state's `Error`, or the unhandled error's name). */
  readonly error?: string;
  /** States in the order they were entered. */
  readonly path: readonly string[];
  /** [state, errorType] for every retry the interpreter made. */
  readonly retries: readonly [string, string][];
  readonly events: readonly EventLog[];
  /** Messages the `arn:aws:states:::sns:publish` tasks sent. */
  readonly published: readonly SnsPublish[];
}

export interface RunOptions {
  /** Task resolvers for Lambda functions, by ARN (every Lambda task must have one). */
  readonly functions: readonly BundledFunction[];
  /** Called after each task, e.g. to bring a database up after the first attempt. */
  readonly afterTask?: (state: string, failed: boolean) => void | Promise<void>;
}

/**
 * Executes `definition` with every Task resolved locally: Lambda ARNs by the bundled functions,
 * sns:publish by capturing the message (the SNS Publish response shape is returned). Waits and
 * retry intervals are overridden to zero through the interpreter's options; the definition itself
 * is run as synthesised.
 */
export async function execute(
  definition: StateMachineDefinition,
  input: Record<string, unknown>,
  opts: RunOptions,
): Promise<ExecutionOutcome> {
  const byArn = new Map(opts.functions.map((f) => [f.arn, f]));
  const published: SnsPublish[] = [];
  const taskResourceLocalHandlers: Record<string, (input: Json) => Promise<Json>> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if ('Retry' in state && state.Retry) retryIntervalOverrides[name] = 0;
    if (state.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (state.Type !== 'Task') continue;
    const resource = (state as { Resource: string }).Resource;
    let run: (input: Json) => Promise<Json>;
    if (resource === 'arn:aws:states:::sns:publish') {
      run = async (params) => {
        const p = params as { TopicArn: string; Subject?: string; Message: unknown };
        // SNS Publish: Message is a required string (API reference); anything else is InvalidParameter.
        if (typeof p.Message !== 'string' || typeof p.TopicArn !== 'string') {
          throw new LambdaFunctionError('SNS.InvalidParameterException', 'Invalid parameter: Message must be a string');
        }
        published.push({ ...p, Message: p.Message });
        return {
          MessageId: `95df01b4-ee98-5cb9-9903-4c221d41eb5e-${published.length}`,
          SdkHttpMetadata: { HttpStatusCode: 200 },
          SdkResponseMetadata: { RequestId: 'f187a3c1-376f-11df-8963-01868b7c937a' },
        };
      };
    } else {
      const fn = byArn.get(resource);
      if (!fn) throw new Error(`state ${name}: no resolver for resource ${resource}`);
      run = (event) => fn.invoke(event);
    }
    taskResourceLocalHandlers[name] = async (event) => {
      let failed = false;
      try {
        return await run(event);
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        await opts.afterTask?.(name, failed);
      }
    };
  }

  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input as Json as never, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
  });
  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const e of execution.eventLogs) events.push(e);
  })();
  let outcome: Pick<ExecutionOutcome, 'status' | 'output' | 'error'>;
  try {
    const output = (await execution.result) as Record<string, unknown>;
    outcome = { status: 'SUCCEEDED', output };
  } catch (err) {
    if (!(err instanceof ExecutionError)) throw err;
    outcome = { status: 'FAILED', error: (err.cause as Error).name };
  }
  await collecting;
  const retries: [string, string][] = [];
  const lastFailure = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'StateFailed') lastFailure.set(e.state.name, e.Error);
    if (e.type === 'StateRetried') retries.push([e.state.name, lastFailure.get(e.state.name) ?? '?']);
  }
  return {
    ...outcome,
    path: events.flatMap((e) => (e.type === 'StateEntered' ? [e.state.name] : [])),
    retries,
    events,
    published,
  };
}
