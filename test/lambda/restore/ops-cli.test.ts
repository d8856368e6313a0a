// Tests of bin/ops.ts (kept under test/lambda/restore because test/bin is outside this change's paths).
import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { formatTable, main, parseCommand, resolveConfig, UsageError } from '../../../bin/ops';
import { dbInstance, dbSnapshot, INSTANCE_ID } from '../snapshot/fixtures';
import { SM_ARN, SNAP } from './fixtures';

const who = () => 'cli:alice';

describe('ops CLI: parseCommand', () => {
  it.each<[string[], unknown]>([
    [['--help'], { kind: 'help' }],
    [['snapshots', 'list'], { kind: 'snapshots-list' }],
    [['snapshot', 'now'], { kind: 'snapshot-now' }],
    [
      ['restore', '--snapshot', 'crm-prod-20261127-0300'],
      {
        kind: 'restore',
        request: {
          source: { type: 'snapshot', snapshotId: 'crm-prod-20261127-0300' },
          dryRun: false,
          requestedBy: 'cli:alice',
        },
      },
    ],
    [
      ['restore', '--time', 'latest', '--target', 'crm-prod-pitr', '--dry-run'],
      {
        kind: 'restore',
        request: {
          source: { type: 'point-in-time', time: 'latest' },
          targetInstanceId: 'crm-prod-pitr',
          dryRun: true,
          requestedBy: 'cli:alice',
        },
      },
    ],
    [
      ['restore', '--time=2026-11-27T09:30:00Z', '--requested-by', 'bob@example.com'],
      {
        kind: 'restore',
        request: {
          source: { type: 'point-in-time', time: new Date('2026-11-27T09:30:00Z') },
          dryRun: false,
          requestedBy: 'bob@example.com',
        },
      },
    ],
    [
      [
        'restore',
        'status',
        'arn:aws:states:eu-west-1:123456789012:execution:crm-prod-restore-verify:crm-prod-restore-20261128-1100',
      ],
      {
        kind: 'restore-status',
        executionArn:
          'arn:aws:states:eu-west-1:123456789012:execution:crm-prod-restore-verify:crm-prod-restore-20261128-1100',
      },
    ],
  ])('%j', (argv, expected) => {
    expect(parseCommand(argv, who)).toEqual(expected);
  });

  it.each<[string[], RegExp]>([
    [[], /missing command/],
    [['backup'], /unknown command "backup"/],
    [['snapshots'], /"snapshots" takes "list" \(got nothing\)/],
    [['snapshots', 'delete'], /"snapshots" takes "list" \(got "delete"\)/],
    [['snapshot', 'now', 'please'], /unexpected argument "please"/],
    [['restore'], /^--snapshot: one of --snapshot or --time is required$/],
    [['restore', '--snapshot', 'a', '--time', 'latest'], /^--time: give either --snapshot or --time, not both$/],
    [['restore', '--time', 'yesterday'], /^--time: "yesterday" must be an ISO-8601 date-time with a time zone/],
    [['restore', '--time', '2026-11-27T09:30:00'], /^--time: .* with a time zone/],
    [
      ['restore', '--snapshot', 'x', '--target', 'crm_prod'],
      /^--target: "crm_prod" is not a valid DB instance identifier/,
    ],
    [['restore', '--snapshot'], /--snapshot/],
    [['restore', '--snapshot', 'x', '--force'], /unknown option '--force'/],
    [['restore', 'crm-prod-20261127-0300'], /unexpected argument "crm-prod-20261127-0300"/],
    [['restore', 'status'], /takes exactly one execution ARN/],
    [['restore', 'status', 'crm-prod-restore'], /is not a Step Functions execution ARN/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommand(argv, who)).toThrow(UsageError);
    expect(() => parseCommand(argv, who)).toThrow(message);
  });
});

