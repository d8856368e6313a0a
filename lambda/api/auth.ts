/**
 * Who is calling and what they may do. The identity comes from the Cognito authorizer in AWS
 * (`identityFromCognitoClaims`) or from the dev server's local tokens; the app only sees an
 * `Identity`. Roles come from the Cognito groups; the highest group wins.
 */
export const ROLES = ['readonly', 'sales', 'manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  /** Cognito `sub`: stable user id of the identity provider. */
  readonly sub: string;
  readonly email?: string;
  readonly groups: readonly string[];
}

const RANK: Record<Role, number> = { readonly: 0, sales: 1, manager: 2, admin: 3 };

/** The highest CRM role among the groups, or undefined when the caller is in no CRM group (→ 403). */
export function roleFromGroups(groups: readonly string[]): Role | undefined {
  let best: Role | undefined;
  for (const g of groups) {
    if ((ROLES as readonly string[]).includes(g)) {
      const role = g as Role;
      if (best === undefined || RANK[role] > RANK[best]) best = role;
    }
  }
  return best;
}

export function atLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum];
}

/**
 * `cognito:groups` as the REST API Cognito authorizer passes it: a string, either a single group
 * (`"admin"`) or a bracketed, comma-separated list (`"[admin, sales]"`, `"[admin sales]"` seen
 * too); some integrations pass a real JSON array. All forms are accepted.
 */
export function parseCognitoGroups(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.filter((g): g is string => typeof g === 'string' && g.length > 0);
  if (typeof raw !== 'string') return [];
  const trimmed = raw.trim();
  if (trimmed.startsWith('[') && trimmed.endsWith(']')) {
    const inner = trimmed.slice(1, -1).trim();
    if (inner.startsWith('"')) {
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (Array.isArray(parsed)) return parseCognitoGroups(parsed);
      } catch {
        // fall through to the plain split
      }
    }
    return inner.split(/[\s,]+/).filter((g) => g.length > 0);
  }
  return trimmed.length > 0 ? [trimmed] : [];
}

/** Identity from the claims the API Gateway Cognito authorizer puts on the request context. */
export function identityFromCognitoClaims(claims: Record<string, unknown> | null | undefined): Identity | null {
  if (!claims) return null;
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub.length === 0) return null;
  const email = typeof claims.email === 'string' ? claims.email : undefined;
  return { sub, ...(email ? { email } : {}), groups: parseCognitoGroups(claims['cognito:groups']) };
}
