import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import { serviceUnavailable } from '../problems';
import type { Router } from '../routing';

const Health = z.object({ status: z.literal('ok'), database: z.literal('ok') }).openapi('Health');

/** Unauthenticated liveness + database check (one cheap query; no data, no version details). */
export function registerHealth(router: Router, pool: Pool): void {
  router.add(
    {
      method: 'get',
      path: '/v1/health',
      tag: 'Health',
      operationId: 'health',
      summary: 'Service and database health (no authentication)',
      access: 'public',
      ok: { 200: { description: 'Healthy', schema: Health } },
    },
    async (c) => {
      try {
        await pool.query('SELECT 1');
      } catch {
        throw serviceUnavailable('The database is unavailable.');
      }
      return c.json({ status: 'ok' as const, database: 'ok' as const }, 200);
    },
  );
}
