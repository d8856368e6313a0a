import {
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { onEvent } from '../../../lambda/network-lockdown/handler';

const ec2 = mockClient(EC2Client);
const GROUP = 'sg-0a1b2c3d4e5f60718';

function event(
  type: 'Create' | 'Update' | 'Delete',
  properties: Record<string, unknown> = { SecurityGroupId: GROUP },
): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/x',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/crm-dev-Network/abc',
    RequestId: 'req-1',
    LogicalResourceId: 'DefaultSecurityGroupLockdown',
    ResourceType: 'Custom::DefaultSecurityGroupLockdown',
    ResourceProperties: { ServiceToken: 'x', ...properties },
    ...(type === 'Create' ? {} : { PhysicalResourceId: `default-sg-lockdown-${GROUP}` }),
    ...(type === 'Update' ? { OldResourceProperties: {} } : {}),
  } as CloudFormationCustomResourceEvent;
}

beforeEach(() => ec2.reset());

describe('default security group lockdown', () => {
  it('revokes every ingress and egress rule, across pages', async () => {
    ec2
      .on(DescribeSecurityGroupRulesCommand)
      .resolvesOnce({
        SecurityGroupRules: [{ SecurityGroupRuleId: 'sgr-in1', GroupId: GROUP, IsEgress: false, IpProtocol: '-1' }],
        NextToken: 'page2',
      })
      .resolvesOnce({
        SecurityGroupRules: [
          { SecurityGroupRuleId: 'sgr-out1', GroupId: GROUP, IsEgress: true, IpProtocol: '-1', CidrIpv4: '0.0.0.0/0' },
        ],
      });
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2.on(RevokeSecurityGroupEgressCommand).resolves({ Return: true });

    const result = await onEvent(event('Create'), ec2 as unknown as EC2Client);

    expect(result.Data).toEqual({ RevokedIngress: 1, RevokedEgress: 1 });
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)[0].args[0].input).toEqual({
      GroupId: GROUP,
      SecurityGroupRuleIds: ['sgr-in1'],
    });
    expect(ec2.commandCalls(RevokeSecurityGroupEgressCommand)[0].args[0].input).toEqual({
      GroupId: GROUP,
      SecurityGroupRuleIds: ['sgr-out1'],
    });
  });

  it('makes no revoke call when the group is already empty', async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    const result = await onEvent(event('Update'), ec2 as unknown as EC2Client);
    expect(result.Data).toEqual({ RevokedIngress: 0, RevokedEgress: 0 });
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('does nothing on Delete', async () => {
    const result = await onEvent(event('Delete'), ec2 as unknown as EC2Client);
    expect(result.PhysicalResourceId).toBe(`default-sg-lockdown-${GROUP}`);
    expect(ec2.calls()).toHaveLength(0);
  });

  it.each([undefined, '', 'sg-', 'vpc-0123abcd', 42])(
    'refuses a bad SecurityGroupId %p without any call',
    async (bad) => {
      await expect(onEvent(event('Create', { SecurityGroupId: bad }), ec2 as unknown as EC2Client)).rejects.toThrow(
        /SecurityGroupId: must be a security group id/,
      );
      expect(ec2.calls()).toHaveLength(0);
    },
  );
});
