import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import { audit, inTransaction } from '../db';
import { notFound } from '../problems';
import type { Router } from '../routing';
import { DateTime, emailField, IdParams, optionalExcept, phoneField, text } from '../schemas/common';
import { activitiesSpec } from './activities';
import {
  createdRangeFilters,
  type Hooks,
  ownerFilter,
  Resource,
  type ResourceSpec,
  type Row,
  registerCrud,
  standardColumns,
  standardItemShape,
  standardSorts,
  uuidFilter,
} from './crud';
import { dealsSpec } from './deals';

const LAWFUL_BASES = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interests',
] as const;
const CONSENT = ['unknown', 'granted', 'withdrawn'] as const;

const fields = {
  firstName: text(100).nullable(),
  lastName: text(100).nullable(),
  email: emailField().nullable(),
  phone: phoneField().nullable(),
  title: text(200).nullable(),
  companyId: z.uuid().nullable(),
  lawfulBasis: z.enum(LAWFUL_BASES).nullable(),
  marketingConsent: z.enum(CONSENT),
  consentRecordedAt: DateTime.nullable().openapi({ description: 'Defaults to now when marketingConsent changes.' }),
  consentSource: text(200).nullable(),
  ownerId: z.uuid(),
};

const ContactCreate = z
  .strictObject(optionalExcept(fields, []))
  .refine((c) => Boolean(c.firstName) || Boolean(c.lastName), {
    message: 'firstName or lastName is required',
    path: ['firstName'],
  })
  .openapi('ContactCreate');
const ContactPatch = z.strictObject(fields).partial().openapi('ContactPatch');

const Contact = z
  .object({
    ...standardItemShape({ owned: true }),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    title: z.string().nullable(),
    companyId: z.uuid().nullable(),
    lawfulBasis: z.enum(LAWFUL_BASES).nullable(),
    marketingConsent: z.enum(CONSENT),
    consentRecordedAt: z.string().nullable(),
    consentSource: z.string().nullable(),
  })
  .openapi('Contact');

/** A consent change is recorded with its time unless the client gives one. */
function stampConsent(input: Row, before: Row | null): Row {
  const changed =
    input.marketingConsent !== undefined && input.marketingConsent !== (before?.marketingConsent ?? 'unknown');
  if (changed && input.marketingConsent !== 'unknown' && input.consentRecordedAt === undefined) {
    return { ...input, consentRecordedAt: new Date().toISOString() };
  }
  return input;
}

const hooks: Hooks = {
  beforeCreate: async (_db, input) => stampConsent(input, null),
  beforeUpdate: async (_db, before, input) => stampConsent(input, before),
  // Erasure: the database function deletes the contact (and its activities) and blanks their
  // personal data in the audit trail, which crm_app cannot otherwise change (migration 0007).
  purge: async (db, id) => {
    const { rows } = await db.query<{ n: number }>('SELECT crm.erase_contact($1) AS n', [id]);
    return { erasedAuditRows: { from: null, to: rows[0].n } };
  },
};

export const contactsSpec: ResourceSpec = {
  path: 'contacts',
  entity: 'contact',
  table: 'crm.contacts',
  tag: 'Contacts',
  owned: true,
  writeRole: 'sales',
  columns: [
    ...standardColumns({ owned: true }),
    { api: 'firstName', column: 'first_name' },
    { api: 'lastName', column: 'last_name' },
    { api: 'email', column: 'email' },
    { api: 'phone', column: 'phone' },
    { api: 'title', column: 'title' },
    { api: 'companyId', column: 'company_id' },
    { api: 'lawfulBasis', column: 'lawful_basis' },
    { api: 'marketingConsent', column: 'marketing_consent' },
    { api: 'consentRecordedAt', column: 'consent_recorded_at' },
    { api: 'consentSource', column: 'consent_source' },
  ],
  item: Contact,
  create: ContactCreate,
  patch: ContactPatch,
  sorts: { ...standardSorts, lastName: { expr: "coalesce(t.last_name, '')", type: 'text' } },
  defaultSort: '-createdAt',
  filters: [
    ownerFilter,
    ...createdRangeFilters(),
    uuidFilter('company', 'company_id', "Company's id."),
    {
      param: 'marketingConsent',
      schema: z.enum(CONSENT),
      description: 'Marketing consent state.',
      where: (p) => `t.marketing_consent = ${p}`,
    },
  ],
  search: ['first_name', 'last_name', 'email'],
  unique: [{ constraint: 'contacts_email_key', field: 'email', lookup: 'lower(email) = lower($1)' }],
  references: { companyId: 'crm.companies' },
  hooks,
};

