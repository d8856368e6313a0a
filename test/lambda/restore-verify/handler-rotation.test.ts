/**
 * The verify handler after a rotation of the master secret: a restored instance keeps the master
 * password of backup time, so only the AWSPREVIOUS version of the secret opens it. Real PostgreSQL 18
 * over verified TLS (a role whose password is the "backup-time" one), Secrets Manager faked with
 * both staging labels. The cases where neither version works are in verify.test.ts (no retry waits).
 */
import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { runMigrations } from '../../../lambda/migrate/runner';
import type { VerificationReport } from '../../../lambda/restore-verify/verify';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { coldStart, QUIET_LAMBDA_ENV } from '../cold-start';
import { SECRET_ARN, TOPIC_ARN, verifyEvent } from './fixtures';

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
    { restoredFrom: 'crm-prod-20261101-0300', restoreStartedAt: new Date(Date.now() - 20 * 60_000).toISOString() },
    { address: 'localhost', port: Number(url.port) },
  );

/** GetSecretValue as Secrets Manager answers it for one staging label of the master secret. */
function secretVersion(stage: 'AWSCURRENT' | 'AWSPREVIOUS', username: string, password: string) {
  return {
    ARN: SECRET_ARN,
    Name: 'crm/prod/db-master',
    VersionId: stage === 'AWSCURRENT' ? 'a1b2c3d4-0000-4000-8000-000000000002' : 'a1b2c3d4-0000-4000-8000-000000000001',
    VersionStages: [stage],
    CreatedDate: new Date('2026-11-20T03:00:00Z'),
    SecretString: JSON.stringify({ engine: 'postgres', username, password, dbname: 'crm', port: 5432 }),
  };
}

describeTls('restore-verify handler after a master secret rotation', () => {
  // A master user whose password was rotated after the backup: the restored instance still has the old one.
  const role = `crm_master_${randomBytes(4).toString('hex')}`;
  const backupTimePassword = `before-rotation-${randomBytes(6).toString('hex')}`;
  const rotatedPassword = `after-rotation-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase('crm_verify_rotation');
    url = new URL(db.url);
    await runMigrations(db.pool, { appliedBy: 'test' });
    // The names are generated from [a-z0-9_-] only, so quoting them is safe.
    await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${backupTimePassword}' IN ROLE pg_read_all_data`);
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
    await db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });
  beforeEach(() => {
    smMock.reset();
    snsMock.reset();
    snsMock.on(PublishCommand).resolves({ MessageId: '9b6d2f0e-5c6a-5d8e-9a1b-3c4d5e6f7a8b' });
  });

  it('logs in with AWSPREVIOUS when the server refuses the AWSCURRENT password, and says so', async () => {
    smMock
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT' })
      .resolves(secretVersion('AWSCURRENT', role, rotatedPassword));
    smMock
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN, VersionStage: 'AWSPREVIOUS' })
      .resolves(secretVersion('AWSPREVIOUS', role, backupTimePassword));

    const report = await fn.load().handler(event());

    expect(report).toMatchObject({ ok: true, credential: 'AWSPREVIOUS', failures: [] });
    const message = snsMock.commandCalls(PublishCommand)[0]!.args[0].input.Message!;
    expect(message).toContain('Logged in with the PREVIOUS master secret (AWSPREVIOUS)');
    // Neither password ever reaches the report.
    expect(message).not.toContain(backupTimePassword);
    expect(message).not.toContain(rotatedPassword);
  });

  it('uses AWSCURRENT, and never reads AWSPREVIOUS, when the current password works', async () => {
    smMock
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT' })
      .resolves(secretVersion('AWSCURRENT', role, backupTimePassword));

    const report = await fn.load().handler(event());

    expect(report).toMatchObject({ ok: true, credential: 'AWSCURRENT' });
    expect(
      smMock.commandCalls(GetSecretValueCommand).filter((c) => c.args[0].input.VersionStage === 'AWSPREVIOUS'),
    ).toEqual([]);
  });
});
