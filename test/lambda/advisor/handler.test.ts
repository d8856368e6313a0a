import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import {
  type AdvisorHandlerConfig,
  type AdvisorHandlerDeps,
  configFromEnv,
  createHandler,
  iamConnectionOptions,
  reportKeyBase,
} from '../../../lambda/advisor/handler';
import { ConfigError, DatabaseUnavailableError } from '../../../lambda/shared/errors';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:crm-prod-advisor';

const ENV = {
  DB_HOST: 'crm-prod.abcdefghijkl.eu-west-1.rds.amazonaws.com',
  DB_PORT: '5433',
  DB_NAME: 'crm',
  REPORT_BUCKET: 'crm-prod-reports-123456789012',
  REPORT_KMS_KEY_ARN: KEY_ARN,
  REPORT_TOPIC_ARN: TOPIC_ARN,
  ENVIRONMENT: 'prod',
  INSTANCE_CLASS: 'm7g.large',
  AWS_REGION: 'eu-west-1',
};

const s3 = mockClient(S3Client);
const sns = mockClient(SNSClient);

function fakeMetrics() {
  const added: { name: string; unit: string; value: number }[] = [];
  const dimensions: Record<string, string> = {};
  const raw = {
    addMetric: jest.fn((name: string, unit: string, value: number) => {
      added.push({ name, unit, value });
    }),
    addDimension: jest.fn((name: string, value: string) => {
      dimensions[name] = value;
    }),
    publishStoredMetrics: jest.fn(),
  };
  // the handler ignores the `this` the real methods return
  return { metrics: raw as unknown as AdvisorHandlerDeps['metrics'], added, dimensions, raw };
}

const quietLogger = { info: jest.fn(), error: jest.fn() } as unknown as AdvisorHandlerDeps['logger'];

