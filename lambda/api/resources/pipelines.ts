/**
 * Pipelines and their stages. A pipeline is created with its stages; stages are then added,
 * changed and (soft-)deleted under /v1/pipelines/{id}/stages. Only managers and admins change
 * pipelines (they shape everyone's forecast); everyone reads them.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Pool } from 'pg';
import type { AppEnv } from '../context';
import { audit } from '../db';
import { etag, expectedVersions } from '../http';
import { conflict, notFound } from '../problems';
import type { Router } from '../routing';
import { IfMatchHeader, text, Uuid } from '../schemas/common';
import {
  type Hooks,
  Resource,
  type ResourceSpec,
  type Row,
  registerCrud,
  standardColumns,
  standardItemShape,
  standardSorts,
} from './crud';

const stageFields = {
  name: text(100),
  position: z.number().int().min(0).max(10_000).openapi({ description: 'Order within the pipeline (unique).' }),
  probability: z.number().int().min(0).max(100),
  isClosed: z.boolean(),
  isWon: z.boolean(),
};
const StageCreate = z
  .strictObject({
    ...stageFields,
    position: stageFields.position.optional().openapi({ description: 'Defaults to after the last stage.' }),
    isClosed: stageFields.isClosed.optional(),
    isWon: stageFields.isWon.optional(),
  })
  .openapi('PipelineStageCreate');
const StagePatch = z.strictObject(stageFields).partial().openapi('PipelineStagePatch');
const Stage = z
  .object({
    id: z.uuid(),
    pipelineId: z.uuid(),
    name: z.string(),
    position: z.number().int(),
    probability: z.number().int(),
    isClosed: z.boolean(),
    isWon: z.boolean(),
    version: z.number().int(),
  })
  .openapi('PipelineStage');

const PipelineCreate = z
  .strictObject({
    name: text(100),
    isDefault: z.boolean().optional().openapi({ description: 'true makes it the default (unsets the previous one).' }),
    stages: z
      .array(StageCreate.omit({ position: true }))
      .min(1)
      .max(50)
      .openapi({ description: 'In order; positions are assigned 1, 2, 3, ...' }),
  })
  .openapi('PipelineCreate');
const PipelinePatch = z
  .strictObject({ name: text(100), isDefault: z.boolean() })
  .partial()
  .openapi('PipelinePatch');
const Pipeline = z
  .object({ ...standardItemShape({ owned: false }), name: z.string(), isDefault: z.boolean(), stages: z.array(Stage) })
  .openapi('Pipeline');

const STAGES_JSON = `(SELECT coalesce(json_agg(json_build_object(
    'id', s.id, 'pipelineId', s.pipeline_id, 'name', s.name, 'position', s.position, 'probability', s.probability,
    'isClosed', s.is_closed, 'isWon', s.is_won, 'version', s.version) ORDER BY s.position), '[]'::json)
  FROM crm.pipeline_stages s WHERE s.pipeline_id = t.id AND s.deleted_at IS NULL)`;

const pipelineHooks: Hooks = {
  async beforeCreate(db, input, actor) {
    if (input.isDefault === true) await unsetDefault(db, null, actor.userId);
    return input;
  },
  async beforeUpdate(db, before, input, actor) {
    if (input.isDefault === true && before.isDefault !== true)
      await unsetDefault(db, before.id as string, actor.userId);
    return input;
  },
  async afterWrite(db, before, after, _actor, input) {
    if (before !== null) return;
    const stages = input.stages as Row[];
    for (const [i, stage] of stages.entries()) {
      await db.query(
        `INSERT INTO crm.pipeline_stages (pipeline_id, name, position, probability, is_closed, is_won)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [after.id, stage.name, i + 1, stage.probability, stage.isClosed ?? false, stage.isWon ?? false],
      );
    }
  },
  rereadAfterWrite: true,
};

/** One default pipeline at a time: the previous default is unset, with its own audit row. */
async function unsetDefault(
  db: Parameters<NonNullable<Hooks['beforeCreate']>>[0],
  except: string | null,
  actor: string,
) {
  const { rows } = await db.query<{ id: string }>(
    'UPDATE crm.pipelines SET is_default = false WHERE is_default AND deleted_at IS NULL AND id IS DISTINCT FROM $1 RETURNING id',
    [except],
  );
  for (const row of rows) {
    await audit(db, {
      actor,
      action: 'pipeline.update',
      entity: 'pipeline',
      entityId: row.id,
      diff: { isDefault: { from: true, to: false } },
    });
  }
}

export const pipelinesSpec: ResourceSpec = {
  path: 'pipelines',
  entity: 'pipeline',
  table: 'crm.pipelines',
  tag: 'Pipelines',
  owned: false,
  writeRole: 'manager',
  columns: [
    ...standardColumns({ owned: false }),
    { api: 'name', column: 'name' },
    { api: 'isDefault', column: 'is_default' },
    { api: 'stages', select: STAGES_JSON, writable: false },
  ],
  item: Pipeline,
  create: PipelineCreate,
  patch: PipelinePatch,
  sorts: { ...standardSorts, name: { expr: 't.name', type: 'text' } },
  defaultSort: 'name',
  filters: [],
  search: ['name'],
  unique: [{ constraint: 'pipelines_name_key', field: 'name', lookup: 'lower(name) = lower($1)' }],
  hooks: pipelineHooks,
};

