/**
 * The AWS side of the end-to-end runs: an RDS "account" that answers DescribeDBInstances,
 * RestoreDBInstanceFromDBSnapshot and DeleteDBInstance the way RDS does (a restored instance is
 * `creating` without an endpoint, then `available` with one, `deleting` after delete), the master
 * secret, and a TCP path to the test PostgreSQL that can be down first and come up later.
 */
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  type DBSnapshot,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { dbInstance } from '../lambda/snapshot/fixtures';
import type { SynthesisedOps } from './harness';

type RdsMock = AwsClientStub<RDSClient>;

/** Logical ID of the one Lambda function whose ID matches `pattern`. */
export function functionId(ops: SynthesisedOps, pattern: RegExp): string {
  const ids = Object.entries(ops.template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && pattern.test(id))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one function matching ${pattern}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

export interface FakeRds {
  /** Instances by id, as DescribeDBInstances returns them. */
  readonly instances: Map<string, DBInstance>;
  /** Where a restored instance's endpoint points (the test PostgreSQL, or a proxy to it). */
  endpoint: { Address: string; Port: number };
}

/**
 * Wires `rdsMock` to a small RDS account holding `instances` and `snapshots`. A restored instance
 * reports `creating` (no endpoint) on its first describe and `available` afterwards.
 */
export function fakeRds(
  rdsMock: RdsMock,
  opts: { instances: DBInstance[]; snapshots: DBSnapshot[]; endpoint: { Address: string; Port: number } },
): FakeRds {
  const world: FakeRds = {
    instances: new Map(opts.instances.map((i) => [i.DBInstanceIdentifier!, i])),
    endpoint: opts.endpoint,
  };
  const notFound = (id: string) =>
    new DBInstanceNotFoundFault({ message: `DBInstance ${id} not found.`, $metadata: { httpStatusCode: 404 } });
  const describedOnce = new Set<string>();
  rdsMock.on(DescribeDBInstancesCommand).callsFake(async (input: { DBInstanceIdentifier?: string }) => {
    const id = input.DBInstanceIdentifier;
    if (!id) return { DBInstances: [...world.instances.values()] };
    const instance = world.instances.get(id);
    if (!instance) throw notFound(id);
    if (instance.DBInstanceStatus === 'creating') {
      if (describedOnce.has(id)) {
        const ready = {
          ...instance,
          DBInstanceStatus: 'available',
          Endpoint: { ...world.endpoint, HostedZoneId: 'Z29XKXDKYMONMX' },
        };
        world.instances.set(id, ready);
        return { DBInstances: [ready] };
      }
      describedOnce.add(id);
    }
    return { DBInstances: [instance] };
  });
  rdsMock
    .on(DescribeDBSnapshotsCommand)
    .callsFake(async (input: { DBSnapshotIdentifier?: string; DBInstanceIdentifier?: string }) => ({
      DBSnapshots: opts.snapshots.filter(
        (s) =>
          (!input.DBSnapshotIdentifier || s.DBSnapshotIdentifier === input.DBSnapshotIdentifier) &&
          (!input.DBInstanceIdentifier || s.DBInstanceIdentifier === input.DBInstanceIdentifier),
      ),
    }));
  rdsMock.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake(async (input) => {
    const id = input.DBInstanceIdentifier as string;
    const instance = dbInstance({
      DBInstanceIdentifier: id,
      DBInstanceStatus: 'creating',
      Endpoint: undefined,
      InstanceCreateTime: undefined,
      MultiAZ: input.MultiAZ,
      DeletionProtection: input.DeletionProtection,
      TagList: input.Tags,
    });
    world.instances.set(id, instance);
    return { DBInstance: instance };
  });
  rdsMock.on(DeleteDBInstanceCommand).callsFake(async (input) => {
    const id = input.DBInstanceIdentifier as string;
    const instance = world.instances.get(id);
    if (!instance) throw notFound(id);
    const deleting = { ...instance, DBInstanceStatus: 'deleting' };
    world.instances.set(id, deleting);
    return { DBInstance: deleting };
  });
  return world;
}

/** A free TCP port on this machine (nothing listens on it until `Gateway.open`). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * A TCP path to the test PostgreSQL on its own port: closed (connection refused, like an instance
 * whose endpoint does not answer yet) until `open()`, then forwarding bytes untouched, so TLS is
 * still negotiated end to end with the real server.
 */
export class Gateway {
  private server?: Server;
  private readonly sockets = new Set<{ destroy(): void }>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target.port, this.target.host);
      client.pipe(upstream).pipe(client);
      this.sockets.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => server.listen(this.port, resolve));
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * GetSecretValue as Secrets Manager answers it for the master secret (AWSCURRENT), holding the
 * credentials of the test database at `databaseUrl` — a restored instance keeps those of the snapshot.
 */
export function masterSecretValue(secretArn: string, databaseUrl: string) {
  const url = new URL(databaseUrl);
  return {
    ARN: secretArn,
    Name: 'crm-prod-db-master',
    VersionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
    VersionStages: ['AWSCURRENT'],
    SecretString: JSON.stringify({
      engine: 'postgres',
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      dbname: 'crm',
    }),
    CreatedDate: new Date('2026-11-01T00:00:00Z'),
  };
}
