import { Match, type Template } from 'aws-cdk-lib/assertions';
import { proxyConnectionCap } from '../../../lib/config';
import { resourcesOf, synthStage, testConfig } from '../fixtures';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary CloudFormation properties
type Props = Record<string, any>;

describe('ApiStack', () => {
  let prod: Template;
  let dev: Template;
  beforeAll(() => {
    prod = synthStage(testConfig('prod')).templates.api;
    dev = synthStage(testConfig('dev')).templates.api;
  });

  const only = (t: Template, type: string): [string, Props] => {
    const all = resourcesOf(t, type);
    expect(all).toHaveLength(1);
    return [all[0][0], all[0][1].Properties as Props];
  };

  describe('WAF', () => {
    it('is a regional web ACL associated with the API stage', () => {
      const [aclId, acl] = only(prod, 'AWS::WAFv2::WebACL');
      expect(acl.Scope).toBe('REGIONAL');
      const [stageId] = only(prod, 'AWS::ApiGateway::Stage');
      const [apiId] = only(prod, 'AWS::ApiGateway::RestApi');
      const [, association] = only(prod, 'AWS::WAFv2::WebACLAssociation');
      expect(association.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
      expect(JSON.stringify(association.ResourceArn)).toContain(`{"Ref":"${apiId}"},"/stages/",{"Ref":"${stageId}"}`);
    });

    it('runs the AWS managed Common, KnownBadInputs, SQLi and IP reputation groups', () => {
      const [, acl] = only(prod, 'AWS::WAFv2::WebACL');
      const managed = (acl.Rules as Props[])
        .map((r) => r.Statement.ManagedRuleGroupStatement)
        .filter(Boolean)
        .map((s: Props) => `${s.VendorName}/${s.Name}`);
      expect(managed.sort()).toEqual([
        'AWS/AWSManagedRulesAmazonIpReputationList',
        'AWS/AWSManagedRulesCommonRuleSet',
        'AWS/AWSManagedRulesKnownBadInputsRuleSet',
        'AWS/AWSManagedRulesSQLiRuleSet',
      ]);
    });

    it('blocks per client IP above the configured rate per 5 minutes', () => {
      const [, acl] = only(prod, 'AWS::WAFv2::WebACL');
      const rate = (acl.Rules as Props[]).find((r) => r.Statement.RateBasedStatement);
      expect(rate).toMatchObject({
        Action: { Block: {} },
        Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
      });
    });

    it('blocks request bodies above the configured limit, oversize included', () => {
      const [, acl] = only(prod, 'AWS::WAFv2::WebACL');
      const size = (acl.Rules as Props[]).find((r) => r.Statement.SizeConstraintStatement);
      expect(size).toMatchObject({
        Action: { Block: {} },
        Statement: {
          SizeConstraintStatement: {
            FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
            ComparisonOperator: 'GT',
            Size: 64 * 1024,
          },
        },
      });
    });

    it('has no allowlist unless configured; with one, blocks every other source', () => {
      expect(resourcesOf(prod, 'AWS::WAFv2::IPSet')).toHaveLength(0);
      const t = synthStage(testConfig('prod', (c) => (c.api.allowedIpCidrs = ['203.0.113.0/24']))).templates.api;
      const [ipSetId, ipSet] = only(t, 'AWS::WAFv2::IPSet');
      expect(ipSet.Addresses).toEqual(['203.0.113.0/24']);
      const [, acl] = only(t, 'AWS::WAFv2::WebACL');
      expect((acl.Rules as Props[])[0]).toMatchObject({
        Priority: 0,
        Action: { Block: {} },
        Statement: {
          NotStatement: { Statement: { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [ipSetId, 'Arn'] } } } },
        },
      });
    });

    it('logs to aws-waf-logs-crm-<env>, encrypted, with the authorization header redacted', () => {
      prod.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: 'aws-waf-logs-crm-prod',
        KmsKeyId: Match.anyValue(),
        RetentionInDays: 365,
      });
      const [, logging] = only(prod, 'AWS::WAFv2::LoggingConfiguration');
      expect(logging.RedactedFields).toEqual([{ SingleHeader: { Name: 'authorization' } }]);
      expect(JSON.stringify(logging.LogDestinationConfigs)).toContain(':log-group:aws-waf-logs-crm-prod"');
    });
  });

  describe('REST API', () => {
    it('is regional', () => {
      prod.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    });

    it('has a Cognito authorizer on every method except GET /v1/health and CORS preflights', () => {
      const [authorizerId, authorizer] = only(prod, 'AWS::ApiGateway::Authorizer');
      expect(authorizer.Type).toBe('COGNITO_USER_POOLS');
      const methods = resourcesOf(prod, 'AWS::ApiGateway::Method').map(
        ([id, r]) => [id, r.Properties as Props] as const,
      );
      const open = methods.filter(([, m]) => m.AuthorizationType === 'NONE');
      expect(open.every(([id, m]) => m.HttpMethod === 'OPTIONS' || /v1health/.test(id))).toBe(true);
      expect(open.filter(([, m]) => m.HttpMethod !== 'OPTIONS')).toHaveLength(1);
      const closed = methods.filter(([, m]) => m.HttpMethod !== 'OPTIONS' && !/v1health/.test(m.ResourceId.Ref));
      expect(closed.length).toBeGreaterThan(0);
      for (const [, m] of closed) {
        expect(m).toMatchObject({ AuthorizationType: 'COGNITO_USER_POOLS', AuthorizerId: { Ref: authorizerId } });
      }
    });

    it('routes /v1/{proxy+} ANY to the API function through a Lambda proxy integration', () => {
      prod.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}' });
      prod.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'ANY',
        AuthorizationType: 'COGNITO_USER_POOLS',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      prod.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'GET',
        AuthorizationType: 'NONE',
        Integration: { Type: 'AWS_PROXY' },
      });
    });

    it('throttles the stage with the configured rate and burst', () => {
      const [, stage] = only(prod, 'AWS::ApiGateway::Stage');
      expect(stage.MethodSettings).toEqual([
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 500,
          ThrottlingBurstLimit: 1000,
        }),
      ]);
      const [, devStage] = only(dev, 'AWS::ApiGateway::Stage');
      expect(devStage.MethodSettings[0]).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    });

    it('writes JSON access logs to a KMS-encrypted log group and logs execution errors', () => {
      const [, stage] = only(prod, 'AWS::ApiGateway::Stage');
      const groupId = stage.AccessLogSetting.DestinationArn['Fn::GetAtt'][0];
      const group = prod.toJSON().Resources[groupId];
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(group.Properties).toMatchObject({ KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^ApiKey/), 'Arn'] } });
      expect(() => JSON.parse(stage.AccessLogSetting.Format)).not.toThrow();
      expect(stage.MethodSettings[0]).toMatchObject({ LoggingLevel: 'ERROR', DataTraceEnabled: false });
      prod.resourceCountIs('AWS::ApiGateway::Account', 1);
    });

    describe('account-level CloudWatch Logs role', () => {
      const glob = (pattern: string) =>
        new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      const arnText = (v: unknown): string =>
        typeof v === 'string'
          ? v
          : ((v as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] as unknown[])
              .map((p) => (typeof p === 'string' ? p : (p as { Ref: string }).Ref === 'AWS::Partition' ? 'aws' : '?'))
              .join('');
      const accessLogGroupName = (t: Template) => {
        const [, stage] = only(t, 'AWS::ApiGateway::Stage');
        return t.toJSON().Resources[stage.AccessLogSetting.DestinationArn['Fn::GetAtt'][0]].Properties
          .LogGroupName as string;
      };

      it('is set by exactly one environment of the shared account: prod, not dev', () => {
        prod.resourceCountIs('AWS::ApiGateway::Account', 1);
        dev.resourceCountIs('AWS::ApiGateway::Account', 0);
      });

      it("may write the access logs of every environment, not only API Gateway's execution logs", () => {
        const [, account] = only(prod, 'AWS::ApiGateway::Account');
        const roleId = account.CloudWatchRoleArn['Fn::GetAtt'][0];
        const statements = resourcesOf(prod, 'AWS::IAM::ManagedPolicy')
          .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
          .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Props[] }).Statement);
        for (const t of [prod, dev]) {
          const stream = `arn:aws:logs:eu-west-1:123456789012:log-group:${accessLogGroupName(t)}:log-stream:abc`;
          const allowed = statements.some(
            (st) =>
              [st.Action].flat().includes('logs:PutLogEvents') &&
              [st.Resource].flat().some((r) => glob(arnText(r)).test(stream)),
          );
          expect(allowed).toBe(true);
        }
      });

      it('finds the execution log group already there: encrypted, with retention', () => {
        const [apiId] = only(prod, 'AWS::ApiGateway::RestApi');
        const [stageId] = only(prod, 'AWS::ApiGateway::Stage');
        const groups = resourcesOf(prod, 'AWS::Logs::LogGroup').filter(([, g]) =>
          JSON.stringify(g.Properties.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'),
        );
        expect(groups).toHaveLength(1);
        const [groupId, group] = groups[0];
        expect(group.Properties).toMatchObject({
          LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: apiId }, '/live']] },
          KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^ApiKey/), 'Arn'] },
          RetentionInDays: 365,
        });
        expect(prod.toJSON().Resources[stageId].DependsOn).toContain(groupId);
      });
    });

    it('traces with X-Ray on the stage and the function', () => {
      const [, stage] = only(prod, 'AWS::ApiGateway::Stage');
      expect(stage.TracingEnabled).toBe(true);
      prod.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    });

    it('answers CORS preflights for the configured origins only', () => {
      const options = resourcesOf(prod, 'AWS::ApiGateway::Method')
        .map(([, r]) => r.Properties as Props)
        .filter((m) => m.HttpMethod === 'OPTIONS');
      expect(options.length).toBeGreaterThan(0);
      const text = JSON.stringify(options);
      expect(text).toContain('https://crm.example.com');
      expect(text).not.toContain('localhost');
      expect(JSON.stringify(resourcesOf(dev, 'AWS::ApiGateway::Method'))).toContain('http://localhost:3000');
    });
  });

  describe('API function', () => {
    const fn = (t: Template) => only(t, 'AWS::Lambda::Function')[1];

    it('runs in the VPC with reserved concurrency and memory from config', () => {
      expect(fn(prod)).toMatchObject({
        ReservedConcurrentExecutions: 100,
        MemorySize: 1024,
        Architectures: ['arm64'],
        VpcConfig: { SubnetIds: expect.any(Array), SecurityGroupIds: expect.any(Array) },
      });
    });

    it('connects through the proxy as crm_app with the configured pool', () => {
      expect(fn(prod).Environment.Variables).toMatchObject({
        // From the data stack's SSM parameter at deploy time: no export pins the proxy.
        DB_PROXY_ENDPOINT: { Ref: expect.stringMatching(/^SsmParameterValuecrmproddatabaseproxyendpoint/) },
        DB_PORT: '5432',
        DB_NAME: 'crm',
        DB_USER: 'crm_app',
        DB_POOL_MAX: '2',
        MAX_BODY_BYTES: String(64 * 1024),
      });
      const policy = JSON.stringify(resourcesOf(prod, 'AWS::IAM::ManagedPolicy'));
      expect(policy).toContain('"Action":"rds-db:connect"');
      expect(policy).toContain('/crm_app"');
    });

    it('has a security group whose only egress is the RDS Proxy on 5432, admitted there', () => {
      const [sgId, sg] = only(prod, 'AWS::EC2::SecurityGroup');
      // Only CDK's match-nothing placeholder inline.
      expect(sg.SecurityGroupEgress).toEqual([
        expect.objectContaining({ CidrIp: '255.255.255.255/32', IpProtocol: 'icmp' }),
      ]);
      const [, egress] = only(prod, 'AWS::EC2::SecurityGroupEgress');
      expect(egress).toMatchObject({
        GroupId: { 'Fn::GetAtt': [sgId, 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        DestinationSecurityGroupId: { 'Fn::ImportValue': expect.stringMatching(/ProxySecurityGroup/) },
      });
      const [, ingress] = only(prod, 'AWS::EC2::SecurityGroupIngress');
      expect(ingress).toMatchObject({
        GroupId: { 'Fn::ImportValue': expect.stringMatching(/ProxySecurityGroup/) },
        SourceSecurityGroupId: { 'Fn::GetAtt': [sgId, 'GroupId'] },
        FromPort: 5432,
        ToPort: 5432,
      });
    });
  });

  describe('Cognito', () => {
    it('has no self sign-up, a strong password policy and TOTP MFA required in prod', () => {
      const [, pool] = only(prod, 'AWS::Cognito::UserPool');
      expect(pool).toMatchObject({
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        MfaConfiguration: 'ON',
        EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
        Policies: {
          PasswordPolicy: {
            MinimumLength: 14,
            RequireLowercase: true,
            RequireUppercase: true,
            RequireNumbers: true,
            RequireSymbols: true,
          },
        },
        UserPoolTier: 'PLUS',
        UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
        DeletionProtection: 'ACTIVE',
      });
    });

    it('makes MFA optional in dev', () => {
      expect(only(dev, 'AWS::Cognito::UserPool')[1]).toMatchObject({
        MfaConfiguration: 'OPTIONAL',
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      });
    });

    it('has the admin, manager, sales and readonly groups', () => {
      const groups = resourcesOf(prod, 'AWS::Cognito::UserPoolGroup').map(([, r]) => (r.Properties as Props).GroupName);
      expect(groups.sort()).toEqual(['admin', 'manager', 'readonly', 'sales']);
    });
  });

  describe('connection budget', () => {
    it('estimates the proxy cap from the instance memory and maxConnectionsPercent', () => {
      // t4g.micro: 1 GiB / 9531392 = 112 connections, 80 % of it
      expect(proxyConnectionCap(testConfig('dev').database)).toBe(89);
      // m7g.large: 8 GiB → 901, 75 %
      expect(proxyConnectionCap(testConfig('prod').database)).toBe(675);
    });

    it('fails synth when reserved concurrency × pool size exceeds the proxy cap, naming the fields', () => {
      const config = testConfig('dev', (c) => {
        c.api.reservedConcurrency = 50;
        c.api.dbPoolMax = 4;
      });
      expect(() => synthStage(config)).toThrow(
        /api\.reservedConcurrency \(50\) × api\.dbPoolMax \(4\) = 200 connections exceeds the RDS Proxy cap of about 89 for database\.instanceClass t4g\.micro/,
      );
    });
  });

  it('is not termination-protected (stateless)', () => {
    const { stage } = synthStage(testConfig('prod'));
    expect(stage.api.terminationProtection).toBe(false);
  });

  it('matches the snapshot', () => {
    expect(prod.toJSON()).toMatchSnapshot();
  });
});
