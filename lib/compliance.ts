import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type App, Stack, Stage, Token, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Control Tower proactive-control rules disabled for the whole app, each with its reason
 * (docs/compliance.md repeats them). cfn-guard can only disable rules globally, so this stays
 * empty unless a rule cannot be met by any resource of this app.
 */
export const DISABLED_GUARD_RULES: Readonly<Record<string, string>> = {};

/**
 * Registers every compliance check on the app: the cdk-nag packs AwsSolutions, Serverless and
 * NIST 800-53 rev 5, and the Control Tower proactive controls (cfn-guard). They run at synth.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
    new NIST80053R5Checks(app),
    new CfnGuardValidator({ disabledRules: Object.keys(DISABLED_GUARD_RULES) }),
  );
}

/**
 * Acknowledges one compliance finding on one resource, with the reason a security reviewer
 * reads in docs/compliance.md. Refuses stacks, stages and apps: acknowledgements never cover
 * more than the resource they are about.
 */
export function acknowledge(resource: IConstruct, id: string, reason: string): void {
  if (Stack.isStack(resource) || Stage.isStage(resource)) {
    throw new Error(`acknowledge(${id}): acknowledge on one resource, not on ${resource.node.path || 'the app'}`);
  }
  if (reason.trim().length < 20) {
    throw new Error(`acknowledge(${id}) at ${resource.node.path}: the reason must explain the exception`);
  }
  Validations.of(resource).acknowledge({ id, reason });
}

export interface Finding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
  readonly description: string;
}

export interface AcknowledgedFinding extends Finding {
  readonly reason: string;
}

export interface ComplianceReport {
  readonly errors: Finding[];
  readonly warnings: Finding[];
  readonly acknowledged: AcknowledgedFinding[];
}

interface RawViolation {
  ruleName: string;
  description: string;
  severity?: string;
  violatingConstructs: { constructPath: string; reason?: string; acknowledgedId?: string }[];
}
interface RawReport {
  pluginReports: { pluginName: string; violations: RawViolation[]; suppressedViolations?: RawViolation[] }[];
}

/**
 * Reads the validation report CDK writes into the cloud assembly. Used by `bin/crm.ts` to fail
 * synth on any unacknowledged error (the CDK CLI does not always fail on plugin findings) and by
 * the tests.
 */
export function readComplianceReport(assemblyDir: string): ComplianceReport {
  let raw: RawReport;
  try {
    raw = JSON.parse(readFileSync(join(assemblyDir, 'validation-report.json'), 'utf8')) as RawReport;
  } catch {
    return { errors: [], warnings: [], acknowledged: [] };
  }
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const acknowledged: AcknowledgedFinding[] = [];
  for (const plugin of raw.pluginReports) {
    for (const v of plugin.violations) {
      for (const c of v.violatingConstructs) {
        const f = {
          plugin: plugin.pluginName,
          rule: v.ruleName,
          severity: v.severity ?? 'error',
          path: c.constructPath,
          description: v.description,
        };
        (f.severity === 'warning' || f.severity === 'info' ? warnings : errors).push(f);
      }
    }
    for (const v of plugin.suppressedViolations ?? []) {
      // Suppressed entries are one per acknowledged resource.
      const s = v as unknown as RawViolation['violatingConstructs'][number] & RawViolation;
      for (const c of s.violatingConstructs ?? [s]) {
        acknowledged.push({
          plugin: plugin.pluginName,
          rule: s.acknowledgedId ?? s.ruleName,
          severity: s.severity ?? 'error',
          path: c.constructPath,
          description: s.description,
          reason: s.reason ?? c.reason ?? '',
        });
      }
    }
  }
  return { errors, warnings, acknowledged };
}

/** One line per finding, for terminals. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `  [${f.plugin}] ${f.rule} at ${f.path}: ${f.description}`).join('\n');
}

/**
 * How cdk-nag spells an ARN of this stack in finding ids: pseudo parameters that are still
 * tokens appear as `<AWS::Region>` etc., resolved ones as their value. `suffix` follows `arn:`.
 * Example: `nagArn(stack, 'logs', 'log-group:RDSOSMetrics:*')`.
 */
export function nagArn(stack: Stack, service: string, resource: string): string {
  const show = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${show(stack.partition, 'Partition')}:${service}:${show(stack.region, 'Region')}:${show(stack.account, 'AccountId')}:${resource}`;
}
