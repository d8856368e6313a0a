import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import type { Router } from '../routing';
import { currencyField, domainField, minorUnits, optionalExcept, text } from '../schemas/common';
import {
  createdRangeFilters,
  ownerFilter,
  type ResourceSpec,
  registerCrud,
  standardColumns,
  standardItemShape,
  standardSorts,
} from './crud';

export const COMPANY_SIZES = [
  '1-10',
  '11-50',
  '51-200',
  '201-500',
  '501-1000',
  '1001-5000',
  '5001-10000',
  '10001+',
] as const;

const fields = {
  name: text(200),
  domain: domainField().nullable(),
  industry: text(100).nullable(),
  size: z.enum(COMPANY_SIZES).nullable(),
  addressLine1: text(200).nullable(),
  addressLine2: text(200).nullable(),
  city: text(100).nullable(),
  region: text(100).nullable(),
  postalCode: text(20).nullable(),
  countryCode: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
    .transform((s) => s.toUpperCase())
    .nullable(),
  annualRevenueMinor: minorUnits().nullable(),
  annualRevenueCurrency: currencyField().nullable(),
  ownerId: z.uuid(),
};

const CompanyCreate = z.strictObject(optionalExcept(fields, ['name'])).openapi('CompanyCreate');
const CompanyPatch = z.strictObject(fields).partial().openapi('CompanyPatch');

const Company = z
  .object({
    ...standardItemShape({ owned: true }),
    name: z.string(),
    domain: z.string().nullable(),
    industry: z.string().nullable(),
    size: z.enum(COMPANY_SIZES).nullable(),
    addressLine1: z.string().nullable(),
    addressLine2: z.string().nullable(),
    city: z.string().nullable(),
    region: z.string().nullable(),
    postalCode: z.string().nullable(),
    countryCode: z.string().nullable(),
    annualRevenueMinor: z.number().int().nullable(),
    annualRevenueCurrency: z.string().nullable(),
  })
  .openapi('Company');

export const companiesSpec: ResourceSpec = {
  path: 'companies',
  entity: 'company',
  table: 'crm.companies',
  tag: 'Companies',
  owned: true,
  writeRole: 'sales',
  columns: [
    ...standardColumns({ owned: true }),
    { api: 'name', column: 'name' },
    { api: 'domain', column: 'domain' },
    { api: 'industry', column: 'industry' },
    { api: 'size', column: 'size' },
    { api: 'addressLine1', column: 'address_line1' },
    { api: 'addressLine2', column: 'address_line2' },
    { api: 'city', column: 'city' },
    { api: 'region', column: 'region' },
    { api: 'postalCode', column: 'postal_code' },
    { api: 'countryCode', column: 'country_code' },
    { api: 'annualRevenueMinor', column: 'annual_revenue_minor', bigint: true },
    { api: 'annualRevenueCurrency', column: 'annual_revenue_currency' },
  ],
  item: Company,
  create: CompanyCreate,
  patch: CompanyPatch,
  sorts: { ...standardSorts, name: { expr: 't.name', type: 'text' } },
  defaultSort: '-createdAt',
  filters: [
    ownerFilter,
    ...createdRangeFilters(),
    {
      param: 'industry',
      schema: text(100),
      description: 'Industry, matched whole and case-insensitively (Software = software).',
      // Index 0008 is on lower(industry): keep the expression in this form.
      where: (p) => `lower(t.industry) = lower(${p})`,
    },
    {
      param: 'countryCode',
      schema: z
        .string()
        .regex(/^[A-Za-z]{2}$/)
        .transform((s) => s.toUpperCase()),
      description: 'ISO 3166-1 alpha-2 country code, case-insensitive (stored upper-cased).',
      where: (p) => `t.country_code = ${p}`,
    },
  ],
  search: ['name', 'domain'],
  unique: [{ constraint: 'companies_domain_key', field: 'domain', lookup: 'lower(domain) = lower($1)' }],
};

export function registerCompanies(router: Router, pool: Pool): void {
  registerCrud(router, pool, companiesSpec);
}
