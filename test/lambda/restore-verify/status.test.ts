import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { instanceStatus } from '../../../lambda/restore-verify/status';
import { NotFoundError } from '../../../lambda/shared/errors';
import { dbInstance, REGION } from '../snapshot/fixtures';

const rds = new RDSClient({ region: REGION });
const rdsMock = mockClient(rds);
const TARGET = 'crm-prod-restore-20261128-1100';

beforeEach(() => rdsMock.reset());

describe('instanceStatus', () => {
  it('reports a creating instance as neither available nor failed, without an endpoint', async () => {
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [dbInstance({ DBInstanceIdentifier: TARGET, DBInstanceStatus: 'creating', Endpoint: undefined })],
    });
    expect(await instanceStatus(rds, TARGET)).toEqual({
      targetInstanceId: TARGET,
      status: 'creating',
      available: false,
      failed: false,
    });
  });

  it('reports an available instance with its endpoint', async () => {
    rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance({ DBInstanceIdentifier: TARGET })] });
    expect(await instanceStatus(rds, TARGET)).toMatchObject({
      available: true,
      failed: false,
      endpoint: { address: `${TARGET}.c9akciq32.${REGION}.rds.amazonaws.com`, port: 5432 },
    });
  });

  it.each(['incompatible-restore', 'failed', 'storage-full'])('reports %s as failed', async (status) => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [dbInstance({ DBInstanceIdentifier: TARGET, DBInstanceStatus: status })] });
    expect((await instanceStatus(rds, TARGET)).failed).toBe(true);
  });

  it('throws NotFoundError naming a missing instance', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: `DBInstance ${TARGET} not found.`, $metadata: {} }));
    await expect(instanceStatus(rds, TARGET)).rejects.toThrow(
      new NotFoundError(`restored instance ${TARGET} does not exist (deleted, or the restore call failed)`),
    );
  });
});