describe('ops CLI: resolveConfig', () => {
  it('derives the names from CRM_ENV by the deployment naming convention', () => {
    expect(resolveConfig({ CRM_ENV: 'prod', AWS_REGION: 'eu-west-1' })).toEqual({
      environment: 'prod',
      region: 'eu-west-1',
      instanceId: 'crm-prod',
      snapshotPrefix: 'crm-prod',
      verifyStateMachineArn: undefined,
      verifyStateMachineName: 'crm-prod-restore-verify',
    });
  });

  it('takes overrides from the environment', () => {
    const c = resolveConfig({
      CRM_ENV: 'prod',
      AWS_REGION: 'eu-west-1',
      CRM_DB_INSTANCE_ID: 'crm-prod-2',
      CRM_VERIFY_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:x',
    });
    expect(c).toMatchObject({
      instanceId: 'crm-prod-2',
      verifyStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:x',
    });
  });

  it.each<[NodeJS.ProcessEnv, RegExp]>([
    [{ AWS_REGION: 'eu-west-1' }, /CRM_ENV is not set/],
    [{ CRM_ENV: 'Prod!', AWS_REGION: 'eu-west-1' }, /CRM_ENV "Prod!" must be lower-case/],
    [{ CRM_ENV: 'prod' }, /AWS_REGION is not set/],
  ])('refuses %j', (env, message) => {
    expect(() => resolveConfig(env)).toThrow(message);
  });
});

describe('ops CLI: main', () => {
  function io(env: NodeJS.ProcessEnv = { CRM_ENV: 'prod', AWS_REGION: 'eu-west-1' }) {
    const out: string[] = [];
    const err: string[] = [];
    return {
      io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env },
      out,
      err,
    };
  }

  it('exits 2 with a one-line reason on a bad command line, before touching AWS', async () => {
    const t = io();
    expect(await main(['restore', '--time', 'yesterday'], t.io)).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0]).toMatch(
      /^ops: --time: "yesterday" must be an ISO-8601 date-time with a time zone .*\(see npm run ops -- help\)\n$/,
    );
    expect(t.err[0]!.trim().split('\n')).toHaveLength(1);
    expect(t.out).toEqual([]);
  });

  it('exits 2 when the environment is not chosen', async () => {
    const t = io({});
    expect(await main(['snapshots', 'list'], t.io)).toBe(2);
    expect(t.err[0]).toMatch(/^ops: CRM_ENV is not set/);
  });

  it('prints what a restore cannot carry, with the command that applies each, in a dry run', async () => {
    const rdsMock = mockClient(RDSClient);
    const sfnMock = mockClient(SFNClient);
    try {
      rdsMock
        .on(DescribeDBInstancesCommand)
        .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: { httpStatusCode: 404 } }));
      rdsMock
        .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
        .resolves({ DBInstances: [dbInstance({ PreferredMaintenanceWindow: 'sun:03:30-sun:04:30' })] });
      rdsMock
        .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAP })
        .resolves({ DBSnapshots: [dbSnapshot({ DBSnapshotIdentifier: SNAP })] });
      sfnMock.on(ListStateMachinesCommand).resolves({
        stateMachines: [
          { name: 'crm-prod-restore-verify', stateMachineArn: SM_ARN, type: 'STANDARD', creationDate: new Date() },
        ],
      });
      const t = io();

      expect(await main(['restore', '--snapshot', SNAP, '--target', 'crm-prod-restore-a', '--dry-run'], t.io)).toBe(0);

      const out = t.out.join('');
      expect(out).toMatch(/Differs from live \(a restore cannot carry these/);
      expect(out).toMatch(/PreferredMaintenanceWindow\s+sun:03:30-sun:04:30\s+a window RDS picks at random/);
      expect(out).toContain(
        'aws rds modify-db-instance --db-instance-identifier crm-prod-restore-a --preferred-maintenance-window sun:03:30-sun:04:30 --apply-immediately',
      );
      // Only what is sent: no setting row reads "undefined".
      expect(out).not.toMatch(/\bundefined\b/);
    } finally {
      rdsMock.restore();
      sfnMock.restore();
    }
  });

  it('prints the usage for help', async () => {
    const t = io({});
    expect(await main(['help'], t.io)).toBe(0);
    expect(t.out.join('')).toMatch(/npm run ops -- restore status <executionArn>/);
  });
});

describe('ops CLI: formatTable', () => {
  it('aligns columns under an underlined header', () => {
    expect(
      formatTable(
        ['A', 'LONGER'],
        [
          ['xyz', 1],
          ['x', undefined],
        ],
      ),
    ).toBe(['A    LONGER', '---  ------', 'xyz  1', 'x    '].join('\n'));
  });
});