const stagesSpec: ResourceSpec = {
  path: 'pipeline-stages',
  entity: 'pipeline_stage',
  table: 'crm.pipeline_stages',
  tag: 'Pipelines',
  owned: false,
  writeRole: 'manager',
  columns: [
    { api: 'id', column: 'id', writable: false },
    { api: 'pipelineId', column: 'pipeline_id' },
    { api: 'name', column: 'name' },
    { api: 'position', column: 'position' },
    { api: 'probability', column: 'probability' },
    { api: 'isClosed', column: 'is_closed' },
    { api: 'isWon', column: 'is_won' },
    { api: 'deletedAt', column: 'deleted_at', writable: false },
    { api: 'version', column: 'version', writable: false },
  ],
  item: Stage,
  create: StageCreate,
  patch: StagePatch,
  sorts: {},
  defaultSort: 'position',
  filters: [],
  // Duplicate position or name within the pipeline → generic 409 (the unique indexes are per pipeline).
  hooks: {
    async beforeCreate(db, input) {
      if (input.position !== undefined) return input;
      const { rows } = await db.query<{ next: number }>(
        'SELECT coalesce(max(position), 0) + 1 AS next FROM crm.pipeline_stages WHERE pipeline_id = $1 AND deleted_at IS NULL',
        [input.pipelineId],
      );
      return { ...input, position: rows[0].next };
    },
  },
};

const StageParams = z.object({
  id: Uuid.openapi({ param: { name: 'id', in: 'path' } }),
  stageId: Uuid.openapi({ param: { name: 'stageId', in: 'path' } }),
});
const PipelineParams = z.object({ id: Uuid.openapi({ param: { name: 'id', in: 'path' } }) });

function stageItem(row: Row): Row {
  const { deletedAt: _deleted, ...rest } = row;
  return rest;
}

export function registerPipelines(router: Router, pool: Pool): void {
  const pipelines = registerCrud(router, pool, pipelinesSpec);
  const stages = new Resource(stagesSpec, pool);
  const actorOf = (c: Context<AppEnv>) => c.get('actor')!;
  const stageOf = async (pipelineId: string, stageId: string) => {
    const stage = await stages.findById(pool, stageId, { includeDeleted: false });
    if (!stage || stage.pipelineId !== pipelineId) throw notFound('No such stage in this pipeline.');
    return stage;
  };

  router.add(
    {
      method: 'post',
      path: '/v1/pipelines/{id}/stages',
      tag: 'Pipelines',
      operationId: 'createPipelineStage',
      summary: 'Add a stage to a pipeline',
      access: 'manager',
      params: PipelineParams,
      body: StageCreate,
      ok: { 201: { description: 'Created', schema: Stage } },
      problems: [404, 409],
    },
    async (c, { params, body }) => {
      if (!(await pipelines.findById(pool, params.id, { includeDeleted: false })))
        throw notFound('No pipeline with this id.');
      const res = await stages.create(actorOf(c), { ...(body as Row), pipelineId: params.id });
      const item = stageItem(res.body as Row);
      return c.body(JSON.stringify(item), 201, {
        'Content-Type': 'application/json',
        ETag: etag(item.version as number),
        Location: `/v1/pipelines/${params.id}/stages/${item.id}`,
      });
    },
  );

  router.add(
    {
      method: 'patch',
      path: '/v1/pipelines/{id}/stages/{stageId}',
      tag: 'Pipelines',
      operationId: 'updatePipelineStage',
      summary: 'Change a stage (If-Match: the stage’s version)',
      access: 'manager',
      params: StageParams,
      headers: IfMatchHeader,
      body: StagePatch,
      ok: { 200: { description: 'Updated', schema: Stage } },
      problems: [404, 409, 412, 428],
    },
    async (c, { params, body }) => {
      const expected = expectedVersions(c);
      await stageOf(params.id, params.stageId);
      const item = stageItem(await stages.update(actorOf(c), params.stageId, expected, body as Row));
      return c.body(JSON.stringify(item), 200, {
        'Content-Type': 'application/json',
        ETag: etag(item.version as number),
      });
    },
  );

  router.add(
    {
      method: 'delete',
      path: '/v1/pipelines/{id}/stages/{stageId}',
      tag: 'Pipelines',
      operationId: 'deletePipelineStage',
      summary: 'Remove a stage that no live deal is in (If-Match: the stage’s version)',
      access: 'manager',
      params: StageParams,
      headers: IfMatchHeader,
      ok: { 204: { description: 'Removed' } },
      problems: [404, 409, 412, 428],
    },
    async (c, { params }) => {
      const expected = expectedVersions(c);
      await stageOf(params.id, params.stageId);
      const { rowCount } = await pool.query(
        'SELECT 1 FROM crm.deals WHERE stage_id = $1 AND deleted_at IS NULL LIMIT 1',
        [params.stageId],
      );
      if (rowCount) throw conflict('Deals are still in this stage; move them to another stage first.');
      await stages.setDeleted(actorOf(c), params.stageId, expected, true);
      return c.body(null, 204);
    },
  );
}
