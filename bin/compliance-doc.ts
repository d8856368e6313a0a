/** `npm run docs:compliance`: rewrites docs/compliance.md from the acknowledgements in the code. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFindings, renderComplianceDoc } from '../lib/compliance';
import { synthWithComplianceChecks } from '../lib/compliance-synth';

const result = synthWithComplianceChecks();
const file = join(__dirname, '..', 'docs', 'compliance.md');
writeFileSync(file, renderComplianceDoc(result.acknowledgements, result.warnings));
console.log(`wrote ${file}: ${result.acknowledgements.length} acknowledgements, ${result.warnings.length} warnings`);
if (result.errors.length > 0) {
  console.error(`${result.errors.length} unacknowledged error(s):\n${formatFindings(result.errors)}`);
  process.exit(1);
}
