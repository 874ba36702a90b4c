import type { Knex } from 'knex';

/** A campaign joined with its fund and street, as the service reads it. */
export interface CampaignRow {
  id: number; slug: string; title: string; story: string; goal_minor: number; currency: 'CNY';
  status: 'draft' | 'review' | 'live' | 'closed'; starts_at: Date; ends_at: Date; created_at: Date; organisation_id: number | null;
  fund_id: number; fund_code: string; fund_name: string; fund_name_en: string | null;
  street_id: number; street_code: string; street_name: string; street_name_en: string | null;
  /** The fund's agreement in force (C-2); null means the campaign cannot take donations. */
  fund_agreement_id: number | null;
}

const columns = [
  'c.id', 'c.slug', 'c.title', 'c.story', 'c.goal_minor', 'c.currency', 'c.status', 'c.starts_at', 'c.ends_at', 'c.created_at', 'c.organisation_id',
  'f.id as fund_id', 'f.code as fund_code', 'f.name as fund_name', 'f.name_en as fund_name_en',
  's.id as street_id', 's.code as street_code', 's.name as street_name', 's.name_en as street_name_en', 'fa.id as fund_agreement_id',
];

function base(db: Knex | Knex.Transaction) {
  return db('campaigns as c').join('community_funds as f', 'f.id', 'c.fund_id').join('streets as s', 's.id', 'f.street_id')
    .leftJoin('fund_agreements as fa', (j) => j.on('fa.fund_id', 'f.id').andOnNull('fa.superseded_at'));
}

export interface CampaignFilter { statuses: string[]; street?: string; q?: string; streetId?: number | null }

function filtered(db: Knex, f: CampaignFilter) {
  const q = base(db).whereIn('c.status', f.statuses);
  if (f.street) q.where((w) => (/^\d+$/.test(f.street!) ? w.where('s.id', Number(f.street)) : w.where('s.code', f.street!)));
  if (f.q) q.where((w) => w.whereILike('c.title', `%${f.q!.replace(/[%_\\]/g, '\\$&')}%`));
  if (f.streetId) q.where('s.id', f.streetId);
  return q;
}

/** knex access to campaigns. */
export const campaignsRepo = {
  async insert(db: Knex.Transaction, c: { slug: string; fund_id: number; title: string; story: string; goal_minor: number; currency: string; status: string; starts_at: Date; ends_at: Date; organisation_id: number | null; created_by: number | null }): Promise<number> {
    const [r] = await db('campaigns').insert(c).returning('id');
    return r.id;
  },
  findBySlug(db: Knex | Knex.Transaction, slug: string): Promise<CampaignRow | undefined> {
    return base(db).where('c.slug', slug).first(columns);
  },
  findById(db: Knex | Knex.Transaction, id: number): Promise<CampaignRow | undefined> {
    return base(db).where('c.id', id).first(columns);
  },
  async list(db: Knex, f: CampaignFilter, page: number, perPage: number): Promise<{ rows: CampaignRow[]; total: number }> {
    const [{ count }] = await filtered(db, f).count({ count: '*' });
    const rows = await filtered(db, f)
      .select(columns)
      .orderByRaw("CASE c.status WHEN 'live' THEN 0 WHEN 'draft' THEN 1 ELSE 2 END, c.ends_at, c.id")
      .limit(perPage)
      .offset((page - 1) * perPage);
    return { rows, total: Number(count) };
  },
  allIds(db: Knex): Promise<{ id: number; slug: string }[]> {
    return db('campaigns').select('id', 'slug');
  },
};
