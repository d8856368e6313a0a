/**
 * Database credentials from a Secrets Manager secret in the shape RDS and CDK write
 * (`{ "username", "password", "host", "port", "dbname", ... }`). The password is read per
 * connection attempt, so a rotation between attempts never locks us out.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigError, DatabaseUnavailableError, errorMessage } from './errors';

const SecretShape = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  host: z.string().optional(),
  port: z
    .union([z.number(), z.string()])
    .optional()
    .transform((p) => (p === undefined || p === '' ? undefined : Number(p) || undefined)),
  dbname: z.string().optional(),
});
export type DbSecret = z.infer<typeof SecretShape>;

/**
 * Secrets Manager staging labels of the credentials: AWSCURRENT is the rotated-to password,
 * AWSPREVIOUS the one before the last rotation (what an instance restored from an older backup has).
 */
export type SecretStage = 'AWSCURRENT' | 'AWSPREVIOUS';

/**
 * Reads and parses the secret. Errors name the secret and say what is wrong, never its value:
 * a secret that cannot be read is a DatabaseUnavailableError, a malformed one a ConfigError.
 */
export async function readDbSecret(
  sm: SecretsManagerClient,
  secretId: string,
  stage: SecretStage = 'AWSCURRENT',
): Promise<DbSecret> {
  let text: string | undefined;
  try {
    text = (await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).SecretString;
  } catch (err) {
    const which = stage === 'AWSCURRENT' ? '' : ` (${stage})`;
    throw new DatabaseUnavailableError(`could not read the database secret ${secretId}${which}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new ConfigError('DB_SECRET_ARN', `secret ${secretId} is not JSON with username and password`);
  }
  const parsed = SecretShape.safeParse(json);
  if (!parsed.success)
    throw new ConfigError('DB_SECRET_ARN', `secret ${secretId} has no string 'username' and 'password'`);
  return parsed.data;
}

/** A `password` function for `lambda/shared/db.ts`: fetches the secret again on every attempt. */
export function passwordFromSecret(
  sm: SecretsManagerClient,
  secretId: string,
  stage: SecretStage = 'AWSCURRENT',
): () => Promise<string> {
  return async () => (await readDbSecret(sm, secretId, stage)).password;
}
