import { ArnFormat, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { formatFindings, lintMigrations } from '../../lambda/migrate/lint';
import { loadMigrations, type Migration, migrationsHash } from '../../lambda/migrate/migrations';
import { acknowledge, nagArn } from '../compliance';
import type { CrmDatabase } from './crm-database';
import { CrmFunction } from './crm-function';
import { CrmProvider } from './crm-provider';

export interface SchemaMigrationProps {
  readonly vpc: ec2.IVpc;
  readonly database: CrmDatabase;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** `SET LOCAL lock_timeout` for each migration. */
  readonly lockTimeoutMs: number;
  /** `SET LOCAL statement_timeout` for each migration (also capped by the function's time left). */
  readonly statementTimeoutMs: number;
  /**
   * Take a managed snapshot (and wait until it is available) before applying pending migrations.
   * @default false
   */
  readonly snapshotBeforeMigration?: boolean;
  /** Environment name, for the snapshot's tags. Required with `snapshotBeforeMigration`. */
  readonly environmentName?: string;
}

/**
 * The migrations, once they pass the lint (lambda/migrate/lint.ts); otherwise throws, naming each
 * finding as file:line [rule], so `cdk synth` fails before anything is deployed. The deploy-time
 * runner lints the pending ones again before it applies anything.
 */
export function checkedMigrations(migrations: readonly Migration[]): readonly Migration[] {
  const findings = lintMigrations(migrations);
  if (findings.length > 0) {
    throw new Error(
      `SchemaMigration: ${findings.length} migration lint finding${findings.length === 1 ? '' : 's'} ` +
        `(see docs/migrations.md, "The lint"):\n${formatFindings(findings)}`,
    );
  }
  return migrations;
}

/** How long one deployment may spend migrating; well under CloudFormation's one-hour limit. */
export const MIGRATION_TIMEOUT = Duration.minutes(12);

/**
 * Applies the schema migrations at `cdk deploy`: a custom resource whose properties carry the
 * hash of every migration file, so it runs on Create and whenever a migration is added, and on
 * nothing else. The handler connects straight to the instance (not the proxy: it holds an
 * advisory lock for the whole run) over verified TLS as the master user. Delete is a no-op.
 */
export class SchemaMigration extends Construct {
  public readonly handler: CrmFunction;
  public readonly resource: CustomResource;
  /** Hash of the bundled migrations; changes exactly when a migration file does. */
  public readonly migrationsHash: string;

  constructor(scope: Construct, id: string, props: SchemaMigrationProps) {
    super(scope, id);
    if (props.statementTimeoutMs >= MIGRATION_TIMEOUT.toMilliseconds()) {
      throw new Error(
        `SchemaMigration: statementTimeoutMs must be below the function timeout (${MIGRATION_TIMEOUT.toMilliseconds()} ms), got ${props.statementTimeoutMs}`,
      );
    }
    const { database } = props;
    // Validates numbering and lints at synth too: a gap, a duplicate or a lint finding fails
    // `cdk synth`, not the deployment.
    this.migrationsHash = migrationsHash(checkedMigrations(loadMigrations()));

    const snapshot = props.snapshotBeforeMigration ?? false;
    if (snapshot && !props.environmentName) {
      throw new Error('SchemaMigration: environmentName is required with snapshotBeforeMigration');
    }
    const snapshotEnv: Record<string, string> = snapshot
      ? {
          SNAPSHOT_BEFORE_MIGRATION: 'true',
          DB_INSTANCE_ID: database.instanceIdentifier,
          // The project's snapshot prefix: retention prunes these like the scheduled ones.
          SNAPSHOT_PREFIX: database.instanceIdentifier,
          ENVIRONMENT: props.environmentName!,
        }
      : {};
    const environment: Record<string, string> = {
      DB_SECRET_ARN: database.secret.secretArn,
      DB_HOST: database.instance.dbInstanceEndpointAddress,
      DB_PORT: String(database.port),
      DB_NAME: database.databaseName,
      MIGRATION_LOCK_TIMEOUT_MS: String(props.lockTimeoutMs),
      MIGRATION_STATEMENT_TIMEOUT_MS: String(props.statementTimeoutMs),
      ...snapshotEnv,
    };
    // onEvent and (with the snapshot) isComplete: the same bundle, the same reach, other exports.
    const migrationFunction = (id: string, handler: string, description: string, reason: string): CrmFunction => {
      const fn = new CrmFunction(this, id, {
        entry: 'lambda/migrate/handler.ts',
        handler,
        description,
        vpc: props.vpc,
        memorySize: 512,
        timeout: MIGRATION_TIMEOUT,
        reservedConcurrentExecutions: 1,
        encryptionKey: props.encryptionKey,
        logRetention: props.logRetention,
        copyIntoBundle: [{ from: 'lambda/migrate/migrations', to: 'migrations' }],
        environment,
        // No retries: CloudFormation already reports a failure and the next deploy retries.
        retryAttempts: 0,
      });
      database.secret.grantRead(fn.role);
      database.allowFrom(fn, reason);
      return fn;
    };
    this.handler = migrationFunction(
      'Handler',
      'handler',
      'Applies the CRM schema migrations at deploy time (custom resource)',
      'schema migrations',
    );

    let isComplete: CrmFunction | undefined;
    if (snapshot) {
      isComplete = migrationFunction(
        'IsCompleteHandler',
        'isComplete',
        'Waits for the pre-migration snapshot, then applies the CRM schema migrations',
        'schema migrations after the snapshot',
      );
      this.grantPreMigrationSnapshot(this.handler, database);
      this.grantPreMigrationSnapshot(isComplete, database);
    }

    const provider = new CrmProvider(this, 'Provider', {
      onEventHandler: this.handler.function,
      isCompleteHandler: isComplete?.function,
      vpc: props.vpc,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SchemaMigration',
      properties: { MigrationsHash: this.migrationsHash },
    });
    // The rules that let the handler reach the database must exist before it runs.
    this.resource.node.addDependency(database.securityGroup, this.handler.securityGroup, database.instance);
    if (isComplete) this.resource.node.addDependency(isComplete.securityGroup);
  }

  /** Create, tag and read the pre-migration snapshot: this instance, this project's snapshot names. */
  private grantPreMigrationSnapshot(fn: CrmFunction, database: CrmDatabase): void {
    const stack = Stack.of(this);
    const rds = (resource: string, name: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const snapshots = rds('snapshot', `${database.instanceIdentifier}-premigration-*`);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds:CreateDBSnapshot'],
        resources: [rds('db', database.instanceIdentifier), snapshots],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['rds:AddTagsToResource'], resources: [snapshots] }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['rds:DescribeDBSnapshots'], resources: [snapshots] }),
    );
    acknowledge(
      fn.role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'rds', `snapshot:${database.instanceIdentifier}-premigration-*`)}]`,
      'Pre-migration snapshot names carry the schema versions and the time; the grant covers only those of this instance and never allows deletion.',
    );
  }

  /** Schema version after the deployment (the custom resource's `CurrentVersion`). */
  public get currentVersion(): string {
    return this.resource.getAttString('CurrentVersion');
  }
}
