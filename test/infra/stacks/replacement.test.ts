import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentConfig } from '../../../lib/config';
import { CrmStage } from '../../../lib/crm-stage';
import { TEST_ENV, testConfig } from '../fixtures';

// biome-ignore lint/suspicious/noExplicitAny: the walk reads arbitrary CloudFormation JSON
type Json = any;
type StackName = 'network' | 'data' | 'api' | 'ops';
type Templates = Record<StackName, Json>;

const STATELESS: readonly StackName[] = ['api', 'ops'];

/**
 * What a stateless stack may import: values that stay the same for the life of the stateful stack
 * that exports them (CloudFormation refuses to change or delete an export another stack imports, so
 * an imported value pins its resource). Endpoints, proxy ARNs, instance resource ids and function
 * names are not on the list: they change when their resource is replaced.
 */
const STABLE = [
  'AWS::EC2::VPC.Ref',
  'AWS::EC2::VPC.CidrBlock',
  'AWS::EC2::Subnet.Ref',
  'AWS::EC2::SecurityGroup.GroupId',
  'AWS::KMS::Key.Arn',
  // Ref of the attachment is the master secret's ARN, which the instance's replacement keeps.
  'AWS::SecretsManager::SecretTargetAttachment.Ref',
];

/**
 * Builds a stage and returns its templates. `rename` runs before synthesis, so it can move logical
 * IDs (what a refactoring or a replaced resource does to the templates).
 */
function synth(config: EnvironmentConfig, rename: (stage: CrmStage) => void = () => {}): Templates {
  const stage = new CrmStage(new App(), `crm-${config.name}`, { config, env: TEST_ENV });
  rename(stage);
  return {
    network: Template.fromStack(stage.network).toJSON(),
    data: Template.fromStack(stage.data).toJSON(),
    api: Template.fromStack(stage.api).toJSON(),
    ops: Template.fromStack(stage.ops).toJSON(),
  };
}

const baselines = new Map<string, Templates>();
/** The shipped config's templates, synthesised once per environment for this file. */
function baseline(env: 'dev' | 'prod'): Templates {
  if (!baselines.has(env)) baselines.set(env, synth(testConfig(env)));
  return baselines.get(env)!;
}

/** Gives the resource behind `element` a different logical ID in its stack. */
function renameResource(element: CfnElement): void {
  const stack = element.stack as Stack;
  const old = stack.getLogicalId(element);
  stack.renameLogicalId(old, `${old}Renamed`);
}

/** Export names of every `Fn::ImportValue` in a template. */
function importsOf(template: Json): string[] {
  const found = new Set<string>();
  const walk = (v: Json) => {
    if (v === null || typeof v !== 'object') return;
    if (typeof v['Fn::ImportValue'] === 'string') found.add(v['Fn::ImportValue']);
    for (const child of Object.values(v)) walk(child);
  };
  walk(template.Resources);
  walk(template.Outputs ?? {});
  return [...found].sort();
}

/** Export name → the exported value, for one template. */
function exportsOf(template: Json): Map<string, Json> {
  return new Map(
    Object.values<Json>(template.Outputs ?? {})
      .filter((o) => o.Export)
      .map((o) => [o.Export.Name as string, o.Value]),
  );
}

/** What an imported export is: `<stack> <logical id> <type>.<Ref|attribute>`. */
function describeImport(name: string, templates: Templates): { stack: StackName; id: string; kind: string } {
  for (const stack of Object.keys(templates) as StackName[]) {
    const value = exportsOf(templates[stack]).get(name);
    if (value === undefined) continue;
    const [id, attribute] = value.Ref ? [value.Ref, 'Ref'] : value['Fn::GetAtt'];
    return { stack, id, kind: `${templates[stack].Resources[id].Type}.${attribute}` };
  }
  throw new Error(`No template exports ${name}`);
}

