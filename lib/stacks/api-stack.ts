import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { assertApiConnectionBudget, type EnvironmentConfig } from '../config';
import { ApiFirewall } from '../constructs/api-firewall';
import { CrmApi } from '../constructs/crm-api';
import type { CrmDatabase } from '../constructs/crm-database';
import type { CrmNetwork } from '../constructs/crm-network';
import { CrmUserPool } from '../constructs/crm-user-pool';
import { EncryptionKey } from '../constructs/log-encryption-key';
import { keepLegacyExports } from './legacy-exports';
import { retentionDays } from './retention';

/** The values the API stack publishes for the ops stack, as `/crm/<env>/api/<key>`. */
export type ApiParameter = 'function-name';

/** Name of an SSM parameter the API stack writes, e.g. `/crm/prod/api/function-name`. */
export function apiParameterName(environmentName: string, key: ApiParameter): string {
  return `/crm/${environmentName}/api/${key}`;
}

export interface ApiStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: CrmNetwork;
  /** The database in the data stack; this stack uses it through `accessFrom` (no unstable imports). */
  readonly database: CrmDatabase;
}

/** Stateless: the Cognito user pool, the REST API and its function, the WAF web ACL. */
export class ApiStack extends Stack {
  public readonly userPool: CrmUserPool;
  public readonly api: CrmApi;
  public readonly firewall: ApiFirewall;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, network } = props;
    // The proxy's endpoint and ARN come from SSM parameters at deploy time, not stack exports.
    const database = props.database.accessFrom(this);
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

    // The function's generated name changes when the function is replaced: the ops stack reads it
    // from this parameter when it deploys (after this stack), never through a stack export.
    new ssm.StringParameter(this, 'FunctionNameParameter', {
      parameterName: apiParameterName(config.name, 'function-name'),
      stringValue: this.api.handler.function.functionName,
      description: `CRM ${config.name}: name of the API function, read by the ops stack when it deploys`,
    });
    // Imported by the ops stack of earlier versions; it reads the parameter above now.
    keepLegacyExports(this, [this.api.handler.function.functionName]);

    // What a client or an operator needs to reach the API (`npx cdk deploy` prints them).
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'Base URL of the CRM API (append v1/...)' });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPool.userPoolId, description: 'Cognito user pool' });
    new CfnOutput(this, 'UserPoolClientId', {
      value: this.userPool.client.userPoolClientId,
      description: 'App client for sign-in (SRP)',
    });
  }
}
