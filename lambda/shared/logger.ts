import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One Powertools logger per function, created at module scope. Log only identifiers and counts:
 * never personal data (names, emails, phones) and never secrets.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
}
