import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import { ROLES } from '../auth';
import { notFound } from '../problems';
import type { Router } from '../routing';

const Me = z
  .object({
    id: z.uuid(),
    email: z.string(),
    displayName: z.string(),
    role: z.enum(ROLES).openapi({ description: 'Effective role for this request.' }),
  })
  .openapi('Me');

export function registerMe(router: Router, pool: Pool): void {
  router.add(
    {
      method: 'get',
      path: '/v1/me',
      tag: 'Users',
      operationId: 'getMe',
      summary: 'The caller’s CRM user and effective role',
      ok: { 200: { description: 'The caller', schema: Me } },
    },
    async (c) => {
      const actor = c.get('actor')!;
      const { rows } = await pool.query<{ id: string; email: string; displayName: string }>(
        'SELECT id, email, display_name AS "displayName" FROM crm.users WHERE id = $1',
        [actor.userId],
      );
      if (!rows[0]) throw notFound();
      return c.json({ ...rows[0], role: actor.role }, 200);
    },
  );
}
