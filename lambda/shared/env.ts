/**
 * Environment parsing for the functions: one zod schema per function, parsed once at cold start;
 * a bad or missing variable fails with a ConfigError naming it.
 */
import { z } from 'zod';
import { ConfigError } from '../shared/errors';

export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(env)';
    throw new ConfigError(field, issue.message);
  }
  return parsed.data;
}

/** A required, non-empty string variable. */
export const requiredString = z.string().trim().min(1, 'is required');

/** An integer variable with a default, e.g. `intVar(7, 1)`. */
export function intVar(defaultValue: number, min: number) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return defaultValue;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) {
        ctx.addIssue({ code: 'custom', message: `must be an integer >= ${min} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });
}
