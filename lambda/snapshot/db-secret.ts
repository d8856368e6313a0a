/**
 * Database credentials from a Secrets Manager secret in the shape RDS and CDK write
 * (`{ "username", "password", "host", "port", "dbname", ... }`). The password is read per
 * connection attempt, so a rotation between attempts never locks us out.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';

const SecretShape = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  host: z.string().optional(),
  port: z.union([z.number(), z.string()]).optional(),
  dbname: z.string().optional(),
});
export type DbSecret = z.infer<typeof SecretShape>;

export async function readDbSecret(sm: SecretsManagerClient, secretId: string): Promise<DbSecret> {
  const res = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  let json: unknown;
  try {
    json = JSON.parse(res.SecretString ?? '');
  } catch {
    throw new ConfigError('DB_SECRET_ARN', 'the secret value is not JSON with username and password');
  }
  const parsed = SecretShape.safeParse(json);
  if (!parsed.success) throw new ConfigError('DB_SECRET_ARN', 'the secret value has no username/password');
  return parsed.data;
}

/** A `password` function for `lambda/shared/db.ts`: fetches the secret again on every attempt. */
export function passwordFromSecret(sm: SecretsManagerClient, secretId: string): () => Promise<string> {
  return async () => (await readDbSecret(sm, secretId)).password;
}
