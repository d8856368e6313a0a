import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CrmFunction, type CrmFunctionProps } from '../../../lib/constructs/crm-function';
import { TEST_ENV } from '../fixtures';

function fixture(overrides: Partial<CrmFunctionProps> = {}) {
  const stack = new Stack(new App(), 'Test', { env: TEST_ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const props: CrmFunctionProps = {
    entry: 'lambda/network-lockdown/handler.ts',
    description: 'test function',
    vpc,
    memorySize: 256,
    timeout: Duration.seconds(30),
    reservedConcurrentExecutions: 2,
    encryptionKey: key,
    logRetention: logs.RetentionDays.ONE_YEAR,
    ...overrides,
  };
  const fn = new CrmFunction(stack, 'Fn', props);
  return { stack, fn, template: Template.fromStack(stack) };
}

describe('CrmFunction', () => {
  let template: Template;
  beforeAll(() => {
    template = fixture().template;
  });

  it('runs on ARM64 with the newest Node.js runtime', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['arm64'], Runtime: 'nodejs24.x' });
  });

  it('has explicit memory, timeout and reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 256,
      Timeout: 30,
      ReservedConcurrentExecutions: 2,
    });
  });

  it('traces with X-Ray and logs JSON to its own encrypted log group', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^FnLogGroup') } }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
  });

  it('runs in the private subnets with its own security group and no open egress', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^VpcPrivateSubnet') }]),
        SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^FnSecurityGroup'), 'GroupId'] }],
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        Match.objectLike({ FromPort: 443, ToPort: 443, CidrIp: { 'Fn::GetAtt': ['Vpc8378EB38', 'CidrBlock'] } }),
      ],
    });
  });

  it('sends failed asynchronous events to a KMS-encrypted, TLS-only dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FnDeadLetterQueue'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('keeps all permissions in one customer-managed policy, none inline or AWS-managed', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
  });

  it('allows HTTPS to the internet only when asked', () => {
    const { template: t } = fixture({ allowHttpsToInternet: true });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443 })]),
    });
  });

  it.each([
    [{ memorySize: 64 }, /memorySize must be an integer between 128 and 10240 \(got 64\)/],
    [{ timeout: Duration.minutes(16) }, /timeout must be between 1 and 900 seconds \(got 960\)/],
    [{ reservedConcurrentExecutions: 0 }, /reservedConcurrentExecutions must be a positive integer \(got 0\)/],
  ] as [Partial<CrmFunctionProps>, RegExp][])('rejects bad props %o', (overrides, message) => {
    expect(() => fixture(overrides)).toThrow(message);
  });
});
