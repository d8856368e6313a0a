import * as path from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge } from '../compliance';
import { createDeadLetterQueue } from './dead-letter-queue';
import { acknowledgeFunctionPolicy, acknowledgeImportedVpc, FunctionRole } from './function-role';

/**
 * Node context key the stage sets from config `lambda.reservedConcurrency`: with `false`, functions
 * reserve no concurrency (accounts whose limit cannot hold the reservations, see
 * docs/runbooks/prerequisites.md). Set by CrmStage on itself, so CLI context cannot override it.
 */
export const RESERVED_CONCURRENCY_CONTEXT = 'crm:lambda.reservedConcurrency';

/** Whether functions under `scope` reserve concurrency (the default), and acknowledge it on `fn` when not. */
export function reservesConcurrency(scope: IConstruct, fn?: IConstruct): boolean {
  const reserve = scope.node.tryGetContext(RESERVED_CONCURRENCY_CONTEXT) !== false;
  if (!reserve && fn) {
    acknowledge(
      fn,
      'NIST.800.53.R5-LambdaConcurrency',
      'config lambda.reservedConcurrency is false for this environment: its account cannot hold the reservations (docs/runbooks/prerequisites.md); the database is still protected by the RDS Proxy connection cap.',
    );
  }
  return reserve;
}

/** Repository root, so entries can be given relative to it (`lambda/<name>/handler.ts`). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export interface CrmFunctionProps {
  /** Handler file, relative to the project root, e.g. `lambda/migrate/handler.ts`. */
  readonly entry: string;
  /** Exported handler name in the entry file. @default 'handler' */
  readonly handler?: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** VPC the function runs in. */
  readonly vpc: ec2.IVpc;
  /** @default - private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Memory in MiB (explicit: no function runs on the default). */
  readonly memorySize: number;
  /** Timeout (explicit: no function runs on the default). */
  readonly timeout: Duration;
  /** Reserved concurrency: caps what one function can take from the account and the database. */
  readonly reservedConcurrentExecutions: number;
  /** Key for the log group, the dead-letter queue and environment variables. */
  readonly encryptionKey: kms.IKey;
  /** Log retention. */
  readonly logRetention: logs.RetentionDays;
  /** Environment variables (never secrets: pass ARNs and fetch at run time). */
  readonly environment?: Record<string, string>;
  /**
   * Files or folders copied next to the bundle, relative to the project root
   * (e.g. the migration SQL files), as `{ from, to }`.
   * @default - none
   */
  readonly copyIntoBundle?: ReadonlyArray<{ readonly from: string; readonly to: string }>;
  /**
   * Allow HTTPS egress to the internet through NAT, for AWS APIs without a VPC endpoint here.
   * Every other function reaches AWS only through the VPC endpoints.
   * @default false
   */
  readonly allowHttpsToInternet?: boolean;
  /** @default 1 (Lambda's own retry count for asynchronous invocations) */
  readonly retryAttempts?: number;
  /** How long Lambda keeps an asynchronous event for retries. @default 6 hours (Lambda's maximum) */
  readonly maxEventAge?: Duration;
}

/**
 * Every Lambda of this project: esbuild-bundled locally, ARM64, the newest Node.js runtime in
 * aws-cdk-lib, in private subnets with its own security group (no egress but HTTPS to the VPC
 * endpoints unless more is granted through `connections`), explicit memory, timeout and reserved
 * concurrency, X-Ray tracing, a KMS-encrypted log group with retention and a KMS-encrypted
 * dead-letter queue for asynchronous invocations.
 */
export class CrmFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly logGroup: logs.LogGroup;
  public readonly role: FunctionRole;

  constructor(scope: Construct, id: string, props: CrmFunctionProps) {
    super(scope, id);
    if (!Number.isInteger(props.memorySize) || props.memorySize < 128 || props.memorySize > 10240) {
      throw new Error(
        `CrmFunction ${id}: memorySize must be an integer between 128 and 10240 (got ${props.memorySize})`,
      );
    }
    if (props.timeout.toSeconds() < 1 || props.timeout.toSeconds() > 900) {
      throw new Error(
        `CrmFunction ${id}: timeout must be between 1 and 900 seconds (got ${props.timeout.toSeconds()})`,
      );
    }
    if (!Number.isInteger(props.reservedConcurrentExecutions) || props.reservedConcurrentExecutions < 1) {
      throw new Error(
        `CrmFunction ${id}: reservedConcurrentExecutions must be a positive integer (got ${props.reservedConcurrentExecutions})`,
      );
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${id} function: egress only to what it is granted`,
      allowAllOutbound: false,
    });
    // Interface endpoints listen on 443 inside the VPC; the S3 gateway endpoint is a prefix list.
    this.securityGroup.addEgressRule(
      ec2.Peer.ipv4(props.vpc.vpcCidrBlock),
      ec2.Port.tcp(443),
      'HTTPS to the VPC interface endpoints',
    );
    if (props.allowHttpsToInternet) {
      this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs through NAT');
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetterQueue = createDeadLetterQueue(this, 'DeadLetterQueue', {
      encryptionKey: props.encryptionKey,
      deadLetterOf: 'the function',
    });

    this.role = new FunctionRole(this, 'Role', {
      description: `${id} function`,
      logGroupArn: this.logGroup.logGroupArn,
    });

    const copies = props.copyIntoBundle ?? [];
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: reservesConcurrency(this) ? props.reservedConcurrentExecutions : undefined,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      allowPublicSubnet: false,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role: this.role,
      deadLetterQueue: this.deadLetterQueue,
      environmentEncryption: props.encryptionKey,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: id,
        ...props.environment,
      },
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: props.retryAttempts ?? 1,
      maxEventAge: props.maxEventAge,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        minify: true,
        // Minified names would turn `class DatabaseUnavailableError` into `Wg`; error names are the
        // errorType Step Functions retries on (contracts/errors.ts), and logs should name classes.
        keepNames: true,
        sourceMap: true,
        target: 'node24',
        format: nodejs.OutputFormat.CJS,
        forceDockerBundling: false,
        // Errors and warnings only: the size table on every synth buries what matters.
        logLevel: nodejs.LogLevel.WARNING,
        // The runtime ships the AWS SDK v3 service clients; bundling them would only grow cold
        // starts. Utilities such as @aws-sdk/rds-signer are not guaranteed to be there, so they are
        // bundled. pg optionally requires pg-native, which this project does not use.
        externalModules: ['@aws-sdk/client-*', 'pg-native'],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) =>
            copies.map(({ from, to }) => `cp -r "${path.join(inputDir, from)}" "${path.join(outputDir, to)}"`),
        },
      },
    });
    acknowledgeFunctionPolicy(this.role, this.logGroup);
    acknowledgeImportedVpc(this.function, props.vpc);
    reservesConcurrency(this, this.function);
  }

  /** The function's connections, for `allowTo` / `allowDefaultPortTo` grants. */
  public get connections(): ec2.Connections {
    return this.function.connections;
  }
}
