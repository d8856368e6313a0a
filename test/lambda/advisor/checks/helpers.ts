/**
 * Shared by the per-check tests (cdk-nag's pattern: each rule fires on a planted problem and
 * stays silent on a healthy database). Every helper talks to the real PostgreSQL 18 of the run.
 */
import { Client } from 'pg';
import { runAdvisor } from '../../../../lambda/advisor/advisor';
import type { ThresholdOverrides } from '../../../../lambda/advisor/thresholds';
import type { AdvisorReport, Check, Finding } from '../../../../lambda/advisor/types';

export async function connect(url: string, applicationName = 'crm-advisor-test'): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  return client;
}

/** Runs the given checks only, as the advisor would. */
export function runChecks(
  client: Client,
  checks: readonly Check[],
  thresholds?: ThresholdOverrides,
): Promise<AdvisorReport> {
  return runAdvisor(client, { checks, thresholds });
}

export function findingsOf(report: AdvisorReport, id: string, subject?: string): Finding[] {
  return report.findings.filter((f) => f.id === id && (subject === undefined || f.subject === subject));
}

export function only(report: AdvisorReport, id: string, subject?: string): Finding {
  const found = findingsOf(report, id, subject);
  if (found.length !== 1) {
    throw new Error(`expected one ${id} ${subject ?? ''} finding, got ${found.length}: ${JSON.stringify(found)}`);
  }
  return found[0];
}

/** No check failed: a silent check must be silent because the database is healthy, not because it broke. */
export function expectNoFailedChecks(report: AdvisorReport): void {
  const failed = findingsOf(report, 'advisor-check-failed');
  if (failed.length > 0) throw new Error(`checks failed: ${JSON.stringify(failed)}`);
}

/** Polls until `probe` returns a value other than undefined; never sleeps blindly. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, attempts = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Runs an advisor action's statements one by one on `client`, the way an operator would paste
 * them. A statement marked `-- repeat … until it updates 0 rows` is repeated until it does.
 */
export async function runActionSql(client: Client, sql: readonly string[]): Promise<void> {
  for (const statement of sql) {
    if (/-- repeat/.test(statement)) {
      for (let i = 0; i < 1000; i++) {
        const r = await client.query(statement);
        if (r.rowCount === 0) break;
      }
    } else {
      await client.query(statement);
    }
  }
}
