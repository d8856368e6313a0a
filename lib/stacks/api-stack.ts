import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { assertApiConnectionBudget, type EnvironmentConfig } from '../config';
import { ApiFirewall } from '../constructs/api-firewall';
import { CrmApi } from '../constructs/crm-api';
import type { CrmDatabase } from '../constructs/crm-database';
import type { CrmNetwork } from '../constructs/crm-network';
import { CrmUserPool } from '../constructs/crm-user-pool';
import { EncryptionKey } from '../constructs/log-encryption-key';
import { retentionDays } from './retention';

export interface ApiStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: CrmNetwork;
  readonly database: CrmDatabase;
}

/** Stateless: the Cognito user pool, the REST API and its function, the WAF web ACL. */
export class ApiStack extends Stack {
  public readonly userPool: CrmUserPool;
  public readonly api: CrmApi;
  public readonly firewall: ApiFirewall;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, network, database } = props;
    assertApiConnectionBudget(config);
    const logRetention = retentionDays(config.logRetentionDays);
    const maxBodyBytes = config.api.maxBodyKiB * 1024;

    const key = new EncryptionKey(this, 'ApiKey', {
      alias: `crm-${config.name}-api`,
      description: `CRM ${config.name}: API access, WAF and function logs, function environment`,
    }).key;
    this.userPool = new CrmUserPool(this, 'Users', {
      environmentName: config.name,
      mfa: config.api.mfa,
      protect: config.terminationProtection,
    });
    this.api = new CrmApi(this, 'Api', {
      environmentName: config.name,
      vpc: network.vpc,
      database,
      userPool: this.userPool.userPool,
      encryptionKey: key,
      logRetention,
      throttling: config.api.throttling,
      corsOrigins: config.api.corsOrigins,
      maxBodyBytes,
      reservedConcurrency: config.api.reservedConcurrency,
      memoryMiB: config.api.memoryMiB,
      dbPoolMax: config.api.dbPoolMax,
      manageAccountLoggingRole: config.api.manageAccountLoggingRole ?? true,
    });
    this.firewall = new ApiFirewall(this, 'Firewall', {
      environmentName: config.name,
      stageArn: this.api.api.deploymentStage.stageArn,
      rateLimitPer5Min: config.api.wafRateLimitPer5Min,
      allowedIpCidrs: config.api.allowedIpCidrs,
      maxBodyBytes,
      encryptionKey: key,
      logRetention,
    });

    // What a client or an operator needs to reach the API (`npx cdk deploy` prints them).
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Base URL of the CRM API (append v1/...)' });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPool.userPoolId, description: 'Cognito user pool' });
    new CfnOutput(this, 'UserPoolClientId', {
      value: this.userPool.client.userPoolClientId,
      description: 'App client for sign-in (SRP)',
    });
  }
}
