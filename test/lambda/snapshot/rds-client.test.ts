import { Readable } from 'node:stream';
import { DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { createRdsClient, RDS_MAX_ATTEMPTS } from '../../../lambda/snapshot/rds';

// aws-sdk-client-mock replaces `send` and so bypasses the retry middleware; this test instead fakes
// the HTTP layer so the client's real retry strategy runs against RDS's Query-protocol error body.
const throttled = () => ({
  response: {
    statusCode: 400,
    headers: { 'content-type': 'text/xml' },
    body: Readable.from([
      Buffer.from(
        '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>7f1c2f6e-0d1a-4c8e-9a51-3c2b9c0f3a11</RequestId></ErrorResponse>',
      ),
    ]),
  },
});
const ok = () => ({
  response: {
    statusCode: 200,
    headers: { 'content-type': 'text/xml' },
    body: Readable.from([
      Buffer.from(
        '<DescribeDBSnapshotsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBSnapshotsResult><DBSnapshots><DBSnapshot><DBSnapshotIdentifier>crm-prod-20261127-0300</DBSnapshotIdentifier><DBInstanceIdentifier>crm-prod</DBInstanceIdentifier><Status>available</Status><SnapshotType>manual</SnapshotType><SnapshotCreateTime>2026-11-27T03:00:41.127Z</SnapshotCreateTime><TagList><Tag><Key>managed-by</Key><Value>crm-platform</Value></Tag></TagList></DBSnapshot></DBSnapshots></DescribeDBSnapshotsResult><ResponseMetadata><RequestId>0c6b2b4e-3f0a-4b8a-8d7e-2f5c1e9a7b10</RequestId></ResponseMetadata></DescribeDBSnapshotsResponse>',
      ),
    ]),
  },
});

function fakeHandler(responses: (() => ReturnType<typeof ok>)[]) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async handle() {
      const next = responses[Math.min(calls, responses.length - 1)]!;
      calls++;
      return next();
    },
  };
}

const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example' };

describe('createRdsClient', () => {
  it('retries Throttling with the SDK retry strategy and then succeeds', async () => {
    const http = fakeHandler([throttled, throttled, ok]);
    // biome-ignore lint/suspicious/noExplicitAny: the fake implements only `handle`, all the SDK calls
    const rds = createRdsClient({ region: 'eu-west-1', credentials, requestHandler: http as any });

    const res = await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'crm-prod' }));

    expect(http.calls).toBe(3);
    expect(res.$metadata.attempts).toBe(3);
    expect(res.DBSnapshots?.[0]?.TagList).toEqual([{ Key: 'managed-by', Value: 'crm-platform' }]);
  });

  it(`gives up after ${RDS_MAX_ATTEMPTS} attempts, more than the SDK default of 3`, async () => {
    expect(RDS_MAX_ATTEMPTS).toBeGreaterThan(3);
    const rds = createRdsClient({ region: 'eu-west-1', credentials });
    expect(await rds.config.maxAttempts()).toBe(RDS_MAX_ATTEMPTS);
  });
});
