/**
 * Custom resource: removes every rule from the VPC's default security group, so nothing that is
 * (mistakenly) placed in it can talk to anything. Create and Update revoke; Delete is a no-op
 * (the VPC and its default group go away with the stack).
 *
 * Resource properties: `SecurityGroupId` (the VPC's default security group).
 */
import {
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { ValidationError } from '../shared/errors';
import { createLogger } from '../shared/logger';

const ec2 = new EC2Client({});
const logger = createLogger('network-lockdown');

export interface LockdownResult {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly RevokedIngress: number; readonly RevokedEgress: number };
}

/** Revokes all rules of the group; returns how many of each direction were removed. */
export async function lockDown(client: EC2Client, groupId: string): Promise<{ ingress: number; egress: number }> {
  const ingress: string[] = [];
  const egress: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [groupId] }],
        NextToken: nextToken,
      }),
    );
    for (const rule of page.SecurityGroupRules ?? []) {
      if (!rule.SecurityGroupRuleId) continue;
      (rule.IsEgress ? egress : ingress).push(rule.SecurityGroupRuleId);
    }
    nextToken = page.NextToken;
  } while (nextToken);
  if (ingress.length > 0) {
    await client.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: ingress }));
  }
  if (egress.length > 0) {
    await client.send(new RevokeSecurityGroupEgressCommand({ GroupId: groupId, SecurityGroupRuleIds: egress }));
  }
  return { ingress: ingress.length, egress: egress.length };
}

export async function onEvent(event: CloudFormationCustomResourceEvent, client: EC2Client): Promise<LockdownResult> {
  const groupId = event.ResourceProperties.SecurityGroupId;
  if (typeof groupId !== 'string' || !/^sg-[0-9a-f]{8,17}$/.test(groupId)) {
    throw new ValidationError(
      'SecurityGroupId',
      `must be a security group id such as sg-0123abcd (got ${String(groupId)})`,
    );
  }
  const physicalId = `default-sg-lockdown-${groupId}`;
  if (event.RequestType === 'Delete') {
    return { PhysicalResourceId: event.PhysicalResourceId, Data: { RevokedIngress: 0, RevokedEgress: 0 } };
  }
  const revoked = await lockDown(client, groupId);
  logger.info('default security group locked down', { groupId, ...revoked });
  return { PhysicalResourceId: physicalId, Data: { RevokedIngress: revoked.ingress, RevokedEgress: revoked.egress } };
}

export const handler = (event: CloudFormationCustomResourceEvent): Promise<LockdownResult> => onEvent(event, ec2);
