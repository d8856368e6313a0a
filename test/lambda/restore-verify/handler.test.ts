/**
 * Everything up to the connection: env parsing, input validation, and the secret lookup the pool
 * is built from. The whole path over verified TLS, with the report to SNS, is in
 * handler-tls.test.ts.
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { VerificationReport } from '../../../lambda/restore-verify/verify';
import { ConfigError, DatabaseUnavailableError, ValidationError } from '../../../lambda/shared/errors';
import { coldStart, QUIET_LAMBDA_ENV } from '../cold-start';
import { ACCOUNT, REGION } from '../snapshot/fixtures';
import { SECRET_ARN, verifyEvent } from './fixtures';

const smMock = mockClient(SecretsManagerClient);
const snsMock = mockClient(SNSClient);

const fn = coldStart<{ handler: (event: unknown) => Promise<VerificationReport> }>('lambda/restore-verify/handler', {
  ...QUIET_LAMBDA_ENV,
  DB_SECRET_ARN: SECRET_ARN,
  VERIFY_TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:crm-prod-restore-reports`,
  METRICS_NAMESPACE: 'CRM/Ops',
});

beforeEach(() => {
  smMock.reset();
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: '9b6d2f0e-5c6a-5d8e-9a1b-3c4d5e6f7a8b' });
});
afterEach(() => fn.restoreEnv());

describe('restore-verify handler', () => {
  it('reads DB_SECRET_ARN for the restored endpoint and fails retryably, publishing nothing, when it cannot', async () => {
    smMock
      .on(GetSecretValueCommand)
      .rejects(
        new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
      );
    const { handler } = fn.load();

    const err = await handler(verifyEvent()).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(`could not read the database secret ${SECRET_ARN}`);
    expect(smMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it('fails with a ConfigError naming DB_SECRET_ARN when the secret has no credentials', async () => {
    smMock.on(GetSecretValueCommand).resolves({ ARN: SECRET_ARN, Name: 'crm-prod-db-master', SecretString: '{}' });
    const { handler } = fn.load();

    const err = await handler(verifyEvent()).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('DB_SECRET_ARN');
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it.each<[string, unknown, string]>([
    ['no targetInstanceId', verifyEvent({ targetInstanceId: undefined }), 'targetInstanceId'],
    ['a restoreStartedAt without zone', verifyEvent({ restoreStartedAt: '2026-11-28 11:00' }), 'restoreStartedAt'],
    ['no endpoint from the status step', verifyEvent({ status: { status: 'creating' } }), 'endpoint'],
    ['a non-numeric port', verifyEvent({ endpoint: { address: 'h', port: '5432' } }), 'endpoint.port'],
  ])('refuses %s with a ValidationError naming the field, reading and publishing nothing', async (_, event, field) => {
    const { handler } = fn.load();

    const err = await handler(event).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect(smMock.calls()).toHaveLength(0);
    expect(snsMock.calls()).toHaveLength(0);
  });

  it.each<[string, string | undefined, RegExp]>([
    ['DB_SECRET_ARN', undefined, /config\.DB_SECRET_ARN: /],
    ['VERIFY_TOPIC_ARN', ' ', /config\.VERIFY_TOPIC_ARN: is required/],
    ['METRICS_NAMESPACE', undefined, /config\.METRICS_NAMESPACE: /],
    ['DB_NAME', '', /config\.DB_NAME: /],
  ])('fails at cold start with a ConfigError when %s is %j', (name, value, message) => {
    expect(() => fn.loadIsolated({ [name]: value })).toThrow(message);
  });

  it('fails at cold start naming MIGRATIONS_DIR when the bundle has no migrations', () => {
    expect(() => fn.loadIsolated({ MIGRATIONS_DIR: '/nonexistent/migrations' })).toThrow(
      /\/nonexistent\/migrations.*migrations directory not found/,
    );
  });
});