describe.each(['dev', 'prod'] as const)('stateless stacks of %s can be replaced', (env) => {
  let templates: Templates;
  beforeAll(() => {
    templates = baseline(env);
  });

  it('export nothing that another stack imports', () => {
    const all = Object.keys(templates) as StackName[];
    for (const stack of all) {
      const from = importsOf(templates[stack]).map((name) => describeImport(name, templates).stack);
      expect({ stack, importsFrom: [...new Set(from)].filter((s) => STATELESS.includes(s)) }).toEqual({
        stack,
        importsFrom: [],
      });
    }
  });

  it('export only what earlier versions imported, under its generated name, while those upgrade', () => {
    const kinds = (stack: StackName) =>
      [...exportsOf(templates[stack]).keys()].map((name) => describeImport(name, templates).kind);
    expect(kinds('api')).toEqual(['AWS::Lambda::Function.Ref']);
    expect(kinds('ops')).toEqual([]);
    expect([...exportsOf(templates.api).keys()]).toEqual([
      `crm-${env}-Api:ExportsOutputRefApiHandlerFunction426EBE6D1C185D88`,
    ]);
    // The data stack keeps the unstable exports the same way (nothing imports them any more).
    expect([...exportsOf(templates.data).keys()]).toEqual(
      expect.arrayContaining([
        `crm-${env}-Data:ExportsOutputFnGetAttDatabaseProxyE01FC4E6Endpoint3B8D89A3`,
        `crm-${env}-Data:ExportsOutputFnGetAttDatabaseProxyE01FC4E6DBProxyArn6E5FEBA0`,
        `crm-${env}-Data:ExportsOutputFnGetAttDatabaseInstanceAA8A5FDEEndpointAddressC7EFCE05`,
        `crm-${env}-Data:ExportsOutputFnGetAttDatabaseInstanceAA8A5FDEDbiResourceId3CEFC695`,
      ]),
    );
  });

  it('import from the stateful stacks only values that last as long as those stacks', () => {
    for (const stack of STATELESS) {
      const kinds = importsOf(templates[stack]).map((name) => describeImport(name, templates));
      expect(kinds.length).toBeGreaterThan(0);
      for (const imported of kinds) {
        expect({ stack, imported }).toEqual({
          stack,
          imported: { stack: expect.stringMatching(/^(network|data)$/), id: imported.id, kind: imported.kind },
        });
        expect(STABLE).toContain(imported.kind);
      }
    }
  });

  it('import exactly the VPC, subnets, security groups, key and secret they use', () => {
    const summary = (stack: StackName) =>
      [
        ...new Set(
          importsOf(templates[stack])
            .map((name) => describeImport(name, templates))
            .map(({ stack: from, id, kind }) => `${from} ${id.replace(/[0-9A-F]{8}$/, '')} ${kind}`),
        ),
      ].sort();
    // The functions run in the private ("app") subnets, one per configured AZ.
    const subnets = Array.from(
      { length: testConfig(env).network.azCount },
      (_, i) => `network NetworkVpcappSubnet${i + 1}Subnet AWS::EC2::Subnet.Ref`,
    );
    expect(summary('api')).toEqual([
      'data DatabaseProxySecurityGroup AWS::EC2::SecurityGroup.GroupId',
      'network NetworkVpc AWS::EC2::VPC.Ref',
      ...subnets,
    ]);
    expect(summary('ops')).toEqual([
      'data DataKey AWS::KMS::Key.Arn',
      'data DatabaseInstanceSecretAttachment AWS::SecretsManager::SecretTargetAttachment.Ref',
      'data DatabaseSecurityGroup AWS::EC2::SecurityGroup.GroupId',
      'network NetworkVpc AWS::EC2::VPC.CidrBlock',
      'network NetworkVpc AWS::EC2::VPC.Ref',
      ...subnets,
    ]);
  });

  it('read the endpoints, ARN, resource id and function name from SSM parameters written upstream', () => {
    const written = (stack: StackName) =>
      Object.values<Json>(templates[stack].Resources)
        .filter((r) => r.Type === 'AWS::SSM::Parameter')
        .map((r) => [r.Properties.Name, r.Properties.Value.Ref ? 'Ref' : r.Properties.Value['Fn::GetAtt'][1]])
        .sort();
    expect(written('data')).toEqual([
      [`/crm/${env}/database/endpoint-address`, 'Endpoint.Address'],
      [`/crm/${env}/database/proxy-arn`, 'DBProxyArn'],
      [`/crm/${env}/database/proxy-endpoint`, 'Endpoint'],
      [`/crm/${env}/database/resource-id`, 'DbiResourceId'],
    ]);
    expect(written('api')).toEqual([[`/crm/${env}/api/function-name`, 'Ref']]);
    const read = (stack: StackName) =>
      Object.values<Json>(templates[stack].Parameters)
        .filter((p) => p.Type === 'AWS::SSM::Parameter::Value<String>')
        .map((p) => p.Default)
        .filter((name) => !name.startsWith('/cdk-bootstrap/'))
        .sort();
    expect(read('api')).toEqual([`/crm/${env}/database/proxy-arn`, `/crm/${env}/database/proxy-endpoint`]);
    expect(read('ops')).toEqual([
      `/crm/${env}/api/function-name`,
      `/crm/${env}/database/endpoint-address`,
      `/crm/${env}/database/resource-id`,
    ]);
  });
});

// A replaced resource gets a new logical ID (or a new physical id under the same one); either
// way, what the stateless templates reference must not move. Prod only: the wiring is the same.
describe('references that survive a replacement', () => {
  let templates: Templates;
  beforeAll(() => {
    templates = baseline('prod');
  });

  it('the ops template does not change when the API function is replaced', () => {
    const renamed = synth(testConfig('prod'), (stage) =>
      renameResource(stage.api.api.handler.function.node.defaultChild as CfnElement),
    );
    // The rename took effect in the API stack ...
    expect(Object.keys(renamed.api.Resources)).not.toEqual(Object.keys(templates.api.Resources));
    // ... and the ops stack, which alarms on the function by the name in the parameter, did not.
    expect(renamed.ops).toEqual(templates.ops);
  });

  it('the API and ops templates do not change when the proxy or the instance is replaced', () => {
    const renamed = synth(testConfig('prod'), (stage) => {
      renameResource(stage.data.database.proxy.node.defaultChild as CfnElement);
      renameResource(stage.data.database.instance.node.defaultChild as CfnElement);
    });
    expect(Object.keys(renamed.data.Resources)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^DatabaseProxy.*Renamed$/),
        expect.stringMatching(/^DatabaseInstance.*Renamed$/),
      ]),
    );
    expect(renamed.api).toEqual(templates.api);
    expect(renamed.ops).toEqual(templates.ops);
  });
});

describe('deploy order without cross-stack references', () => {
  it('deploys Data before Api, and Api and Data before Ops, with no reference implying it', () => {
    // Before synthesis, only explicit dependencies exist (references add theirs while synthesising).
    const stage = new CrmStage(new App(), 'crm-prod', { config: testConfig('prod'), env: TEST_ENV });
    const ids = (stack: Stack) => stack.dependencies.map((s) => s.node.id).sort();
    expect(ids(stage.api)).toEqual(['Data']);
    expect(ids(stage.ops)).toEqual(['Api', 'Data']);
  });
});
