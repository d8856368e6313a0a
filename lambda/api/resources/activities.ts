import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import type { Router } from '../routing';
import { DateTime, dateOrDateTime, optionalExcept, text } from '../schemas/common';
import {
  createdRangeFilters,
  ownerFilter,
  type ResourceSpec,
  registerCrud,
  standardColumns,
  standardItemShape,
  standardSorts,
  uuidFilter,
} from './crud';

const TYPES = ['note', 'task', 'call', 'meeting', 'email'] as const;

const fields = {
  type: z.enum(TYPES),
  subject: text(500),
  // Up to 50,000 characters, so a request stays within the 64 KiB body limit.
  body: text(50_000, 0).nullable(),
  dueAt: DateTime.nullable(),
  completedAt: DateTime.nullable(),
  companyId: z.uuid().nullable(),
  contactId: z.uuid().nullable(),
  dealId: z.uuid().nullable(),
  ownerId: z.uuid(),
};

const ActivityCreate = z
  .strictObject(optionalExcept(fields, ['type', 'subject']))
  .refine((a) => Boolean(a.companyId || a.contactId || a.dealId), {
    message: 'an activity needs a companyId, contactId or dealId',
    path: ['companyId'],
  })
  .openapi('ActivityCreate');
const ActivityPatch = z.strictObject(fields).partial().openapi('ActivityPatch');

const Activity = z
  .object({
    ...standardItemShape({ owned: true }),
    type: z.enum(TYPES),
    subject: z.string(),
    body: z.string().nullable(),
    dueAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    companyId: z.uuid().nullable(),
    contactId: z.uuid().nullable(),
    dealId: z.uuid().nullable(),
  })
  .openapi('Activity');

const ts = dateOrDateTime();

export const activitiesSpec: ResourceSpec = {
  path: 'activities',
  entity: 'activity',
  table: 'crm.activities',
  tag: 'Activities',
  owned: true,
  writeRole: 'sales',
  columns: [
    ...standardColumns({ owned: true }),
    { api: 'type', column: 'type' },
    { api: 'subject', column: 'subject' },
    { api: 'body', column: 'body' },
    { api: 'dueAt', column: 'due_at' },
    { api: 'completedAt', column: 'completed_at' },
    { api: 'companyId', column: 'company_id' },
    { api: 'contactId', column: 'contact_id' },
    { api: 'dealId', column: 'deal_id' },
  ],
  item: Activity,
  create: ActivityCreate,
  patch: ActivityPatch,
  sorts: { ...standardSorts, dueAt: { expr: "coalesce(t.due_at, 'infinity'::timestamptz)", type: 'timestamptz' } },
  defaultSort: '-createdAt',
  filters: [
    ownerFilter,
    ...createdRangeFilters(),
    uuidFilter('company', 'company_id', "Company's id."),
    uuidFilter('contact', 'contact_id', "Contact's id."),
    uuidFilter('deal', 'deal_id', "Deal's id."),
    { param: 'type', schema: z.enum(TYPES), description: 'Activity type.', where: (p) => `t.type = ${p}` },
    {
      param: 'open',
      schema: z.enum(['true', 'false']),
      description: 'true: not completed; false: completed.',
      where: (p) => `(t.completed_at IS NULL) = ${p}::boolean`,
    },
    { param: 'dueFrom', schema: ts, description: 'Due at or after.', where: (p) => `t.due_at >= ${p}::timestamptz` },
    {
      param: 'dueTo',
      schema: ts,
      description: 'Due before (exclusive).',
      where: (p) => `t.due_at < ${p}::timestamptz`,
    },
  ],
  search: ['subject'],
  references: { companyId: 'crm.companies', contactId: 'crm.contacts', dealId: 'crm.deals' },
};

export function registerActivities(router: Router, pool: Pool): void {
  registerCrud(router, pool, activitiesSpec);
}
