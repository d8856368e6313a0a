import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, nagArn } from '../compliance';
import { APP_DB_USER, type ICrmDatabase } from './crm-database';
import { CrmFunction } from './crm-function';
import { ManagedPolicyRole } from './function-role';

/** RDS Proxy for PostgreSQL listens on PostgreSQL's default port, whatever the instance's port. */
export const PROXY_PORT = 5432;

/** Stage name; the application's own paths start with /v1. */
export const API_STAGE_NAME = 'live';

/** API Gateway gives up after 29 s; the function stops before that. */
export const API_FUNCTION_TIMEOUT = Duration.seconds(25);

/** Name of the REST API (a literal, so the ops stack monitors it without an import). */
export function restApiName(environmentName: string): string {
  return `crm-${environmentName}`;
}

export interface CrmApiProps {
  readonly environmentName: string;
  readonly vpc: ec2.IVpc;
  readonly database: ICrmDatabase;
  readonly userPool: cognito.IUserPool;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly throttling: { readonly rateLimit: number; readonly burstLimit: number };
  readonly corsOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly reservedConcurrency: number;
  readonly memoryMiB: number;
  readonly dbPoolMax: number;
  /**
   * Set the account's API Gateway CloudWatch Logs role (AWS::ApiGateway::Account, one per account
   * and region). Exactly one environment per account and region does; the others rely on it.
   * @default true
   */
  readonly manageAccountLoggingRole?: boolean;
}

/**
 * Access log groups of every environment start with this: the account-level role (shared by the
 * environments of one account and region) may write to them and to the execution log groups.
 */
export const ACCESS_LOG_GROUP_PREFIX = '/aws/apigateway/crm-';

/**
 * The CRM REST API: a regional API Gateway REST API whose `/v1/{proxy+}` routes every method,
 * behind a Cognito authorizer, to the API function (Lambda proxy integration); only
 * `GET /v1/health` is open. The stage throttles, writes JSON access logs to an encrypted group,
 * logs execution errors and traces with X-Ray. The function runs in the private subnets and its
 * security group reaches only the RDS Proxy, where it signs in as `crm_app` with IAM.
 */
