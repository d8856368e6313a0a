import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import { atLeast } from '../auth';
import type { Db } from '../db';
import { notFound, unprocessable } from '../problems';
import type { Router } from '../routing';
import { currencyField, IdParams, isoDate, minorUnits, optionalExcept, text } from '../schemas/common';
import {
  createdRangeFilters,
  type Hooks,
  ownerFilter,
  type ResourceSpec,
  registerCrud,
  standardColumns,
  standardItemShape,
  standardSorts,
  uuidFilter,
} from './crud';

const fields = {
  name: text(200),
  amountMinor: minorUnits().nullable(),
  currency: currencyField().nullable(),
  closeDate: isoDate().nullable(),
  pipelineId: z.uuid().openapi({ description: 'Defaults to the default pipeline.' }),
  stageId: z.uuid().openapi({ description: 'Defaults to the first stage of the pipeline. Changes are recorded.' }),
  companyId: z.uuid().nullable(),
  primaryContactId: z.uuid().nullable(),
  ownerId: z.uuid(),
};

const DealCreate = z.strictObject(optionalExcept(fields, ['name'])).openapi('DealCreate');
const DealPatch = z.strictObject(fields).partial().openapi('DealPatch');

const Deal = z
  .object({
    ...standardItemShape({ owned: true }),
    name: z.string(),
    amountMinor: z.number().int().nullable(),
    currency: z.string().nullable(),
    closeDate: z.string().nullable(),
    pipelineId: z.uuid(),
    stageId: z.uuid(),
    companyId: z.uuid().nullable(),
    primaryContactId: z.uuid().nullable(),
  })
  .openapi('Deal');

const StageChange = z
  .object({
    id: z.uuid(),
    fromStageId: z.uuid().nullable(),
    toStageId: z.uuid(),
    amountMinor: z.number().int().nullable(),
    currency: z.string().nullable(),
    changedBy: z.uuid().nullable(),
    changedAt: z.string(),
  })
  .openapi('DealStageChange');

async function defaultPipeline(db: Db): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM crm.pipelines WHERE is_default AND deleted_at IS NULL LIMIT 1',
  );
  if (!rows[0]) throw unprocessable([{ field: 'pipelineId', message: 'is required: there is no default pipeline' }]);
  return rows[0].id;
}

async function firstStage(db: Db, pipelineId: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM crm.pipeline_stages WHERE pipeline_id = $1 AND deleted_at IS NULL ORDER BY position LIMIT 1',
    [pipelineId],
  );
  if (!rows[0]) throw unprocessable([{ field: 'pipelineId', message: 'names a pipeline without stages' }]);
  return rows[0].id;
}

async function assertStageInPipeline(db: Db, stageId: string, pipelineId: string): Promise<void> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM crm.pipeline_stages WHERE id = $1 AND pipeline_id = $2 AND deleted_at IS NULL',
    [stageId, pipelineId],
  );
  if (!rowCount) throw unprocessable([{ field: 'stageId', message: 'must be a stage of the deal’s pipeline' }]);
}

const hooks: Hooks = {
  async beforeCreate(db, input) {
    const pipelineId = (input.pipelineId as string | undefined) ?? (await defaultPipeline(db));
    const stageId = (input.stageId as string | undefined) ?? (await firstStage(db, pipelineId));
    if (input.stageId !== undefined) await assertStageInPipeline(db, stageId, pipelineId);
    return { ...input, pipelineId, stageId };
  },
  async beforeUpdate(db, before, input) {
    const pipelineChanged = input.pipelineId !== undefined && input.pipelineId !== before.pipelineId;
    if (pipelineChanged && input.stageId === undefined) {
      throw unprocessable([{ field: 'stageId', message: 'is required when the deal moves to another pipeline' }]);
    }
    if (input.stageId !== undefined) {
      await assertStageInPipeline(
        db,
        input.stageId as string,
        (input.pipelineId as string | undefined) ?? (before.pipelineId as string),
      );
    }
    return input;
  },
  // Every stage a deal enters is recorded, with the amount at that moment (forecasting history).
  async afterWrite(db, before, after, actor) {
    if (before && before.stageId === after.stageId) return;
    await db.query(
      `INSERT INTO crm.deal_stage_history (deal_id, from_stage_id, to_stage_id, amount_minor, currency, changed_by)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [after.id, before?.stageId ?? null, after.stageId, after.amountMinor, after.currency, actor.userId],
    );
  },
};

export const dealsSpec: ResourceSpec = {
  path: 'deals',
  entity: 'deal',
  table: 'crm.deals',
  tag: 'Deals',
  owned: true,
  writeRole: 'sales',
  columns: [
    ...standardColumns({ owned: true }),
    { api: 'name', column: 'name' },
    { api: 'amountMinor', column: 'amount_minor', bigint: true },
    { api: 'currency', column: 'currency' },
    // ::text: pg would turn a date into a JS Date at local midnight.
    { api: 'closeDate', column: 'close_date', select: 't.close_date::text' },
    { api: 'pipelineId', column: 'pipeline_id' },
    { api: 'stageId', column: 'stage_id' },
    { api: 'companyId', column: 'company_id' },
    { api: 'primaryContactId', column: 'primary_contact_id' },
  ],
  item: Deal,
  create: DealCreate,
  patch: DealPatch,
  sorts: {
    ...standardSorts,
    name: { expr: 't.name', type: 'text' },
    closeDate: { expr: "coalesce(t.close_date, 'infinity'::date)", type: 'date' },
  },
  defaultSort: '-createdAt',
  filters: [
    ownerFilter,
    ...createdRangeFilters(),
    uuidFilter('company', 'company_id', "Company's id."),
    uuidFilter('contact', 'primary_contact_id', "Primary contact's id."),
    uuidFilter('pipeline', 'pipeline_id', "Pipeline's id."),
    uuidFilter('stage', 'stage_id', "Stage's id."),
    {
      param: 'closeFrom',
      schema: isoDate(),
      description: 'Close date on or after (YYYY-MM-DD).',
      where: (p) => `t.close_date >= ${p}::date`,
    },
    {
      param: 'closeTo',
      schema: isoDate(),
      description: 'Close date on or before (YYYY-MM-DD).',
      where: (p) => `t.close_date <= ${p}::date`,
    },
  ],
  search: ['name'],
  references: { companyId: 'crm.companies', primaryContactId: 'crm.contacts', pipelineId: 'crm.pipelines' },
  hooks,
};

export function registerDeals(router: Router, pool: Pool): void {
  const deals = registerCrud(router, pool, dealsSpec);
  router.add(
    {
      method: 'get',
      path: '/v1/deals/{id}/stage-history',
      tag: 'Deals',
      operationId: 'getDealStageHistory',
      summary: 'Stages the deal went through, oldest first',
      params: IdParams,
      ok: { 200: { description: 'The stage changes', schema: z.object({ items: z.array(StageChange) }) } },
    },
    async (c, { params }) => {
      const actor = c.get('actor')!;
      const deal = await deals.findById(pool, params.id, { includeDeleted: atLeast(actor.role, 'manager') });
      if (!deal) throw notFound('No deal with this id.');
      const { rows } = await pool.query(
        `SELECT id, from_stage_id AS "fromStageId", to_stage_id AS "toStageId", amount_minor::float8 AS "amountMinor",
                currency, changed_by AS "changedBy", changed_at AS "changedAt"
         FROM crm.deal_stage_history WHERE deal_id = $1 ORDER BY changed_at, id LIMIT 1000`,
        [params.id],
      );
      return c.json({ items: rows }, 200);
    },
  );
}
