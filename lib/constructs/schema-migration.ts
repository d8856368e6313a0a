import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { loadMigrations, migrationsHash } from '../../lambda/migrate/migrations';
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
    // Validates numbering at synth too: a gap or duplicate fails `cdk synth`, not the deployment.
    this.migrationsHash = migrationsHash(loadMigrations());

    this.handler = new CrmFunction(this, 'Handler', {
      entry: 'lambda/migrate/handler.ts',
      description: 'Applies the CRM schema migrations at deploy time (custom resource)',
      vpc: props.vpc,
      memorySize: 512,
      timeout: MIGRATION_TIMEOUT,
      reservedConcurrentExecutions: 1,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      copyIntoBundle: [{ from: 'lambda/migrate/migrations', to: 'migrations' }],
      environment: {
        DB_SECRET_ARN: database.secret.secretArn,
        DB_HOST: database.instance.dbInstanceEndpointAddress,
        DB_PORT: String(database.port),
        DB_NAME: database.databaseName,
        MIGRATION_LOCK_TIMEOUT_MS: String(props.lockTimeoutMs),
        MIGRATION_STATEMENT_TIMEOUT_MS: String(props.statementTimeoutMs),
      },
      // No retries: CloudFormation already reports a failure and the next deploy retries.
      retryAttempts: 0,
    });
    database.secret.grantRead(this.handler.role);
    database.allowFrom(this.handler, 'schema migrations');

    const provider = new CrmProvider(this, 'Provider', {
      onEventHandler: this.handler.function,
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
  }

  /** Schema version after the deployment (the custom resource's `CurrentVersion`). */
  public get currentVersion(): string {
    return this.resource.getAttString('CurrentVersion');
  }
}
