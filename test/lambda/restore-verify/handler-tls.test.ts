/**
 * The verify handler end to end, as Lambda runs it: environment at cold start, the master secret
 * from (faked) Secrets Manager, a verify-full TLS connection to the "restored" database — the test
 * run's PostgreSQL 18, which serves a certificate from a throw-away CA given as DB_CA_BUNDLE —
 * the checks against the real migrations, and the report to (faked) SNS.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { runMigrations } from '../../../lambda/migrate/runner';
import type { VerificationReport } from '../../../lambda/restore-verify/verify';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { coldStart, QUIET_LAMBDA_ENV } from '../cold-start';
import { SECRET_ARN, TARGET, TOPIC_ARN, verifyEvent } from './fixtures';

const caFile = process.env.TEST_TLS_CA_FILE;
// Skipped only when the openssl CLI was missing at globalSetup (it ships with this project's machines).
const describeTls = caFile ? describe : describe.skip;

const smMock = mockClient(SecretsManagerClient);
const snsMock = mockClient(SNSClient);

let db: TestDatabase;
let url: URL;
let fn: ReturnType<typeof coldStart<{ handler: (event: unknown) => Promise<VerificationReport> }>>;

const event = () =>
  verifyEvent(
    { restoredFrom: 'crm-prod-20261127-0300', restoreStartedAt: new Date(Date.now() - 20 * 60_000).toISOString() },
    { address: 'localhost', port: Number(url.port) },
  );

describeTls('restore-verify handler over verified TLS', () => {
  beforeAll(async () => {
    db = await createTestDatabase('crm_verify_tls');
    url = new URL(db.url);
    await runMigrations(db.pool, { appliedBy: 'test' });
    fn = coldStart('lambda/restore-verify/handler', {
      ...QUIET_LAMBDA_ENV,
      DB_SECRET_ARN: SECRET_ARN,
      DB_NAME: db.name,
      VERIFY_TOPIC_ARN: TOPIC_ARN,
      METRICS_NAMESPACE: 'CRM/prod',
      DB_CA_BUNDLE: caFile,
    });
  });
  afterAll(async () => {
    fn.restoreEnv();
    await db.drop();
  });
  beforeEach(() => {
    smMock.reset();
    snsMock.reset();
    smMock.on(GetSecretValueCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'crm-prod-db-master',
      // The restored instance keeps the master credentials of the snapshot.
      SecretString: JSON.stringify({
        engine: 'postgres',
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        dbname: 'crm',
      }),
    });
    snsMock.on(PublishCommand).resolves({ MessageId: '9b6d2f0e-5c6a-5d8e-9a1b-3c4d5e6f7a8b' });
  });

  it('verifies a database whose history matches the bundled migrations and reports it', async () => {
    const report = await fn.load().handler(event());

    expect(report.ok).toBe(true);
    expect(report.failures).toEqual([]);
    expect(report.restoreDurationSeconds).toBeGreaterThanOrEqual(20 * 60 - 5);
    const published = snsMock.commandCalls(PublishCommand);
    expect(published).toHaveLength(1);
    expect(published[0].args[0].input.TopicArn).toBe(TOPIC_ARN);
    expect(published[0].args[0].input.Message).toContain(TARGET);
  });

  it('fails, naming the migration, when the restored history lacks one', async () => {
    const { rows } = await db.pool.query<{ version: number; name: string }>(
      'DELETE FROM crm_meta.schema_migrations WHERE version = (SELECT max(version) FROM crm_meta.schema_migrations) RETURNING version, name',
    );
    const report = await fn.load().handler(event());

    expect(report.ok).toBe(false);
    expect(report.failures.join('\n')).toContain(rows[0].name);
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(1);
  });
});
