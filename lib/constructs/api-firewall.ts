import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface ApiFirewallProps {
  /** Environment name; the ACL is `crm-<name>-api`, its logs `aws-waf-logs-crm-<name>`. */
  readonly environmentName: string;
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** Requests per client IP per 5 minutes before the rate rule blocks. */
  readonly rateLimitPer5Min: number;
  /** When non-empty, every source outside these CIDRs is blocked. */
  readonly allowedIpCidrs: readonly string[];
  /** Largest request body in bytes (at most 64 KiB, the most WAF inspects for API Gateway). */
  readonly maxBodyBytes: number;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

const MAX_INSPECTED_BODY_BYTES = 64 * 1024;

/** AWS managed rule groups, in evaluation order after the allowlist and IP reputation. */
const MANAGED_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
];

/**
 * The regional WAFv2 web ACL in front of the API stage: optional IP allowlist, Amazon IP
 * reputation list, a rate limit per client IP, a request body size limit, and the AWS managed
 * Common, KnownBadInputs and SQLi rule groups. Logs go to an encrypted `aws-waf-logs-*` group
 * with the Authorization header redacted.
 */
export class ApiFirewall extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  public readonly logGroup: logs.LogGroup;
  public readonly ipSet?: wafv2.CfnIPSet;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    if (props.maxBodyBytes > MAX_INSPECTED_BODY_BYTES) {
      throw new Error(
        `ApiFirewall: maxBodyBytes must be at most ${MAX_INSPECTED_BODY_BYTES} (got ${props.maxBodyBytes})`,
      );
    }
    const name = `crm-${props.environmentName}-api`;
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });

    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    if (props.allowedIpCidrs.length > 0) {
      this.ipSet = new wafv2.CfnIPSet(this, 'AllowedIps', {
        name: `${name}-allowed`,
        scope: 'REGIONAL',
        ipAddressVersion: 'IPV4',
        addresses: [...props.allowedIpCidrs],
        description: 'Source addresses allowed to call the CRM API (config api.allowedIpCidrs)',
      });
      rules.push({
        name: 'BlockOutsideAllowlist',
        priority: 0,
        action: { block: {} },
        statement: { notStatement: { statement: { ipSetReferenceStatement: { arn: this.ipSet.attrArn } } } },
        visibilityConfig: visibility(`${name}-allowlist`),
      });
    }
    rules.push(
      {
        name: 'AWSManagedRulesAmazonIpReputationList',
        priority: 1,
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesAmazonIpReputationList' } },
        visibilityConfig: visibility(`${name}-ip-reputation`),
      },
      {
        name: 'RateLimitPerIp',
        priority: 2,
        action: { block: {} },
        statement: {
          rateBasedStatement: { limit: props.rateLimitPer5Min, aggregateKeyType: 'IP', evaluationWindowSec: 300 },
        },
        visibilityConfig: visibility(`${name}-rate-limit`),
      },
      {
        // Bodies beyond the inspection limit count as a match (oversize handling), so nothing
        // larger than maxBodyBytes passes even when it is larger than what WAF reads.
        name: 'BodySizeLimit',
        priority: 3,
        action: { block: {} },
        statement: {
          sizeConstraintStatement: {
            fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
            comparisonOperator: 'GT',
            size: props.maxBodyBytes,
            textTransformations: [{ priority: 0, type: 'NONE' }],
          },
        },
        visibilityConfig: visibility(`${name}-body-size`),
      },
      ...MANAGED_GROUPS.map(
        (group, i): wafv2.CfnWebACL.RuleProperty => ({
          name: group,
          priority: 10 + i,
          overrideAction: { none: {} },
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name: group,
              // The body size is governed by BodySizeLimit above (the Common set stops at 8 KiB).
              ...(group === 'AWSManagedRulesCommonRuleSet'
                ? { ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }] }
                : {}),
            },
          },
          visibilityConfig: visibility(`${name}-${group}`),
        }),
      ),
    );

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name,
      scope: 'REGIONAL',
      description: `CRM ${props.environmentName}: API Gateway stage firewall`,
      defaultAction: { allow: {} },
      rules,
      visibilityConfig: visibility(name),
      associationConfig: {
        requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_64' } },
      },
    });

    new wafv2.CfnWebACLAssociation(this, 'StageAssociation', {
      resourceArn: props.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    const logGroupName = `aws-waf-logs-crm-${props.environmentName}`;
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // WAF wants the log group ARN without the trailing `:*` that the LogGroup attribute carries.
    const logGroupArn = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: logGroupName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [logGroupArn],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }],
    });
    logging.node.addDependency(this.logGroup);
  }
}
