/**
 * Loads a Lambda handler module the way Lambda does: environment first, then the module, which
 * parses the environment at module scope (cold start). Used by the handler tests of the backup
 * and restore functions; `restoreEnv()` in `afterEach` puts process.env back as it was.
 */
import { join } from 'node:path';

export type Env = Record<string, string | undefined>;

export interface ColdStart<M> {
  /**
   * The module in jest's shared registry, loaded once with `env`: its SDK clients are instances
   * of the classes `mockClient(...)` patches in the test file.
   */
  load(): M;
  /**
   * A fresh copy loaded with `env` plus `overrides` (undefined deletes a variable), for cold-start
   * failures only: its SDK classes are not the mocked ones.
   */
  loadIsolated(overrides?: Env): M;
  restoreEnv(): void;
}

/** @param modulePath repo-relative, e.g. `lambda/restore/handler` */
export function coldStart<M>(modulePath: string, env: Env): ColdStart<M> {
  const file = join(__dirname, '..', '..', modulePath);
  let saved: NodeJS.ProcessEnv | undefined;
  const setEnv = (overrides: Env = {}) => {
    saved ??= { ...process.env };
    for (const [k, v] of Object.entries({ ...env, ...overrides })) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  return {
    load() {
      setEnv();
      return require(file) as M;
    },
    loadIsolated(overrides) {
      setEnv(overrides);
      let mod: M | undefined;
      jest.isolateModules(() => {
        mod = require(file) as M;
      });
      return mod!;
    },
    restoreEnv() {
      if (!saved) return;
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      saved = undefined;
    },
  };
}

/** Variables every handler test sets: quiet Powertools, a region for the SDK clients. */
export const QUIET_LAMBDA_ENV: Env = {
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_METRICS_DISABLED: 'true',
  LOG_LEVEL: 'SILENT',
};
