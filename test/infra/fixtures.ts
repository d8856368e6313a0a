import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addComplianceChecks } from '../../lib/compliance';
import { ENVIRONMENTS, type EnvironmentConfig, validateConfig } from '../../lib/config';
import { CrmStage } from '../../lib/crm-stage';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' } as const;

/** A validated copy of a shipped environment config with overrides applied. */
export function testConfig(
  name: 'dev' | 'prod',
  override: (c: EnvironmentConfig) => void = () => {},
): EnvironmentConfig {
  const copy = structuredClone(ENVIRONMENTS[name]) as EnvironmentConfig;
  override(copy);
  return validateConfig(name, copy);
}

export interface SynthesisedStage {
  readonly app: App;
  readonly stage: CrmStage;
  readonly templates: {
    readonly network: Template;
    readonly data: Template;
    readonly api: Template;
    readonly ops: Template;
  };
}

/** Builds one environment's stage (optionally with the compliance plugins) and its templates. */
export function synthStage(config: EnvironmentConfig, opts: { compliance?: boolean } = {}): SynthesisedStage {
  const app = new App();
  const stage = new CrmStage(app, `crm-${config.name}`, { config, env: TEST_ENV });
  if (opts.compliance) addComplianceChecks(app);
  return {
    app,
    stage,
    templates: {
      network: Template.fromStack(stage.network),
      data: Template.fromStack(stage.data),
      api: Template.fromStack(stage.api),
      ops: Template.fromStack(stage.ops),
    },
  };
}

/** All resources of a type in a template, as [logicalId, resource] pairs. */
export function resourcesOf(template: Template, type: string): [string, { Properties: Record<string, unknown> }][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [
    id,
    { ...(r as object), Properties: (r as { Properties?: Record<string, unknown> }).Properties ?? {} },
  ]);
}
