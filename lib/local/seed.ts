/**
 * Local-only: deterministic demo data for `npm run dev -- --seed` — a few hundred companies,
 * contacts, deals and activities owned by the dev users, generated in code (seeded PRNG, no
 * network). Runs as the owner in one transaction; does nothing when companies already exist.
 */
import type { Pool } from 'pg';
import { ROLES } from '../../lambda/api/auth';
import { DEV_USERS } from './dev-auth';

/** mulberry32: tiny, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIX = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Stark',
  'Wayne',
  'Wonka',
  'Tyrell',
  'Cyberdyne',
  'Soylent',
  'Hooli',
  'Vandelay',
  'Nakatomi',
  'Oscorp',
  'Gringotts',
  'Monarch',
  'Pied Piper',
  'Aperture',
  'Black Mesa',
  'Dunder',
];
const SUFFIX = [
  'Labs',
  'Systems',
  'Logistics',
  'Foods',
  'Capital',
  'Health',
  'Energy',
  'Media',
  'Robotics',
  'Analytics',
  'Partners',
  'Works',
  'Studio',
  'Group',
  'Digital',
];
const INDUSTRY = [
  'Software',
  'Manufacturing',
  'Retail',
  'Finance',
  'Healthcare',
  'Energy',
  'Logistics',
  'Media',
  'Education',
];
const SIZES = ['1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000'];
const CITIES: [string, string][] = [
  ['Berlin', 'DE'],
  ['Paris', 'FR'],
  ['London', 'GB'],
  ['Madrid', 'ES'],
  ['New York', 'US'],
  ['Toronto', 'CA'],
  ['Tokyo', 'JP'],
  ['São Paulo', 'BR'],
  ['Zürich', 'CH'],
  ['Oslo', 'NO'],
];
const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Linus',
  'Margaret',
  'Ken',
  'Barbara',
  'Edsger',
  'Radia',
  'Tim',
  'Frances',
  'Donald',
  'Hedy',
  'John',
  'Katherine',
  'Niklaus',
  'Sophie',
  'José',
  'Zoë',
  'Łukasz',
  'Amélie',
  'Yuki',
  'Priya',
  'Omar',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Torvalds',
  'Hamilton',
  'Thompson',
  'Liskov',
  'Dijkstra',
  'Perlman',
  'Berners-Lee',
  'Allen',
  'Knuth',
  'Lamarr',
  'McCarthy',
  'Johnson',
  'Wirth',
  'Wilson',
  'García',
  'Müller',
  'Nowak',
  'Dubois',
  'Tanaka',
  'Patel',
  'Haddad',
];
const TITLES = [
  'CEO',
  'CTO',
  'VP Sales',
  'Head of Procurement',
  'Engineering Manager',
  'Buyer',
  'Operations Lead',
  'CFO',
];
const DEAL_WORDS = [
  'Renewal',
  'Expansion',
  'Pilot',
  'Enterprise licence',
  'Support plan',
  'Migration',
  'Onboarding',
  'Upsell',
];
const SUBJECTS = [
  'Intro call',
  'Send proposal',
  'Follow up on pricing',
  'Quarterly review',
  'Demo for the team',
  'Contract questions',
  'Check in after onboarding',
];

export interface SeedCounts {
  readonly companies: number;
  readonly contacts: number;
  readonly deals: number;
  readonly activities: number;
}

export async function seedDemoData(
  pool: Pool,
  sizes = { companies: 300, contacts: 800, deals: 250, activities: 600 },
): Promise<SeedCounts | undefined> {
  const client = await pool.connect();
  try {
    const { rows: existing } = await client.query<{ n: string }>('SELECT count(*) AS n FROM crm.companies');
    if (Number(existing[0].n) > 0) return undefined;
    await client.query('BEGIN');
    const rand = prng(20261128);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const int = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
    const daysAgo = (d: number) => new Date(Date.UTC(2026, 10, 28) - d * 86_400_000).toISOString();

    const users: string[] = [];
    for (const role of ROLES) {
      const u = DEV_USERS[role];
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO crm.users (cognito_sub, email, display_name, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cognito_sub) DO UPDATE SET email = EXCLUDED.email RETURNING id`,
        [u.sub, u.email, `Dev ${role}`, role],
      );
      if (role === 'sales' || role === 'manager' || role === 'admin') users.push(rows[0].id);
    }

    const companies: string[] = [];
    for (let i = 0; i < sizes.companies; i++) {
      const name = `${pick(PREFIX)} ${pick(SUFFIX)}${i >= PREFIX.length * 3 ? ` ${i}` : ''}`;
      const [city, country] = pick(CITIES);
      const domain = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.example`;
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO crm.companies (name, domain, industry, size, city, country_code, annual_revenue_minor,
           annual_revenue_currency, owner_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'EUR', $8, $9, $9) ON CONFLICT DO NOTHING RETURNING id`,
        [
          name,
          domain,
          pick(INDUSTRY),
          pick(SIZES),
          city,
          country,
          int(1, 5000) * 100_000_00,
          pick(users),
          daysAgo(int(0, 720)),
        ],
      );
      if (rows[0]) companies.push(rows[0].id);
    }

    const contacts: string[] = [];
    for (let i = 0; i < sizes.contacts; i++) {
      const first = pick(FIRST);
      const last = pick(LAST);
      const consent = pick(['unknown', 'unknown', 'granted', 'withdrawn'] as const);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO crm.contacts (first_name, last_name, email, phone, title, company_id, lawful_basis,
           marketing_consent, consent_recorded_at, owner_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
        [
          first,
          last,
          `${first}.${last}.${i}@example.com`
            .toLowerCase()
            .normalize('NFD')
            .replace(/[^\x21-\x7e]/g, ''),
          `+4930${String(1_000_000 + i * 7).padStart(7, '0')}`,
          pick(TITLES),
          pick(companies),
          consent === 'granted' ? 'consent' : 'legitimate_interests',
          consent,
          consent === 'unknown' ? null : daysAgo(int(0, 365)),
          pick(users),
          daysAgo(int(0, 720)),
        ],
      );
      contacts.push(rows[0].id);
    }

    const { rows: stages } = await client.query<{ id: string; pipeline_id: string }>(
      `SELECT s.id, s.pipeline_id FROM crm.pipeline_stages s JOIN crm.pipelines p ON p.id = s.pipeline_id
       WHERE p.is_default AND s.deleted_at IS NULL ORDER BY s.position`,
    );
    const deals: string[] = [];
    for (let i = 0; i < sizes.deals; i++) {
      const stage = pick(stages);
      const owner = pick(users);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO crm.deals (name, amount_minor, currency, close_date, pipeline_id, stage_id, company_id,
           primary_contact_id, owner_id, created_at, updated_at)
         VALUES ($1, $2, 'EUR', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
        [
          `${pick(DEAL_WORDS)} ${i + 1}`,
          int(10, 500) * 1000_00,
          daysAgo(-int(-60, 180)).slice(0, 10),
          stage.pipeline_id,
          stage.id,
          pick(companies),
          pick(contacts),
          owner,
          daysAgo(int(0, 365)),
        ],
      );
      deals.push(rows[0].id);
      await client.query(
        'INSERT INTO crm.deal_stage_history (deal_id, from_stage_id, to_stage_id, changed_by) VALUES ($1, NULL, $2, $3)',
        [rows[0].id, stage.id, owner],
      );
    }

    for (let i = 0; i < sizes.activities; i++) {
      const type = pick(['note', 'task', 'call', 'meeting', 'email'] as const);
      const due = type === 'task' || type === 'meeting' ? daysAgo(-int(-30, 30)) : null;
      await client.query(
        `INSERT INTO crm.activities (type, subject, body, due_at, completed_at, company_id, contact_id, deal_id, owner_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
        [
          type,
          pick(SUBJECTS),
          rand() < 0.5 ? 'Notes from the conversation.' : null,
          due,
          due && rand() < 0.4 ? due : null,
          pick(companies),
          rand() < 0.7 ? pick(contacts) : null,
          rand() < 0.4 ? pick(deals) : null,
          pick(users),
          daysAgo(int(0, 365)),
        ],
      );
    }
    await client.query('COMMIT');
    return {
      companies: companies.length,
      contacts: contacts.length,
      deals: deals.length,
      activities: sizes.activities,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