describe('advisor handler', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('crm_advisor_handler');
    await db.pool.query('CREATE EXTENSION pg_stat_statements');
  });

  afterAll(async () => {
    await db?.drop();
  });

  beforeEach(() => {
    s3.reset();
    sns.reset();
    s3.on(PutObjectCommand).resolves({
      ETag: '"6805f2cfc46c0f04559748bb039d69ae"',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: KEY_ARN,
      BucketKeyEnabled: true,
    });
    sns.on(PublishCommand).resolves({ MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e' });
  });

  /** The injected client factory: a plain session on the test database instead of IAM + TLS to RDS. */
  function connectToTestDb(seen: AdvisorHandlerConfig[] = [], released: boolean[] = []) {
    return async (config: AdvisorHandlerConfig) => {
      seen.push(config);
      const client = new Client({ connectionString: db.url, application_name: 'crm-advisor' });
      await client.connect();
      return {
        client,
        release: async () => {
          released.push(true);
          await client.end();
        },
      };
    };
  }

  it('writes the JSON and text report to S3 with SSE-KMS under reports/<env>/', async () => {
    const handler = createHandler(
      {
        s3: new S3Client({}),
        sns: new SNSClient({}),
        metrics: fakeMetrics().metrics,
        logger: quietLogger,
        connect: connectToTestDb(),
        now: () => new Date('2026-11-28T06:00:00.123Z'),
      },
      ENV,
    );

    const result = await handler({});

    expect(result.jsonKey).toBe('reports/prod/2026-11-28T060000Z.json');
    expect(result.textKey).toBe('reports/prod/2026-11-28T060000Z.txt');
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    for (const put of puts) {
      expect(put).toMatchObject({
        Bucket: 'crm-prod-reports-123456789012',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KEY_ARN,
      });
    }
    const json = JSON.parse(String(puts.find((p) => p.Key === result.jsonKey)?.Body));
    expect(json).toMatchObject({ schemaVersion: 1, database: db.name, instance: { memoryGiB: 8 } });
    expect(puts.find((p) => p.Key === result.textKey)).toMatchObject({ ContentType: 'text/plain; charset=utf-8' });
    expect(String(puts.find((p) => p.Key === result.textKey)?.Body)).toContain('Database advisor report');
  });

  it('publishes a short summary to SNS, under the size limits, linking the report', async () => {
    const handler = createHandler(
      {
        s3: new S3Client({}),
        sns: new SNSClient({}),
        metrics: fakeMetrics().metrics,
        logger: quietLogger,
        connect: connectToTestDb(),
      },
      ENV,
    );

    const result = await handler({});

    const [publish] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(result.messageId).toBe('95df01b4-ee98-5cb9-9903-4c221d41eb5e');
    expect(publish.TopicArn).toBe(TOPIC_ARN);
    expect(publish.Subject).toMatch(/^\[crm prod\] DB advisor: \d+ high, \d+ medium, \d+ low$/);
    expect(publish.Subject?.length).toBeLessThanOrEqual(100);
    expect(Buffer.byteLength(publish.Message ?? '', 'utf8')).toBeLessThan(256 * 1024);
    expect(publish.Message).toContain(`s3://crm-prod-reports-123456789012/${result.textKey}`);
    expect(publish.Message).toMatch(/Findings: \d+ high, \d+ medium, \d+ low, \d+ info/);
  });

  it('publishes findings by severity and key figures as metrics with an Environment dimension', async () => {
    const m = fakeMetrics();
    const handler = createHandler(
      {
        s3: new S3Client({}),
        sns: new SNSClient({}),
        metrics: m.metrics,
        logger: quietLogger,
        connect: connectToTestDb(),
      },
      ENV,
    );

    const result = await handler({});

    expect(m.dimensions).toEqual({ Environment: 'prod' });
    expect(m.added).toContainEqual({ name: 'FindingsHigh', unit: 'Count', value: result.summary.high });
    expect(m.added).toContainEqual({ name: 'FindingsInfo', unit: 'Count', value: result.summary.info });
    const names = m.added.map((a) => a.name);
    expect(names).toEqual(
      expect.arrayContaining(['CacheHitRatio', 'ConnectionUsage', 'MaxDeadTupleRatio', 'IdleInTransactionSessions']),
    );
    const usage = m.added.find((a) => a.name === 'ConnectionUsage');
    expect(usage?.unit).toBe('Percent');
    expect(usage?.value).toBeGreaterThan(0);
    expect(usage?.value).toBeLessThanOrEqual(100);
    expect(m.raw.publishStoredMetrics).toHaveBeenCalledTimes(1);
  });

  it('connects with the configured endpoint and role, and ends the session after the run', async () => {
    const seen: AdvisorHandlerConfig[] = [];
    const released: boolean[] = [];
    const handler = createHandler(
      {
        s3: new S3Client({}),
        sns: new SNSClient({}),
        metrics: fakeMetrics().metrics,
        logger: quietLogger,
        connect: connectToTestDb(seen, released),
      },
      ENV,
    );

    await handler({});

    expect(seen[0]).toMatchObject({
      host: ENV.DB_HOST,
      port: 5433,
      database: 'crm',
      user: 'crm_monitor',
      region: 'eu-west-1',
    });
    expect(released).toEqual([true]);
  });

  it('fails with DatabaseUnavailableError and writes nothing when the database is unreachable', async () => {
    const handler = createHandler(
      {
        s3: new S3Client({}),
        sns: new SNSClient({}),
        metrics: fakeMetrics().metrics,
        logger: quietLogger,
        connect: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 10.0.3.17:5433'), { code: 'ECONNREFUSED' });
        },
      },
      ENV,
    );

    await expect(handler({})).rejects.toThrow(DatabaseUnavailableError);
    await expect(handler({})).rejects.toThrow(/cannot connect to crm at .* as crm_monitor: connect ECONNREFUSED/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

describe('configFromEnv', () => {
  it('applies the defaults', () => {
    const config = configFromEnv({
      DB_HOST: 'h',
      REPORT_BUCKET: 'b',
      REPORT_TOPIC_ARN: TOPIC_ARN,
      ENVIRONMENT: 'dev',
    });
    expect(config).toMatchObject({
      port: 5432,
      database: 'crm',
      user: 'crm_monitor',
      metricsNamespace: 'CrmPlatform/DatabaseAdvisor',
      statementTimeoutMs: 60_000,
    });
    expect(config.kmsKeyArn).toBeUndefined();
  });

  it.each([
    ['DB_HOST', { ...ENV, DB_HOST: '' }],
    ['REPORT_BUCKET', { ...ENV, REPORT_BUCKET: undefined }],
    ['REPORT_TOPIC_ARN', { ...ENV, REPORT_TOPIC_ARN: undefined }],
    ['ENVIRONMENT', { ...ENV, ENVIRONMENT: 'Prod env' }],
    ['DB_PORT', { ...ENV, DB_PORT: 'fifty' }],
    ['INSTANCE_MEMORY_GIB', { ...ENV, INSTANCE_MEMORY_GIB: '-4' }],
    ['INSTANCE_CLASS', { ...ENV, INSTANCE_CLASS: 'db.z9.huge' }],
  ])('names %s when it is missing or invalid', (name, env) => {
    expect(() => configFromEnv(env)).toThrow(ConfigError);
    expect(() => configFromEnv(env)).toThrow(new RegExp(`^config\\.${name}: `));
  });
});

describe('reportKeyBase', () => {
  it('uses a sortable ISO 8601 basic timestamp without colons', () => {
    expect(reportKeyBase('dev', '2026-01-05T23:07:09.000Z')).toBe('reports/dev/2026-01-05T230709Z');
  });
});

describe('iamConnectionOptions', () => {
  it('signs a fresh IAM token per connection attempt and verifies TLS', async () => {
    const tokens = ['token-1', 'token-2'];
    const signer = { getAuthToken: jest.fn(async () => tokens.shift() as string) };
    const opts = iamConnectionOptions(configFromEnv(ENV), signer);

    expect(opts).toMatchObject({ host: ENV.DB_HOST, port: 5433, user: 'crm_monitor', tls: 'verify-full' });
    const password = opts.password as () => Promise<string>;
    expect(await password()).toBe('token-1');
    expect(await password()).toBe('token-2');
    expect(signer.getAuthToken).toHaveBeenCalledTimes(2);
  });
});
