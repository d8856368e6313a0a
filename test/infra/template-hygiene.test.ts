import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENTS, type EnvironmentConfig, validateConfig } from '../../lib/config';
import { CrmStage } from '../../lib/crm-stage';
import { resourcesOf, TEST_ENV, testConfig } from './fixtures';

type Properties = Record<string, unknown>;

/** Every stack of one environment (whatever stacks the stage has), as templates. */
function templatesOf(config: EnvironmentConfig): Template[] {
  const stage = new CrmStage(new App(), `crm-${config.name}`, { config, env: TEST_ENV });
  return stage.node.children.filter(Stack.isStack).map((s) => Template.fromStack(s));
}

const shipped = (name: string) =>
  validateConfig(name, structuredClone(ENVIRONMENTS[name as keyof typeof ENVIRONMENTS]));

function reservedConcurrency(templates: Template[]): number[] {
  return templates.flatMap((t) =>
    resourcesOf(t, 'AWS::Lambda::Function').map(([, f]) => Number(f.Properties.ReservedConcurrentExecutions ?? 0)),
  );
}

describe('template hygiene', () => {
  const names = Object.keys(ENVIRONMENTS);
  const templates = new Map<string, Template[]>();
  beforeAll(() => {
    for (const name of names) templates.set(name, templatesOf(shipped(name)));
  });

  describe('Lambda concurrency prerequisite (docs/runbooks/prerequisites.md)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'runbooks', 'prerequisites.md'), 'utf8');
    /** The doc's row for a label: [reserved sum, account limit needed]. */
    const row = (label: string): [number, number] | undefined => {
      const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const m = new RegExp(`^\\| ${escaped} \\| (\\d+) \\| (\\d+) \\|$`, 'm').exec(doc);
      return m ? [Number(m[1]), Number(m[2])] : undefined;
    };

    it.each(names)('states the reserved concurrency of %s and the account limit it needs', (name) => {
      const sum = reservedConcurrency(templates.get(name)!).reduce((a, b) => a + b, 0);
      expect(sum).toBeGreaterThan(0);
      // Lambda keeps 100 executions unreserved in every account and region.
      expect(row(`\`${name}\``)).toEqual([sum, sum + 100]);
    });

    it('states the total of all environments sharing one account and region', () => {
      const sum = names.flatMap((name) => reservedConcurrency(templates.get(name)!)).reduce((a, b) => a + b, 0);
      expect(row('all environments in one account and region')).toEqual([sum, sum + 100]);
    });

    it('lets an environment run without reserved concurrency', () => {
      const config = testConfig('dev', (c) => {
        c.lambda = { reservedConcurrency: false };
      });
      const all = templatesOf(config).flatMap((t) => resourcesOf(t, 'AWS::Lambda::Function'));
      expect(all.length).toBeGreaterThan(5);
      for (const [, f] of all) expect(f.Properties.ReservedConcurrentExecutions).toBeUndefined();
    });
  });

  it.each(names)('%s: every Step Functions log group is under /aws/vendedlogs/states/', (name) => {
    let machines = 0;
    for (const t of templates.get(name)!) {
      const resources = t.toJSON().Resources as Record<string, { Properties: Properties }>;
      for (const [, machine] of resourcesOf(t, 'AWS::StepFunctions::StateMachine')) {
        machines++;
        const destinations = (
          machine.Properties.LoggingConfiguration as {
            Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[];
          }
        ).Destinations;
        expect(destinations).toHaveLength(1);
        const groupId = destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
        expect(String(resources[groupId].Properties.LogGroupName)).toMatch(/^\/aws\/vendedlogs\/states\/[\w-]+$/);
      }
    }
    expect(machines).toBeGreaterThanOrEqual(2);
  });
});
