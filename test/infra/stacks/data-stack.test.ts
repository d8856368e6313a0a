import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Client } from 'pg';
import { loadMigrations, migrationsHash } from '../../../lambda/migrate/migrations';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { resourcesOf, synthStage, testConfig } from '../fixtures';

describe('DataStack', () => {
  let prod: Template;
  let dev: Template;
  beforeAll(() => {
    prod = synthStage(testConfig('prod')).templates.data;
    dev = synthStage(testConfig('dev')).templates.data;
  });

  const instance = (t: Template) => {
    const all = resourcesOf(t, 'AWS::RDS::DBInstance');
    expect(all).toHaveLength(1);
    return all[0][1] as { Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
  };

  describe('KMS key', () => {
    it('is customer-managed with rotation on, and retained', () => {
      prod.hasResource('AWS::KMS::Key', {
        Properties: Match.objectLike({ EnableKeyRotation: true }),
        DeletionPolicy: 'Retain',
      });
    });

    it('allows only AWS services to receive grants', () => {
      prod.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'kms:CreateGrant',
              Condition: {
                BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
              },
            }),
          ]),
        },
      });
    });
  });

  describe('database instance', () => {
    it('runs PostgreSQL 18', () => {
      expect(instance(prod).Properties).toMatchObject({ Engine: 'postgres', EngineVersion: '18' });
    });

    it('is encrypted with the project key and not public', () => {
      expect(instance(prod).Properties).toMatchObject({
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] },
        PubliclyAccessible: false,
      });
    });

    it('listens on the configured non-default port', () => {
      expect(instance(prod).Properties.Port).toBe('5433');
    });

    it('has a master user that is neither postgres nor admin', () => {
      const secret = resourcesOf(prod, 'AWS::SecretsManager::Secret')[0][1].Properties as {
        GenerateSecretString: { SecretStringTemplate: string };
      };
      expect(JSON.parse(secret.GenerateSecretString.SecretStringTemplate).username).toBe('crm_owner');
    });

    it('has IAM database authentication on', () => {
      expect(instance(prod).Properties.EnableIAMDatabaseAuthentication).toBe(true);
    });

    it('uses gp3 storage with autoscaling up to the configured maximum', () => {
      expect(instance(prod).Properties).toMatchObject({
        StorageType: 'gp3',
        AllocatedStorage: '100',
        MaxAllocatedStorage: 1000,
      });
    });

    it('is Multi-AZ with deletion protection in prod, neither in dev', () => {
      expect(instance(prod).Properties).toMatchObject({ MultiAZ: true, DeletionProtection: true });
      expect(instance(dev).Properties).toMatchObject({ MultiAZ: false, DeletionProtection: false });
    });

    it('takes a snapshot on both deletion and replacement', () => {
      for (const t of [prod, dev]) {
        expect(instance(t).DeletionPolicy).toBe('Snapshot');
        expect(instance(t).UpdateReplacePolicy).toBe('Snapshot');
      }
    });

    it('keeps automated backups for the configured days, after deletion too, and copies tags to snapshots', () => {
      expect(instance(prod).Properties).toMatchObject({
        BackupRetentionPeriod: 35,
        DeleteAutomatedBackups: false,
        CopyTagsToSnapshot: true,
      });
      expect(instance(dev).Properties.BackupRetentionPeriod).toBe(7);
    });

    it('has enhanced monitoring with its own role', () => {
      expect(instance(prod).Properties).toMatchObject({
        MonitoringInterval: 15,
        MonitoringRoleArn: { 'Fn::GetAtt': [expect.stringMatching(/MonitoringRole/), 'Arn'] },
      });
    });

    it('exports postgresql and upgrade logs to encrypted log groups with retention', () => {
      expect(instance(prod).Properties.EnableCloudwatchLogsExports).toEqual(['postgresql', 'upgrade']);
      for (const name of ['postgresql', 'upgrade']) {
        prod.hasResourceProperties('AWS::Logs::LogGroup', {
          LogGroupName: `/aws/rds/instance/crm-prod/${name}`,
          KmsKeyId: Match.anyValue(),
          RetentionInDays: 365,
        });
      }
    });

    it('keeps the RDS log groups when the instance is protected, drops them with a disposable one', () => {
      // Their names are fixed by RDS: a retained group would make the next deployment of a
      // torn-down environment fail with "already exists".
      const groups = (t: Template, env: string) =>
        resourcesOf(t, 'AWS::Logs::LogGroup').filter(([, r]) =>
          String(r.Properties.LogGroupName).startsWith(`/aws/rds/instance/crm-${env}/`),
        ) as unknown as [string, { DeletionPolicy?: string; UpdateReplacePolicy?: string }][];
      expect(groups(prod, 'prod')).toHaveLength(2);
      for (const [, g] of groups(prod, 'prod')) expect(g.DeletionPolicy).toBe('Retain');
      expect(groups(dev, 'dev')).toHaveLength(2);
      for (const [, g] of groups(dev, 'dev')) expect(g.DeletionPolicy).toBe('Delete');
    });

    it('has Performance Insights (advanced Database Insights in prod) encrypted with the key', () => {
      expect(instance(prod).Properties).toMatchObject({
        EnablePerformanceInsights: true,
        PerformanceInsightsKMSKeyId: expect.anything(),
        DatabaseInsightsMode: 'advanced',
        PerformanceInsightsRetentionPeriod: 465,
      });
      expect(instance(dev).Properties).toMatchObject({
        EnablePerformanceInsights: true,
        DatabaseInsightsMode: 'standard',
      });
    });

    it('takes minor version upgrades automatically', () => {
      expect(instance(prod).Properties.AutoMinorVersionUpgrade).toBe(true);
    });

    it('lives in the isolated subnets', () => {
      prod.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
        SubnetIds: Match.arrayWith([{ 'Fn::ImportValue': Match.stringLikeRegexp('NetworkVpcdataSubnet1') }]),
      });
    });
  });

  describe('parameter group', () => {
    it('forces TLS, preloads pg_stat_statements and sets the configured timeouts', () => {
      prod.hasResourceProperties('AWS::RDS::DBParameterGroup', {
        Family: 'postgres18',
        Parameters: Match.objectLike({
          'rds.force_ssl': '1',
          shared_preload_libraries: 'pg_stat_statements',
          log_min_duration_statement: '250',
          idle_in_transaction_session_timeout: '60000',
        }),
      });
    });
  });

  describe('PostgreSQL 18 connection logging', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db.drop();
    });
    const logConnections = (t: Template) =>
      (resourcesOf(t, 'AWS::RDS::DBParameterGroup')[0][1].Properties.Parameters as Record<string, string>)
        .log_connections;

    // PostgreSQL 18 made log_connections a list of aspects ('' is off); the booleans survive only
    // as a compatibility alias, which the postgres18 parameter family need not offer.
    it('sets log_connections in the PostgreSQL 18 list syntax', () => {
      const aspects = ['receipt', 'authentication', 'authorization', 'setup_durations', 'all'];
      for (const t of [prod, dev]) {
        const items = logConnections(t).split(',');
        expect(items.length).toBeGreaterThan(0);
        for (const item of items) expect(aspects).toContain(item);
      }
    });

    it('is a value PostgreSQL 18 accepts and keeps as written', async () => {
      const value = logConnections(prod);
      // log_connections may be set at connection start by a superuser (context superuser-backend).
      const client = new Client({ connectionString: db.url, options: `-c log_connections=${value}` });
      await client.connect();
      try {
        const version = await client.query<{ server_version_num: string }>('SHOW server_version_num');
        expect(Number(version.rows[0].server_version_num)).toBeGreaterThanOrEqual(180000);
        const shown = await client.query<{ log_connections: string }>('SHOW log_connections');
        expect(shown.rows[0].log_connections).toBe(value);
      } finally {
        await client.end();
      }
    });
  });

  describe('memory parameters', () => {
    it('keeps RDS defaults unless configured, and sets random_page_cost for SSD', () => {
      const params = resourcesOf(prod, 'AWS::RDS::DBParameterGroup')[0][1].Properties?.Parameters as Record<
        string,
        string
      >;
      expect(params.random_page_cost).toBe('1.1');
      expect(params.shared_buffers).toBeUndefined();
      expect(params.work_mem).toBeUndefined();
    });

    it('writes configured overrides in PostgreSQL units', () => {
      const tuned = synthStage(
        testConfig('prod', (c) => {
          c.database.parameters.sharedBuffersMb = 2048;
          c.database.parameters.effectiveCacheSizeMb = 6144;
          c.database.parameters.workMemMb = 16;
          c.database.parameters.maintenanceWorkMemMb = 512;
        }),
      ).templates.data;
      tuned.hasResourceProperties('AWS::RDS::DBParameterGroup', {
        Parameters: Match.objectLike({
          shared_buffers: String(2048 * 128), // 8 kB pages
          effective_cache_size: String(6144 * 128),
          work_mem: String(16 * 1024), // kB
          maintenance_work_mem: String(512 * 1024),
        }),
      });
    });

    it('writes the WAL, checkpoint, I/O and JIT overrides the advisor suggests', () => {
      const tuned = synthStage(
        testConfig('prod', (c) => {
          c.database.parameters.minWalSizeMb = 1024;
          c.database.parameters.maxWalSizeMb = 4096;
          c.database.parameters.checkpointCompletionTarget = 0.9;
          c.database.parameters.effectiveIoConcurrency = 200;
          c.database.parameters.walCompression = 'lz4';
          c.database.parameters.jit = false;
          c.database.parameters.pgStatStatementsMax = 10000;
        }),
      ).templates.data;
      tuned.hasResourceProperties('AWS::RDS::DBParameterGroup', {
        Parameters: Match.objectLike({
          min_wal_size: '1024', // MB
          max_wal_size: '4096',
          checkpoint_completion_target: '0.9',
          effective_io_concurrency: '200',
          wal_compression: 'lz4',
          jit: '0',
          'pg_stat_statements.max': '10000',
        }),
      });
    });

    it('leaves the WAL and JIT parameters to RDS when they are not configured', () => {
      const params = prod.findResources('AWS::RDS::DBParameterGroup');
      const [group] = Object.values(params) as { Properties: { Parameters: Record<string, string> } }[];
      for (const name of ['min_wal_size', 'max_wal_size', 'wal_compression', 'jit', 'pg_stat_statements.max']) {
        expect(group.Properties.Parameters[name]).toBeUndefined();
      }
    });
  });

  describe('master secret', () => {
    it('is encrypted with the project key', () => {
      prod.hasResourceProperties('AWS::SecretsManager::Secret', {
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
      });
    });

    it('rotates every 30 days or less with the single-user rotation in the VPC', () => {
      prod.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      });
      expect(JSON.stringify(prod.toJSON().Mappings)).toContain('SecretsManagerRDSPostgreSQLRotationSingleUser');
      prod.hasResourceProperties('AWS::Serverless::Application', {
        Parameters: Match.objectLike({
          vpcSubnetIds: Match.anyValue(),
          vpcSecurityGroupIds: Match.anyValue(),
          endpoint: Match.anyValue(),
        }),
      });
      const app = resourcesOf(prod, 'AWS::Serverless::Application')[0][1].Properties as {
        Parameters: { vpcSubnetIds: unknown };
      };
      expect(JSON.stringify(app.Parameters.vpcSubnetIds)).toMatch(/appSubnet/);
    });
  });

  describe('RDS Proxy', () => {
    it('does not tag the target group (the resource schema of some regions rejects Tags there)', () => {
      for (const t of [prod, dev]) {
        const groups = resourcesOf(t, 'AWS::RDS::DBProxyTargetGroup');
        expect(groups).toHaveLength(1);
        expect(groups[0][1].Properties.Tags).toBeUndefined();
      }
      // The proxy itself keeps the stage's tags.
      prod.hasResourceProperties('AWS::RDS::DBProxy', {
        Tags: Match.arrayWith([{ Key: 'project', Value: 'crm-platform' }]),
      });
    });

    it('requires TLS and IAM auth end to end, with the configured connection cap', () => {
      prod.hasResourceProperties('AWS::RDS::DBProxy', {
        RequireTLS: true,
        DefaultAuthScheme: 'IAM_AUTH',
        EngineFamily: 'POSTGRESQL',
      });
      prod.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
        ConnectionPoolConfigurationInfo: Match.objectLike({ MaxConnectionsPercent: 75, MaxIdleConnectionsPercent: 25 }),
      });
    });

    it('may sign in to the database only as crm_app', () => {
      prod.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        PolicyDocument: {
          Statement: [
            {
              Action: 'rds-db:connect',
              Effect: 'Allow',
              Resource: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/crm_app'])] }),
            },
          ],
        },
      });
    });
  });

  describe('security groups', () => {
    const dbGroupId = () =>
      resourcesOf(prod, 'AWS::EC2::SecurityGroup').find(([id]) => /^DatabaseSecurityGroup/.test(id))![0];

    it('admit only their granted consumers on the database port', () => {
      const rules = resourcesOf(prod, 'AWS::EC2::SecurityGroupIngress')
        .map(([, r]) => r.Properties ?? {})
        .filter((r) => JSON.stringify(r.GroupId).includes(dbGroupId()));
      expect(rules.length).toBeGreaterThanOrEqual(2);
      for (const r of rules) {
        expect(r).toMatchObject({ FromPort: 5433, ToPort: 5433, IpProtocol: 'tcp' });
        expect(r.SourceSecurityGroupId).toBeDefined();
        expect(r.CidrIp).toBeUndefined();
      }
      const sources = rules.map((r) => JSON.stringify(r.SourceSecurityGroupId)).sort();
      expect(sources).toHaveLength(4);
      expect(sources[0]).toContain('ProxySecurityGroup');
      expect(sources[1]).toContain('RotationSecurityGroup');
      expect(sources[2]).toContain('SchemaHandlerSecurityGroup');
      expect(sources[3]).toContain('SchemaIsCompleteHandlerSecurityGroup');
    });

    it('have no inline ingress and no 0.0.0.0/0 ingress anywhere', () => {
      for (const [, group] of resourcesOf(prod, 'AWS::EC2::SecurityGroup')) {
        for (const rule of (group.Properties?.SecurityGroupIngress as { CidrIp?: string }[] | undefined) ?? []) {
          expect(rule.CidrIp).not.toBe('0.0.0.0/0');
        }
      }
      prod.resourcePropertiesCountIs('AWS::EC2::SecurityGroupIngress', { CidrIp: '0.0.0.0/0' }, 0);
    });

    it('have no open egress on the database', () => {
      prod.hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: Match.stringLikeRegexp('^CRM database'),
        SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
      });
    });
  });

  describe('events', () => {
    it('subscribes failure, maintenance, configuration change and low storage events', () => {
      prod.hasResourceProperties('AWS::RDS::EventSubscription', {
        SourceType: 'db-instance',
        EventCategories: Match.arrayWith(['failure', 'maintenance', 'configuration change', 'low storage']),
      });
    });

    it('publish to a KMS-encrypted topic that refuses non-TLS publishing', () => {
      prod.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      prod.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  describe('schema migration', () => {
    it('runs when and only when the migration files change', () => {
      prod.hasResourceProperties('Custom::SchemaMigration', {
        MigrationsHash: migrationsHash(loadMigrations()),
      });
    });

    it('waits for the database and the rules that let it in', () => {
      const [, resource] = resourcesOf(prod, 'Custom::SchemaMigration')[0] as [string, { DependsOn?: string[] }];
      expect(resource.DependsOn).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^DatabaseInstance/),
          expect.stringMatching(/^DatabaseSecurityGroupfrom.*SchemaHandler/),
        ]),
      );
    });

    it('bundles the handler with the SQL files, in the VPC, with a timeout well under the CloudFormation limit', () => {
      prod.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('schema migrations'),
        Timeout: 720,
        ReservedConcurrentExecutions: 1,
        VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
        Environment: {
          Variables: Match.objectLike({
            DB_PORT: '5433',
            DB_NAME: 'crm',
            MIGRATION_LOCK_TIMEOUT_MS: '5000',
            MIGRATION_STATEMENT_TIMEOUT_MS: '600000',
            DB_SECRET_ARN: Match.anyValue(),
            DB_HOST: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseInstance'), 'Endpoint.Address'] },
          }),
        },
      });
    });

    it('snapshots before migrating in prod: an isComplete handler waits for the snapshot', () => {
      prod.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.isComplete',
        Environment: {
          Variables: Match.objectLike({
            SNAPSHOT_BEFORE_MIGRATION: 'true',
            DB_INSTANCE_ID: 'crm-prod',
            SNAPSHOT_PREFIX: 'crm-prod',
            ENVIRONMENT: 'prod',
          }),
        },
      });
      prod.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      });
      const statements = resourcesOf(prod, 'AWS::IAM::ManagedPolicy').flatMap(
        ([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
      );
      const create = statements.filter((st) => ([] as unknown[]).concat(st.Action).includes('rds:CreateDBSnapshot'));
      expect(create.length).toBeGreaterThanOrEqual(1);
      for (const st of create) expect(JSON.stringify(st.Resource)).toMatch(/snapshot:crm-prod-premigration-\*/);
      expect(statements.some((st) => ([] as unknown[]).concat(st.Action).includes('rds:DeleteDBSnapshot'))).toBe(false);
    });

    it('migrates synchronously without a snapshot in dev', () => {
      dev.resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'index.isComplete' }, 0);
      dev.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    });

    it('may read the master secret', () => {
      prod.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        Description: Match.stringLikeRegexp('Handler function'),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: { Ref: Match.stringLikeRegexp('DatabaseInstanceSecret') },
            }),
          ]),
        },
      });
    });
  });

  it('pins the logical IDs of stateful resources', () => {
    const ids = (type: string) => Object.keys(prod.findResources(type)).sort();
    expect({
      key: ids('AWS::KMS::Key'),
      instance: ids('AWS::RDS::DBInstance'),
      secret: ids('AWS::SecretsManager::Secret'),
      subnetGroup: ids('AWS::RDS::DBSubnetGroup'),
    }).toEqual({
      key: ['DataKey2A0DE9E6'],
      instance: ['DatabaseInstanceAA8A5FDE'],
      secret: ['crmprodDataDatabaseInstanceSecret44B0CD303fdaad7efa858a3daf9490cf0a702aeb'],
      subnetGroup: ['DatabaseSubnetGroup7D60F180'],
    });
  });

  it('matches the snapshot', () => {
    expect(prod.toJSON()).toMatchSnapshot();
  });
});
