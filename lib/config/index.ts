import { dev } from './dev';
import { type EnvironmentConfig, validateConfig } from './environment-config';
import { prod } from './prod';

export * from './connection-budget';
export * from './environment-config';
export * from './monitoring-config';

/** Every environment this app can deploy, by name. */
export const ENVIRONMENTS: Readonly<Record<string, EnvironmentConfig>> = { dev, prod };

/**
 * The validated configs to synthesise: all environments, or the one `selected` names.
 * Throws with the list of known names when `selected` is unknown.
 */
export function loadConfigs(selected?: string): EnvironmentConfig[] {
  if (selected !== undefined && !(selected in ENVIRONMENTS)) {
    throw new Error(
      `Unknown environment '${selected}' (-c env=...): expected one of ${Object.keys(ENVIRONMENTS).join(', ')}`,
    );
  }
  const names = selected ? [selected] : Object.keys(ENVIRONMENTS);
  return names.map((name) => validateConfig(name, ENVIRONMENTS[name]));
}
