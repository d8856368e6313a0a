/**
 * Caller → CRM user. On a caller's first request the `crm.users` row is created from the token
 * (sub, email) with the role of its Cognito groups.
 *
 * Effective role = the LOWER of (role from the Cognito groups, users.role). Cognito stays the
 * ceiling — removing someone from a group takes effect at once — while an admin can restrict a
 * user in the CRM (`PATCH /v1/users/{id}`), and a deactivated user (deleted_at set) gets 403.
 * Lookups are cached per container for a few seconds to keep reads one round trip; an admin's
 * change is applied to this container's cache at once and to others within CACHE_TTL_MS.
 */
import type { Context } from 'hono';
import type { Pool } from 'pg';
import { type Identity, ROLES, type Role, roleFromGroups } from './auth';
import type { Actor, AppEnv } from './context';
import { normalizeEmail } from './normalize';
import { forbidden } from './problems';

/** users.role holds the API role names (= the Cognito group names); anything else reads as readonly. */
export function roleOf(dbRole: string): Role {
  return (ROLES as readonly string[]).includes(dbRole) ? (dbRole as Role) : 'readonly';
}

const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;

interface UserRow {
  id: string;
  role: string;
  deleted: boolean;
}

export class ActorResolver {
  private readonly cache = new Map<string, { row: UserRow; expires: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly authenticate: (c: Context<AppEnv>) => Identity | null | Promise<Identity | null>,
  ) {}

  /** null → 401. Throws 403 for callers without a CRM group or deactivated users. */
  async resolve(c: Context<AppEnv>): Promise<Actor | null> {
    const identity = await this.authenticate(c);
    if (!identity) return null;
    const groupRole = roleFromGroups(identity.groups);
    if (!groupRole) throw forbidden('You are not in any CRM group (admin, manager, sales, readonly).');
    const row = await this.userFor(identity, groupRole);
    if (row.deleted) throw forbidden('Your CRM user is deactivated. Ask an admin to reactivate it.');
    const dbRole = roleOf(row.role);
    const role = ROLES.indexOf(dbRole) < ROLES.indexOf(groupRole) ? dbRole : groupRole;
    return { userId: row.id, sub: identity.sub, role };
  }

  /** Drops a cached user (after an admin changed it). */
  forget(userId: string): void {
    for (const [sub, entry] of this.cache) if (entry.row.id === userId) this.cache.delete(sub);
  }

  private async userFor(identity: Identity, groupRole: Role): Promise<UserRow> {
    const now = Date.now();
    const hit = this.cache.get(identity.sub);
    if (hit && hit.expires > now) return hit.row;
    const row = (await this.find(identity.sub)) ?? (await this.create(identity, groupRole));
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(identity.sub, { row, expires: now + CACHE_TTL_MS });
    return row;
  }

  private async find(sub: string): Promise<UserRow | undefined> {
    const { rows } = await this.pool.query<UserRow>(
      'SELECT id, role, deleted_at IS NOT NULL AS deleted FROM crm.users WHERE cognito_sub = $1',
      [sub],
    );
    return rows[0];
  }

  private async create(identity: Identity, groupRole: Role): Promise<UserRow> {
    const email = emailFor(identity);
    const { rows } = await this.pool.query<UserRow>(
      `INSERT INTO crm.users (cognito_sub, email, display_name, role) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING
       RETURNING id, role, false AS deleted`,
      [identity.sub, email, email.split('@')[0].slice(0, 200), groupRole],
    );
    if (rows[0]) return rows[0];
    // Lost a race with the caller's own concurrent first request, or the email belongs to another user.
    const existing = await this.find(identity.sub);
    if (existing) return existing;
    throw forbidden('Your email address is already used by another CRM user. Ask an admin.');
  }
}

/** The token's email when it is a valid address; otherwise a placeholder that names no person. */
function emailFor(identity: Identity): string {
  if (identity.email) {
    try {
      return normalizeEmail(identity.email);
    } catch {
      // fall through to the placeholder
    }
  }
  return `user-${
    identity.sub
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '')
      .slice(0, 60) || 'unknown'
  }@users.invalid`;
}
