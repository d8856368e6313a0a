#!/usr/bin/env node
/**
 * The CDK app: one CrmStage per environment in lib/config, with the compliance checks on.
 * `-c env=<name>` synthesises one environment; without it, all of them.
 * This is the only place that reads context and process.env (architecture rule 2).
 */
import { App } from 'aws-cdk-lib';
import { addComplianceChecks, formatFindings, readComplianceReport } from '../lib/compliance';
import { loadConfigs } from '../lib/config';
import { CrmStage } from '../lib/crm-stage';

function main(): void {
  const app = new App();
  const selected = app.node.tryGetContext('env') as string | undefined;
  for (const config of loadConfigs(selected)) {
    new CrmStage(app, `crm-${config.name}`, {
      config,
      env: {
        account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT,
        region: config.region ?? process.env.CDK_DEFAULT_REGION,
      },
    });
  }
  addComplianceChecks(app);
  const assembly = app.synth();
  // Zero unacknowledged errors: fail synth (and so `cdk deploy`) on any.
  const { errors } = readComplianceReport(assembly.directory);
  if (errors.length > 0) {
    console.error(`Compliance: ${errors.length} unacknowledged error(s):\n${formatFindings(errors)}`);
    process.exitCode = 1;
  }
}

try {
  main();
} catch (err) {
  // A bad config or environment name: one clear message, no stack trace, non-zero exit.
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
