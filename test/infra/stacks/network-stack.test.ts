import { Match, type Template } from 'aws-cdk-lib/assertions';
import { resourcesOf, synthStage, testConfig } from '../fixtures';

describe('NetworkStack', () => {
  let template: Template;
  let devTemplate: Template;
  beforeAll(() => {
    template = synthStage(testConfig('prod')).templates.network;
    devTemplate = synthStage(testConfig('dev')).templates.network;
  });

  it('spans the configured AZs with public, private and isolated subnets', () => {
    // prod: 3 AZs x 3 tiers
    template.resourceCountIs('AWS::EC2::Subnet', 9);
    devTemplate.resourceCountIs('AWS::EC2::Subnet', 6);
    for (const tier of ['Public', 'Private', 'Isolated']) {
      template.hasResourceProperties('AWS::EC2::Subnet', {
        Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: tier }]),
      });
    }
  });

  it('never assigns public IPs on launch', () => {
    for (const [, subnet] of resourcesOf(template, 'AWS::EC2::Subnet')) {
      expect(subnet.Properties?.MapPublicIpOnLaunch).toBe(false);
    }
  });

  it('has the configured number of NAT gateways', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    devTemplate.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  it('resolves AZs without context lookups', () => {
    template.hasResourceProperties('AWS::EC2::Subnet', {
      AvailabilityZone: { 'Fn::Select': [2, { 'Fn::GetAZs': '' }] },
    });
  });

  it.each(['secretsmanager', 'kms', 'logs', 'monitoring', 'sns', 'rds', 'sts'])(
    'has a private-DNS interface endpoint for %s',
    (service) => {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        PrivateDnsEnabled: true,
        ServiceName: Match.stringLikeRegexp(`\\.${service}$`),
      });
    },
  );

  it('has an S3 gateway endpoint', () => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
    });
  });

  it('admits only HTTPS from the VPC CIDR to the interface endpoints', () => {
    const endpointGroups = resourcesOf(template, 'AWS::EC2::SecurityGroup').filter(([id]) => id.includes('Endpoint'));
    expect(endpointGroups).toHaveLength(7);
    for (const [, group] of endpointGroups) {
      expect(group.Properties?.SecurityGroupIngress).toEqual([
        expect.objectContaining({ CidrIp: '10.50.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      ]);
    }
  });

  it('sends all flow logs to a KMS-encrypted log group with retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
      RetentionInDays: 365,
    });
  });

  it('rotates the log key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('removes every rule of the default security group at deploy time', () => {
    template.hasResourceProperties('Custom::DefaultSecurityGroupLockdown', {
      SecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkVpc'), 'DefaultSecurityGroup'] },
    });
  });

  describe('isolated-subnet NACL', () => {
    const entries = () => resourcesOf(template, 'AWS::EC2::NetworkAclEntry').map(([, e]) => e.Properties ?? {});

    it('admits inbound only the database port', () => {
      const inbound = entries().filter((e) => e.Egress !== true && e.RuleAction === 'allow');
      expect(inbound.length).toBeGreaterThan(0);
      for (const e of inbound) {
        expect(e.PortRange).toEqual({ From: 5433, To: 5433 });
        expect(e.Protocol).toBe(6);
      }
    });

    it('admits the database port from the private subnets', () => {
      const cidrsOf = (tier: string) =>
        resourcesOf(template, 'AWS::EC2::Subnet')
          .filter(([, s]) => JSON.stringify(s.Properties?.Tags).includes(`"Value":"${tier}"`))
          .map(([, s]) => s.Properties?.CidrBlock);
      const sources = entries()
        .filter((e) => e.Egress !== true)
        .map((e) => e.CidrBlock);
      expect(sources).toEqual(expect.arrayContaining(cidrsOf('Private')));
      expect(sources.filter((c) => cidrsOf('Public').includes(c))).toEqual([]);
    });

    it('opens nothing to 22 or 3389, from anywhere', () => {
      for (const e of entries()) {
        const range = e.PortRange as { From: number; To: number } | undefined;
        if (e.RuleAction !== 'allow') continue;
        expect(range).toBeDefined();
        for (const port of [22, 3389]) {
          if (e.Egress === true) continue;
          expect(port >= range!.From && port <= range!.To).toBe(false);
        }
      }
    });

    it('is associated with every isolated subnet', () => {
      template.resourceCountIs('AWS::EC2::SubnetNetworkAclAssociation', 3);
    });
  });

  it('has no security group ingress from 0.0.0.0/0', () => {
    expect(JSON.stringify(template.toJSON())).not.toMatch(
      /"CidrIp":"0\.0\.0\.0\/0"[^}]*"IpProtocol"[^}]*}[^\]]*\]\s*,?\s*"SecurityGroupEgress"/,
    );
    for (const [, group] of resourcesOf(template, 'AWS::EC2::SecurityGroup')) {
      for (const rule of (group.Properties?.SecurityGroupIngress as { CidrIp?: string }[] | undefined) ?? []) {
        expect(rule.CidrIp).not.toBe('0.0.0.0/0');
      }
    }
    template.resourcePropertiesCountIs('AWS::EC2::SecurityGroupIngress', { CidrIp: '0.0.0.0/0' }, 0);
  });

  it('has termination protection in prod only', () => {
    expect(synthStage(testConfig('prod')).stage.network.terminationProtection).toBe(true);
    expect(synthStage(testConfig('dev')).stage.network.terminationProtection).toBe(false);
  });

  it('pins the logical IDs of stateful resources', () => {
    expect(Object.keys(template.findResources('AWS::EC2::VPC'))).toEqual(['NetworkVpc7FB7348F']);
    expect(Object.keys(template.findResources('AWS::KMS::Key'))).toEqual(['LogKey15608DC4']);
  });

  it('matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });
});
