/**
 * Error names shared by the Lambda functions (which throw them) and the state machines (which
 * retry and catch on them). Step Functions matches a Lambda failure by the `errorType` the Node.js
 * runtime reports, which is the thrown error's `name`; bundles are minified, so every class in
 * lambda/shared/errors.ts takes its `name` from here instead of from its (mangled) class name, and
 * lib/constructs builds its `Retry`/`Catch` error lists from here too: one spelling, never two.
 *
 * No runtime dependencies: CDK code and Lambda bundles both import this file.
 */
export const ErrorNames = {
  Crm: 'CrmError',
  Validation: 'ValidationError',
  Config: 'ConfigError',
  NotFound: 'NotFoundError',
  Conflict: 'ConflictError',
  /** The database could not be reached: transient, retried by the restore and drill workflows. */
  DatabaseUnavailable: 'DatabaseUnavailableError',
  /** The drill clean-up refused to delete an instance that is not a drill instance. */
  DrillGuard: 'DrillGuardError',
} as const;

export type ErrorName = (typeof ErrorNames)[keyof typeof ErrorNames];
