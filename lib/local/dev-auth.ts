/**
 * Local-only stand-in for the Cognito authorizer: HS256 JWTs signed with a random secret kept in
 * `.crm/dev-auth-secret` (git-ignored, created on first use, never in code). `npm run dev` writes
 * one token per CRM group to `.crm/dev-tokens.json`; the dev server verifies
 * `Authorization: Bearer <token>` with `devAuthenticator`.
 *
 * Never imported by lambda/api/handler.ts: a test bundles the handler and checks that this code
 * is absent, so a deployed API cannot accept these tokens.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Context } from 'hono';
import { sign, verify } from 'hono/jwt';
import { type Identity, ROLES, type Role } from '../../lambda/api/auth';

const ISSUER = 'crm-dev-server';
const TOKEN_TTL_SECONDS = 30 * 24 * 3600;
const SECRET_FILE = 'dev-auth-secret';
export const DEV_TOKENS_FILE = 'dev-tokens.json';

/** Fixed subs so the dev users keep their CRM user rows (and ownership) across restarts. */
export const DEV_USERS: Readonly<Record<Role, Identity>> = {
  admin: { sub: '00000000-0000-4000-8000-00000000a001', email: 'admin@example.com', groups: ['admin'] },
  manager: { sub: '00000000-0000-4000-8000-00000000a002', email: 'manager@example.com', groups: ['manager'] },
  sales: { sub: '00000000-0000-4000-8000-00000000a003', email: 'sales@example.com', groups: ['sales'] },
  readonly: { sub: '00000000-0000-4000-8000-00000000a004', email: 'readonly@example.com', groups: ['readonly'] },
};

/** The signing secret under `stateDir`, created (0600) on first use. */
export function loadDevSecret(stateDir = '.crm'): string {
  const dir = resolve(stateDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, SECRET_FILE);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export async function signDevToken(
  secret: string,
  identity: Identity,
  ttlSeconds = TOKEN_TTL_SECONDS,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    {
      iss: ISSUER,
      sub: identity.sub,
      ...(identity.email ? { email: identity.email } : {}),
      'cognito:groups': [...identity.groups],
      iat: now,
      exp: now + ttlSeconds,
    },
    secret,
    'HS256',
  );
}

/** Writes `{ admin, manager, sales, readonly }` tokens (0600) and returns the file path. */
export async function writeDevTokens(secret: string, stateDir = '.crm'): Promise<string> {
  const tokens: Record<string, string> = {};
  for (const role of ROLES) tokens[role] = await signDevToken(secret, DEV_USERS[role]);
  const file = join(resolve(stateDir), DEV_TOKENS_FILE);
  writeFileSync(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** `authenticate` for createApp: a valid dev token → its identity; anything else → null (401). */
export function devAuthenticator(secret: string): (c: Context) => Promise<Identity | null> {
  // Verified tokens are remembered until they expire, as API Gateway caches authorizer results;
  // only valid tokens are cached, so a forged one is verified (and refused) every time.
  const verified = new Map<string, { identity: Identity; exp: number }>();
  return async (c) => {
    const header = c.req.header('authorization');
    const m = header ? /^Bearer\s+([A-Za-z0-9._-]{1,4096})\s*$/i.exec(header) : null;
    if (!m) return null;
    const hit = verified.get(m[1]);
    if (hit && hit.exp > Date.now() / 1000) return hit.identity;
    try {
      const payload = await verify(m[1], secret, { alg: 'HS256', iss: ISSUER });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) return null;
      const groups = Array.isArray(payload['cognito:groups'])
        ? payload['cognito:groups'].filter((g): g is string => typeof g === 'string')
        : [];
      const email = typeof payload.email === 'string' ? payload.email : undefined;
      const identity: Identity = { sub: payload.sub, ...(email ? { email } : {}), groups };
      if (verified.size >= 1000) verified.clear();
      verified.set(m[1], { identity, exp: typeof payload.exp === 'number' ? payload.exp : 0 });
      return identity;
    } catch {
      return null; // bad signature, expired, malformed: all plain 401s
    }
  };
}
