import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** What the cores need from Powertools Metrics; tests pass a recorder. */
export interface MetricSink {
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): unknown;
}

/**
 * One Powertools Metrics instance per function (module scope). Metrics carry the single
 * dimension `service=<serviceName>`; alarms in OpsStack must use the same namespace and dimension.
 */
export function createMetrics(namespace: string, serviceName: string): Metrics {
  return new Metrics({ namespace, serviceName });
}

export const Unit = { Count: MetricUnit.Count, Seconds: MetricUnit.Seconds } as const;
