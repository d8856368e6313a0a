import type { Stack } from 'aws-cdk-lib';

/**
 * Exports that earlier versions of this app created implicitly (automatic cross-stack references)
 * and that deployed stacks still import until they are next deployed. CloudFormation refuses to
 * delete an export that is in use, so the producing stack keeps each one, under the generated
 * name and with the same value, while the consumers stop importing it (the CDK's documented way to
 * break a cross-stack reference, `Stack.exportValue`). Nothing in this version imports them, so
 * they no longer pin their resources; a release after every environment has deployed this one
 * removes them (README, "Stacks").
 */
export function keepLegacyExports(stack: Stack, values: readonly string[]): void {
  for (const value of values) stack.exportValue(value);
}
