import { App } from 'aws-cdk-lib';
import {
  type Acknowledgement,
  acknowledgementsOf,
  addComplianceChecks,
  type Finding,
  readComplianceReport,
} from './compliance';
import { loadConfigs } from './config';
import { CrmStage } from './crm-stage';

/** Account and region used to synthesise for compliance checks and docs (no AWS access needed). */
export const CHECK_ENV = { account: '123456789012', region: 'eu-west-1' } as const;

export interface ComplianceResult {
  readonly errors: readonly Finding[];
  readonly warnings: readonly Finding[];
  readonly acknowledgements: readonly Acknowledgement[];
}

/** Synthesises every environment (or one) with all compliance checks, as `cdk synth` does. */
export function synthWithComplianceChecks(selected?: string): ComplianceResult {
  // Report instead of throwing, so every finding can be listed.
  const app = new App({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
  for (const config of loadConfigs(selected)) {
    new CrmStage(app, `crm-${config.name}`, { config, env: CHECK_ENV });
  }
  addComplianceChecks(app);
  const { errors, warnings } = readComplianceReport(app.synth().directory);
  return { errors, warnings, acknowledgements: acknowledgementsOf(app) };
}
