import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  acknowledge,
  acknowledgementsOf,
  addComplianceChecks,
  readComplianceReport,
  renderComplianceDoc,
} from '../../lib/compliance';
import { type ComplianceResult, synthWithComplianceChecks } from '../../lib/compliance-synth';
import { CrmStage } from '../../lib/crm-stage';
import { TEST_ENV, testConfig } from './fixtures';

describe('compliance gates', () => {
  let result: ComplianceResult;
  beforeAll(() => {
    result = synthWithComplianceChecks();
  });

  it('prod has zero unacknowledged errors across cdk-nag and the Control Tower controls', () => {
    expect(result.errors.filter((e) => e.path.startsWith('crm-prod/'))).toEqual([]);
  });

  it('dev has zero unacknowledged errors too', () => {
    expect(result.errors.filter((e) => e.path.startsWith('crm-dev/'))).toEqual([]);
  });

  it('acknowledges only below a stack, each with a reason', () => {
    expect(result.acknowledgements.length).toBeGreaterThan(0);
    for (const a of result.acknowledgements) {
      expect(a.reason.length).toBeGreaterThanOrEqual(20);
      // <stage>/<stack>/<resource...>: never the stage or the stack itself
      expect(a.path.split('/').length).toBeGreaterThanOrEqual(3);
    }
  });

  it('acknowledges deliberate dev trade-offs in dev only', () => {
    const multiAz = result.acknowledgements.filter((a) => a.id === 'NIST.800.53.R5-RDSMultiAZSupport');
    expect(multiAz.map((a) => a.path.split('/')[0])).toEqual(['crm-dev']);
  });

  it('docs/compliance.md lists exactly the acknowledgements in the code (npm run docs:compliance)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'compliance.md'), 'utf8');
    expect(doc).toBe(renderComplianceDoc(result.acknowledgements, result.warnings));
  });
});

describe('acknowledge()', () => {
  it('refuses a whole stack', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => acknowledge(stack, 'AwsSolutions-SQS3', 'a long enough reason for the test')).toThrow(
      /on one resource, not on S/,
    );
  });

  it('refuses a reason that explains nothing', () => {
    const queue = new sqs.Queue(new Stack(new App(), 'S'), 'Q');
    expect(() => acknowledge(queue, 'AwsSolutions-SQS3', 'ok')).toThrow(/the reason must explain/);
  });
});

describe('the gate', () => {
  it('reports a finding that is not acknowledged as an error', () => {
    const app = new App({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const stack = new Stack(app, 'Plain', { env: TEST_ENV });
    new sqs.Queue(stack, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    addComplianceChecks(app);
    const { errors } = readComplianceReport(app.synth().directory);
    expect(errors.map((e) => e.rule)).toEqual(expect.arrayContaining(['AwsSolutions-SQS4']));
  });
});

describe('an environment without reserved concurrency', () => {
  it('has zero unacknowledged errors: each function acknowledges the NIST concurrency rule', () => {
    const app = new App({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const config = testConfig('dev', (c) => {
      c.lambda = { reservedConcurrency: false };
    });
    new CrmStage(app, 'crm-dev', { config, env: TEST_ENV });
    addComplianceChecks(app);
    const { errors } = readComplianceReport(app.synth().directory);
    expect(errors).toEqual([]);
    const concurrency = acknowledgementsOf(app).filter((a) => a.id === 'NIST.800.53.R5-LambdaConcurrency');
    expect(concurrency.length).toBeGreaterThan(5);
  });
});