const AuditEntry = z
  .object({
    id: z.uuid(),
    actor: z.string(),
    action: z.string(),
    entity: z.string(),
    entityId: z.uuid().nullable(),
    diff: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).nullable(),
    at: z.string(),
  })
  .openapi('AuditEntry');

const ContactExport = z
  .object({
    exportedAt: z.string(),
    contact: Contact,
    activities: z.array(z.record(z.string(), z.unknown())),
    deals: z.array(z.record(z.string(), z.unknown())),
    auditEntries: z.array(AuditEntry),
  })
  .openapi('ContactExport');

/**
 * Subject-access export (GDPR art. 15): everything the CRM holds about one person as one JSON
 * document, soft-deleted records included, in one snapshot. Managers and admins; the export is
 * itself audited.
 */
async function exportContact(pool: Pool, actorId: string, id: string): Promise<z.infer<typeof ContactExport>> {
  const contacts = new Resource(contactsSpec, pool);
  const activities = new Resource(activitiesSpec, pool);
  const deals = new Resource(dealsSpec, pool);
  return inTransaction(pool, async (db) => {
    await db.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const contact = await contacts.findById(db, id, { includeDeleted: true });
    if (!contact) throw notFound('No contact with this id.');
    const activityRows = await db.query(
      `SELECT ${activities.selectList} FROM crm.activities t WHERE t.contact_id = $1 ORDER BY t.created_at, t.id`,
      [id],
    );
    const dealRows = await db.query(
      `SELECT ${deals.selectList} FROM crm.deals t WHERE t.primary_contact_id = $1 ORDER BY t.created_at, t.id`,
      [id],
    );
    const { rows: auditRows } = await db.query(
      `SELECT id, actor, action, entity, entity_id AS "entityId", diff, to_json(at)#>>'{}' AS at
         FROM crm.audit_log
        WHERE (entity = 'contact' AND entity_id = $1)
           OR (entity = 'activity' AND entity_id IN (SELECT id FROM crm.activities WHERE contact_id = $1))
        ORDER BY at, id`,
      [id],
    );
    await audit(db, { actor: actorId, action: 'contact.export', entity: 'contact', entityId: id, diff: null });
    return {
      exportedAt: new Date().toISOString(),
      contact: contact as z.infer<typeof Contact>,
      activities: activityRows.rows.map((r) => activities.toItem(r)),
      deals: dealRows.rows.map((r) => deals.toItem(r)),
      auditEntries: auditRows,
    };
  });
}

export function registerContacts(router: Router, pool: Pool): void {
  registerCrud(router, pool, contactsSpec);
  router.add(
    {
      method: 'get',
      path: '/v1/contacts/{id}/export',
      tag: 'Contacts',
      operationId: 'exportContact',
      summary: 'Export everything held about a contact (subject access request)',
      description:
        'The contact, its activities, the deals it is the primary contact of, and the audit entries of the contact ' +
        'and its activities, soft-deleted records included, as one JSON document. Managers and admins; audited as contact.export.',
      access: 'manager',
      params: IdParams,
      ok: { 200: { description: 'The export', schema: ContactExport } },
    },
    async (c, { params }) => {
      const actor = c.get('actor')!;
      const body = await exportContact(pool, actor.userId, params.id);
      return c.json(body, 200, { 'Content-Disposition': `attachment; filename="contact-${params.id}.json"` });
    },
  );
}