export class CrmApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly handler: CrmFunction;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly authorizer: apigw.CognitoUserPoolsAuthorizer;

  constructor(scope: Construct, id: string, props: CrmApiProps) {
    super(scope, id);
    const { database } = props;

    this.handler = new CrmFunction(this, 'Handler', {
      entry: 'lambda/api/handler.ts',
      description: `CRM ${props.environmentName}: the CRM REST API`,
      vpc: props.vpc,
      memorySize: props.memoryMiB,
      timeout: API_FUNCTION_TIMEOUT,
      reservedConcurrentExecutions: props.reservedConcurrency,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      retryAttempts: 0,
      environment: {
        DB_PROXY_ENDPOINT: database.proxy.endpoint,
        DB_PORT: String(PROXY_PORT),
        DB_NAME: database.databaseName,
        DB_USER: APP_DB_USER,
        DB_POOL_MAX: String(props.dbPoolMax),
        MAX_BODY_BYTES: String(props.maxBodyBytes),
        LOG_LEVEL: 'INFO',
      },
    });
    this.restrictEgressToProxy(database);
    database.proxy.grantConnect(this.handler.role, APP_DB_USER);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogGroup', {
      logGroupName: `${ACCESS_LOG_GROUP_PREFIX}${props.environmentName}/access`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Execution and access logging need the account's API Gateway CloudWatch role; this one may
    // write only to API Gateway's execution log groups and this project's access log groups
    // (instead of the AWS-managed policy on "*"). One per account and region: with
    // manageAccountLoggingRole false, another environment of the account sets it.
    let account: apigw.CfnAccount | undefined;
    if (props.manageAccountLoggingRole ?? true) {
      const cloudWatchRole = this.cloudWatchRole();
      account = new apigw.CfnAccount(this, 'Account', { cloudWatchRoleArn: cloudWatchRole.roleArn });
      account.node.addDependency(cloudWatchRole.policy);
    }

    this.api = new apigw.RestApi(this, 'RestApi', {
      restApiName: restApiName(props.environmentName),
      description: `CRM ${props.environmentName}: REST API`,
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: false,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: props.throttling.rateLimit,
        throttlingBurstLimit: props.throttling.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [...props.corsOrigins],
        allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'Idempotency-Key', 'X-Amz-Date'],
        exposeHeaders: ['ETag', 'Location'],
        maxAge: Duration.hours(1),
      },
      disableExecuteApiEndpoint: false,
    });
    if (account) this.api.deploymentStage.node.addDependency(account);
    // API Gateway would create the execution log group itself on first use: unencrypted and
    // kept forever. Created here first, with the key and the retention of every other group.
    const executionLogGroup = new logs.LogGroup(this, 'ExecutionLogGroup', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE_NAME}`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api.deploymentStage.node.addDependency(executionLogGroup);

    // Basic parameter validation on every method (the application validates bodies with zod).
    const validator = this.api.addRequestValidator('RequestValidator', {
      requestValidatorName: 'parameters-and-body',
      validateRequestParameters: true,
      validateRequestBody: true,
    });

    this.authorizer = new apigw.CognitoUserPoolsAuthorizer(this, 'Authorizer', {
      cognitoUserPools: [props.userPool],
      authorizerName: `crm-${props.environmentName}-cognito`,
      resultsCacheTtl: Duration.minutes(5),
    });

    const integration = new apigw.LambdaIntegration(this.handler.function, { proxy: true, allowTestInvoke: false });
    const v1 = this.api.root.addResource('v1');
    const health = v1.addResource('health').addMethod('GET', integration, {
      authorizationType: apigw.AuthorizationType.NONE,
      requestValidator: validator,
    });
    v1.addResource('{proxy+}').addMethod('ANY', integration, {
      authorizer: this.authorizer,
      authorizationType: apigw.AuthorizationType.COGNITO,
      requestValidator: validator,
    });

    const healthReason =
      'GET /v1/health is the unauthenticated liveness probe for load checks and monitors; it returns no CRM data. Every other method requires a Cognito token.';
    acknowledge(health, 'AwsSolutions-APIG4', healthReason);
    acknowledge(health, 'AwsSolutions-COG4', healthReason);
    this.acknowledgeCorsPreflights();
    this.limitInvokePermissionsToThisAccount();

    const stage = this.api.deploymentStage.node.defaultChild!;
    acknowledge(
      stage,
      'NIST.800.53.R5-APIGWCacheEnabledAndEncrypted',
      "Responses are per-user, authorization-dependent CRM records with ETag concurrency control; a stage cache would serve stale or another caller's data. Nothing is cached, so nothing cached needs encrypting.",
    );
    acknowledge(
      stage,
      'NIST.800.53.R5-APIGWSSLEnabled',
      'A stage client certificate authenticates API Gateway to an HTTP backend; this stage only invokes a Lambda function through IAM, so there is no backend to present it to. Clients use TLS to the regional endpoint.',
    );
  }

  /** The invoke permissions API Gateway gets also name this account (CT.LAMBDA.PR.2). */
  private limitInvokePermissionsToThisAccount(): void {
    const account = Stack.of(this).account;
    for (const c of this.api.node.findAll()) {
      if (!(c instanceof lambda.CfnPermission)) continue;
      c.sourceAccount = account;
      if (Token.isUnresolved(account)) {
        // Environment-agnostic synth (no account configured): the rule wants a literal account.
        acknowledge(
          c,
          'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
          'The permission is limited to this account (SourceAccount is the AWS::AccountId of the deployment, only known at deploy time here) and to this API stage and route (SourceArn).',
        );
      }
    }
  }

  /**
   * CrmFunction opens HTTPS to the VPC endpoints; the API function uses no AWS API over the
   * network (the IAM auth token is signed locally, X-Ray goes through the Lambda runtime), so its
   * group's only egress is the proxy port. CloudFormation needs at least one egress entry on a
   * group without "allow all", so the inline list holds CDK's usual match-nothing rule.
   */
  private restrictEgressToProxy(database: ICrmDatabase): void {
    const group = this.handler.securityGroup;
    (group.node.defaultChild as ec2.CfnSecurityGroup).addPropertyOverride('SecurityGroupEgress', [
      {
        CidrIp: '255.255.255.255/32',
        Description: 'Disallow all traffic',
        FromPort: 252,
        IpProtocol: 'icmp',
        ToPort: 86,
      },
    ]);
    // Egress from the function group, ingress on the proxy group (created in this stack).
    this.handler.connections.allowTo(
      database.proxySecurityGroup,
      ec2.Port.tcp(PROXY_PORT),
      'API function to RDS Proxy (PostgreSQL)',
    );
  }

  /** The account-level role API Gateway writes execution logs with, limited to those groups. */
  private cloudWatchRole(): ManagedPolicyRole {
    const role = new ManagedPolicyRole(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway execution logging to CloudWatch Logs',
    });
    const stack = Stack.of(this);
    const logGroups = `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:`;
    const groups = `${logGroups}API-Gateway-Execution-Logs_*`;
    const accessGroups = `${logGroups}${ACCESS_LOG_GROUP_PREFIX}*`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:PutRetentionPolicy',
          'logs:DescribeLogStreams',
        ],
        resources: [groups, `${groups}:log-stream:*`],
      }),
    );
    role.addToPrincipalPolicy(
      // Access logs: the groups exist (each environment creates its own), so no CreateLogGroup.
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [accessGroups, `${accessGroups}:log-stream:*`],
      }),
    );
    role.addToPrincipalPolicy(
      // DescribeLogGroups has no resource-level permissions.
      new iam.PolicyStatement({ actions: ['logs:DescribeLogGroups'], resources: ['*'] }),
    );
    const reason =
      'API Gateway names its execution log groups API-Gateway-Execution-Logs_<api-id>/<stage> and streams per request; the grant is limited to those groups in this account and region.';
    acknowledge(
      role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', 'log-group:API-Gateway-Execution-Logs_*')}]`,
      reason,
    );
    acknowledge(
      role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', 'log-group:API-Gateway-Execution-Logs_*:log-stream:*')}]`,
      reason,
    );
    const accessReason =
      'The account-level role writes the access logs of every environment of this project in the account; their groups are named /aws/apigateway/crm-<env>/access and streams are per stage deployment.';
    acknowledge(
      role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', `log-group:${ACCESS_LOG_GROUP_PREFIX}*`)}]`,
      accessReason,
    );
    acknowledge(
      role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', `log-group:${ACCESS_LOG_GROUP_PREFIX}*:log-stream:*`)}]`,
      accessReason,
    );
    acknowledge(
      role.policy,
      'AwsSolutions-IAM5[Resource::*]',
      'logs:DescribeLogGroups has no resource-level permissions; API Gateway calls it before it creates its execution log groups.',
    );
    return role;
  }

  /** CORS preflights carry no credentials by the Fetch standard, so they cannot be authorized. */
  private acknowledgeCorsPreflights(): void {
    const reason =
      'CORS preflight (OPTIONS) requests never carry credentials (Fetch standard); this mock integration only answers with the configured origins and reaches no data.';
    for (const c of this.api.node.findAll()) {
      if (c instanceof apigw.Method && c.httpMethod === 'OPTIONS') {
        acknowledge(c, 'AwsSolutions-APIG4', reason);
        acknowledge(c, 'AwsSolutions-COG4', reason);
      }
    }
  }
}
