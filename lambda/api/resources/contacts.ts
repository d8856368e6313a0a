import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import type { Router } from '../routing';
import { DateTime, emailField, optionalExcept, phoneField, text } from '../schemas/common';
import {
  createdRangeFilters,
  type Hooks,
  ownerFilter,
  type ResourceSpec,
  type Row,
  registerCrud,
  standardColumns,
  standardItemShape,
  standardSorts,
  uuidFilter,
} from './crud';

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

export function registerContacts(router: Router, pool: Pool): void {
  registerCrud(router, pool, contactsSpec);
}
