import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { InstanceStatus } from '../../../lambda/restore-verify/status';
import { ValidationError } from '../../../lambda/shared/errors';
import { coldStart, QUIET_LAMBDA_ENV } from '../cold-start';
import { dbInstance, REGION } from '../snapshot/fixtures';

const rdsMock = mockClient(RDSClient);
const TARGET = 'crm-prod-restore-20261128-1100';

// No environment of its own beyond AWS_REGION, so there is no ConfigError to provoke.
const fn = coldStart<{ handler: (event: unknown) => Promise<InstanceStatus> }>(
  'lambda/restore-verify/status-handler',
  QUIET_LAMBDA_ENV,
);

beforeEach(() => {
  rdsMock.reset();
  rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance({ DBInstanceIdentifier: TARGET })] });
});
afterEach(() => fn.restoreEnv());

describe('restore-verify status handler', () => {
  it('describes the targetInstanceId of the workflow input, ignoring its other fields', async () => {
    const { handler } = fn.load();

    const status = await handler({ targetInstanceId: TARGET, restoreStartedAt: '2026-11-28T11:00:00Z', drill: false });

    expect(status).toEqual({
      targetInstanceId: TARGET,
      status: 'available',
      available: true,
      failed: false,
      endpoint: { address: `${TARGET}.c9akciq32.${REGION}.rds.amazonaws.com`, port: 5432 },
    });
    expect(rdsMock).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: TARGET });
  });

  it.each<[string, unknown]>([
    ['no targetInstanceId', { restoreStartedAt: '2026-11-28T11:00:00Z' }],
    ['an empty targetInstanceId', { targetInstanceId: '' }],
    ['no input', null],
  ])('refuses %s with a ValidationError naming targetInstanceId and no RDS call', async (_, event) => {
    const { handler } = fn.load();

    const err = await handler(event).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('targetInstanceId');
    expect(rdsMock.calls()).toHaveLength(0);
  });
});
