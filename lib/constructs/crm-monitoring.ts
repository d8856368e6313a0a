import { ArnFormat, Duration, Lazy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import {
  type AlarmWithAnnotation,
  type CustomMetricGroup,
  DefaultDashboardFactory,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { defaultMaxConnections, type MonitoringConfig } from '../config';
import type { ICrmDatabase } from './crm-database';
import type { DatabaseAdvisor } from './database-advisor';

const GIB = 1024 ** 3;

/** A function to watch: errors, throttles and maximum duration against its timeout. */
export interface MonitoredFunction {
  /** Short name used in alarm names and on the dashboard, e.g. `Api`. */
  readonly name: string;
  readonly function: lambda.IFunction;
  /** Its configured timeout (the duration alarm is a share of it). */
  readonly timeout: Duration;
  /**
   * Whether its errors already have an alarm elsewhere (e.g. DatabaseSnapshots), so operators
   * are not notified twice for one failure. @default false
   */
  readonly errorsAlarmedElsewhere?: boolean;
}

/**
 * The API stack as the monitoring sees it: by name only (literals, or a deploy-time parameter for
 * the function's generated name), so the ops stack imports nothing from the API stack.
 */
export interface MonitoredApi {
  readonly restApiName: string;
  readonly stageName: string;
  /** The API function's physical name and its timeout. */
  readonly functionName: string;
  readonly functionTimeout: Duration;
  /**
   * The web ACL; the library reads only its `name` and `scope`, plain strings set at synth, so
   * this is no cross-stack reference.
   */
  readonly webAcl: wafv2.CfnWebACL;
}

/** Existing alarms shown on the dashboard as one status widget. */
export interface AlarmGroup {
  readonly title: string;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

export interface CrmMonitoringProps {
  readonly environmentName: string;
  readonly thresholds: MonitoringConfig;
  /** Every alarm notifies this topic on ALARM and on OK. */
  readonly alarmTopic: sns.ITopic;
  readonly database: ICrmDatabase;
  readonly instanceClass: string;
  readonly allocatedStorageGiB: number;
  readonly api: MonitoredApi;
  /** The functions of this stack (the API function comes from `api`). */
  readonly functions: readonly MonitoredFunction[];
  readonly advisor: DatabaseAdvisor;
  /** Dead-letter queues of schedules and functions: anything in them was given up. */
  readonly deadLetterQueues?: ReadonlyArray<{ readonly name: string; readonly queue: sqs.IQueue }>;
  /** Alarms made elsewhere (backup, restore, drills), shown on the dashboard. */
  readonly alarmGroups: readonly AlarmGroup[];
}

/**
 * Alarms and the `crm-<env>` dashboard, built with cdk-monitoring-constructs: RDS instance, RDS
 * Proxy, the REST API, every Lambda, the WAF web ACL and the database advisor, plus status
 * widgets for the backup and restore alarms made by their constructs.
 *
 * The library has monitors for RDS instances, API Gateway, Lambda and WAFv2, and they are used for
 * what they offer. It has no RDS Proxy monitor and its RDS instance monitor alarms only on CPU,
 * free storage (absolute) and connection counts, so freeable memory, free storage in %, read/write
 * latency, disk queue depth, the proxy metrics and the advisor's findings are aws-cloudwatch
 * metrics (or metric math) handed to the library's `monitorCustom`: the library still creates the
 * alarms, with the same naming, SNS actions and dashboard widgets as the rest.
 */
export class CrmMonitoring extends Construct {
  public readonly facade: MonitoringFacade;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CrmMonitoringProps) {
    super(scope, id);
    const env = props.environmentName;
    const topicAction = new SnsAlarmActionStrategy({ onAlarmTopic: props.alarmTopic, onOkTopic: props.alarmTopic });
    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', {
      dashboardNamePrefix: `crm-${env}`,
      createDashboard: true,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
    });
    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: `crm-${env}`,
        actionsEnabled: true,
        action: topicAction,
        // Three consecutive 5-minute breaches, unless an alarm says otherwise (failures: one).
        datapointsToAlarm: 3,
      },
      metricFactoryDefaults: { period: Duration.minutes(5) },
      dashboardFactory: dashboards,
    });
    this.dashboard = dashboards.dashboard!;

    this.facade.addLargeHeader(`CRM ${env}`);
    this.monitorDatabase(props);
    this.monitorApi(props);
    this.monitorFunctions(props);
    this.monitorAdvisor(props);
    if (props.deadLetterQueues && props.deadLetterQueues.length > 0) {
      this.facade.monitorCustom({
        alarmFriendlyName: 'DeadLetters',
        humanReadableName: 'Dead-letter queues',
        metricGroups: props.deadLetterQueues.map(({ name, queue }) => ({
          title: `${name} dead letters`,
          metrics: [
            {
              alarmFriendlyName: `${name}DeadLetters`,
              metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'Visible' }),
              addAlarm: {
                Critical: {
                  threshold: 0,
                  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                  datapointsToAlarm: 1,
                  treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                },
              },
            },
          ],
        })),
      });
    }

    // Backup, restore and drill alarms are made by their constructs (with the same topic as action).
    this.facade.addLargeHeader('Backup and restore');
    for (const group of props.alarmGroups) {
      this.facade.addWidget(
        new cloudwatch.AlarmStatusWidget({ title: group.title, alarms: [...group.alarms], width: 24, height: 3 }),
      );
    }
    this.facade.addLargeHeader('All monitoring alarms');
    this.facade.addWidget(
      new cloudwatch.AlarmStatusWidget({
        title: 'Monitoring alarms',
        alarms: this.alarms.map((a) => a.alarm),
        width: 24,
        height: 6,
      }),
    );
  }

  /** Alarms created through the library (the backup and restore alarms live in their constructs). */
  public get alarms(): AlarmWithAnnotation[] {
    return this.facade.createdAlarms();
  }

  private monitorDatabase(props: CrmMonitoringProps): void {
    const t = props.thresholds.database;
    const { database } = props;
    // Referenced by literal identifier: the dashboard and alarms need no import from the data stack.
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Instance', {
      instanceIdentifier: database.instanceIdentifier,
      instanceEndpointAddress: `${database.instanceIdentifier}.invalid`,
      port: database.port,
      securityGroups: [],
    });
    // The library alarms on an absolute connection count; "connections vs. the instance's max" is
    // that count at the configured share of the class's default max_connections.
    const maxConnections = defaultMaxConnections(props.instanceClass);
    this.facade.monitorRdsInstance({
      instance,
      alarmFriendlyName: 'Database',
      humanReadableName: `PostgreSQL ${database.instanceIdentifier}`,
      addCpuUsageAlarm: { Warning: { maxUsagePercent: t.cpuPercent } },
      addFreeStorageSpaceAlarm: { Critical: { minCount: t.freeStorageGiB * GIB, datapointsToAlarm: 1 } },
      addMaxConnectionCountAlarm: {
        Warning: {
          maxConnectionCount: Math.floor((maxConnections * t.connectionsPercentOfMax) / 100),
          alarmDescriptionOverride: `Connections above ${t.connectionsPercentOfMax} % of max_connections (${maxConnections} for ${props.instanceClass})`,
        },
      },
    });

    const rdsMetric = (metricName: string, statistic: string, dimensionsMap: Record<string, string>) =>
      new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName,
        statistic,
        dimensionsMap,
        period: Duration.minutes(5),
      });
    const db = (name: string, statistic = 'Average') =>
      rdsMetric(name, statistic, { DBInstanceIdentifier: database.instanceIdentifier });
    const proxy = (name: string, statistic: string) => rdsMetric(name, statistic, { ProxyName: database.proxyName });
    const above = (threshold: number) => ({
      Warning: { threshold, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
    });
    const below = (threshold: number) => ({
      Warning: { threshold, comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD },
    });
    const groups: CustomMetricGroup[] = [
      {
        title: 'Memory and storage',
        metrics: [
          {
            alarmFriendlyName: 'DatabaseFreeableMemory',
            metric: new cloudwatch.MathExpression({
              expression: 'm / 1048576',
              usingMetrics: { m: db('FreeableMemory') },
              label: 'Freeable memory (MiB)',
            }),
            addAlarm: below(t.freeableMemoryMiB),
          },
          {
            // Share of the configured allocation (storage autoscaling may have grown it since;
            // the absolute free-storage alarm covers the real floor).
            alarmFriendlyName: 'DatabaseFreeStoragePercent',
            metric: new cloudwatch.MathExpression({
              expression: `100 * s / ${props.allocatedStorageGiB * GIB}`,
              usingMetrics: { s: db('FreeStorageSpace', 'Minimum') },
              label: 'Free storage (% of allocated)',
            }),
            addAlarm: below(t.freeStoragePercent),
          },
        ],
      },
      {
        title: 'I/O',
        metrics: [
          {
            alarmFriendlyName: 'DatabaseReadLatency',
            metric: new cloudwatch.MathExpression({
              expression: 'r * 1000',
              usingMetrics: { r: db('ReadLatency') },
              label: 'Read latency (ms)',
            }),
            addAlarm: above(t.readLatencyMs),
          },
          {
            alarmFriendlyName: 'DatabaseWriteLatency',
            metric: new cloudwatch.MathExpression({
              expression: 'w * 1000',
              usingMetrics: { w: db('WriteLatency') },
              label: 'Write latency (ms)',
            }),
            addAlarm: above(t.writeLatencyMs),
          },
          {
            alarmFriendlyName: 'DatabaseDiskQueueDepth',
            metric: db('DiskQueueDepth'),
            addAlarm: above(t.diskQueueDepth),
          },
        ],
      },
    ];
    this.facade.monitorCustom({
      alarmFriendlyName: 'DatabaseHealth',
      humanReadableName: `PostgreSQL ${database.instanceIdentifier}: memory, storage, I/O`,
      metricGroups: groups,
    });

    const p = props.thresholds.proxy;
    this.facade.monitorCustom({
      alarmFriendlyName: 'Proxy',
      humanReadableName: `RDS Proxy ${database.proxyName}`,
      metricGroups: [
        {
          title: 'Client connections',
          metrics: [
            {
              alarmFriendlyName: 'ProxyClientConnections',
              metric: proxy('ClientConnections', 'Maximum'),
              addAlarm: above(p.clientConnections),
            },
          ],
        },
        {
          title: 'Connection borrow latency',
          metrics: [
            {
              // CloudWatch reports this metric in microseconds.
              alarmFriendlyName: 'ProxyBorrowLatency',
              metric: new cloudwatch.MathExpression({
                expression: 'b / 1000',
                usingMetrics: { b: proxy('DatabaseConnectionsBorrowLatency', 'Average') },
                label: 'Borrow latency (ms)',
              }),
              addAlarm: above(p.borrowLatencyMs),
            },
          ],
        },
      ],
    });
  }

  private monitorApi(props: CrmMonitoringProps): void {
    const t = props.thresholds;
    const { api } = props;
    // The library reads only the API's name (the ApiName dimension); the id and root are never
    // resolved, and synth fails loudly if that ever changes (they would need an import).
    const unused = (what: string) =>
      Lazy.string({
        produce: () => {
          throw new Error(`CrmMonitoring: the REST API ${what} is not known in this stack; monitor it by name`);
        },
      });
    const restApi = apigw.RestApi.fromRestApiAttributes(this, 'RestApi', {
      restApiName: api.restApiName,
      restApiId: unused('id'),
      rootResourceId: unused('root resource id'),
    });
    this.facade.monitorApiGateway({
      api: restApi,
      apiStage: api.stageName,
      alarmFriendlyName: 'Api',
      humanReadableName: `REST API ${api.restApiName}`,
      // The library's rate is the average of API Gateway's 5XXError (0 or 1 per request): a fraction.
      add5XXFaultRateAlarm: { Critical: { maxErrorRate: t.api.serverErrorRatePercent / 100 } },
      addLatencyP99Alarm: { Warning: { maxLatency: Duration.millis(t.api.latencyP99Ms) } },
    });
    this.facade.monitorWebApplicationFirewallAclV2({
      acl: api.webAcl,
      region: Stack.of(this).region,
      alarmFriendlyName: 'Waf',
      humanReadableName: `WAF ${api.webAcl.name}`,
      addBlockedRequestsCountAlarm: {
        Warning: { maxErrorCount: t.waf.blockedRequestsPer5Min, datapointsToAlarm: 1 },
      },
    });
  }

  private monitorFunctions(props: CrmMonitoringProps): void {
    const pct = props.thresholds.lambda.durationPercentOfTimeout;
    // The API function by name: no reference to the API stack's function construct.
    const apiFunction: MonitoredFunction = {
      name: 'Api',
      function: new FunctionByName(this, 'ApiFunction', props.api.functionName),
      timeout: props.api.functionTimeout,
    };
    for (const { name, function: fn, timeout, errorsAlarmedElsewhere } of [apiFunction, ...props.functions]) {
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn,
        alarmFriendlyName: `${name}Function`,
        humanReadableName: `${name} function`,
        addFaultCountAlarm: errorsAlarmedElsewhere
          ? undefined
          : { Critical: { maxErrorCount: 0, datapointsToAlarm: 1 } },
        addThrottlesCountAlarm: { Warning: { maxErrorCount: 0, datapointsToAlarm: 1 } },
        // From the timeout given here: an imported function has none for the library to read.
        addMaxLatencyAlarm: {
          Warning: {
            maxLatency: Duration.millis(Math.floor((timeout.toMilliseconds() * pct) / 100)),
            datapointsToAlarm: 1,
          },
        },
      });
    }
  }

  private monitorAdvisor(props: CrmMonitoringProps): void {
    const { advisor } = props;
    this.facade.monitorCustom({
      alarmFriendlyName: 'Advisor',
      humanReadableName: 'Database advisor (weekly)',
      metricGroups: [
        {
          title: 'Findings',
          metrics: [
            {
              alarmFriendlyName: 'AdvisorFindingsHigh',
              metric: advisor.metric('FindingsHigh'),
              addAlarm: {
                Critical: {
                  threshold: 0,
                  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                  datapointsToAlarm: 1,
                  // One data point a week: keep the state until the next report says otherwise.
                  treatMissingDataOverride: cloudwatch.TreatMissingData.IGNORE,
                  alarmDescriptionOverride:
                    'The weekly database advisor reported high-severity findings (see the report in S3 and docs/advisor.md)',
                },
              },
            },
            advisor.metric('FindingsMedium'),
            advisor.metric('FindingsLow'),
          ],
        },
        {
          title: 'Database health (advisor)',
          metrics: [
            advisor.metric('CacheHitRatio'),
            advisor.metric('ConnectionUsage'),
            advisor.metric('MaxDeadTupleRatio'),
            advisor.metric('MaxSequenceUsage'),
          ],
        },
      ],
    });
  }
}

/**
 * A function of another stack known only by its physical name, for metrics and alarms. Unlike
 * `Function.fromFunctionName` (which parses the name back out of the ARN it builds), its
 * FunctionName dimension is the name as given. It grants nothing and adds no permissions.
 */
class FunctionByName extends lambda.FunctionBase {
  public readonly functionName: string;
  public readonly functionArn: string;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly role = undefined;
  public readonly permissionsNode = this.node;
  public readonly architecture = lambda.Architecture.ARM_64;
  public readonly tenancyConfig = undefined;
  public readonly resourceArnsForGrantInvoke: string[];
  protected readonly canCreatePermissions = false;

  constructor(scope: Construct, id: string, functionName: string) {
    super(scope, id, { physicalName: functionName });
    this.functionName = functionName;
    this.functionArn = Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: functionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.grantPrincipal = new iam.UnknownPrincipal({ resource: this });
    this.resourceArnsForGrantInvoke = [this.functionArn];
  }
}
