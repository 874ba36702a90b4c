import type { Knex } from 'knex';
import type { MatchRules } from './matching.schemas.js';

type Db = Knex | Knex.Transaction;

export interface GrantRow {
  id: number; sponsor_id: number; sponsor_name: string; sponsor_kind: string; name: string; currency: 'CNY';
  budget_minor: number; status: 'draft' | 'active' | 'closed'; scope_all: boolean; priority: number;
  starts_at: Date; ends_at: Date; rule_version: number; rules: MatchRules;
  created_at: Date; activated_at: Date | null; closed_at: Date | null;
}

const grantColumns = ['g.*', 's.name as sponsor_name', 's.kind as sponsor_kind', 'v.rules'];
const withRules = (db: Db) =>
  db('grants as g').join('sponsors as s', 's.id', 'g.sponsor_id').join('grant_rule_versions as v', (j) => j.on('v.grant_id', 'g.id').andOn('v.version', 'g.rule_version'));

/** knex access to grants, their scope, rule versions and pool shards. */
export const grantsRepo = {
  async upsertSponsor(db: Db, name: string, kind: string): Promise<number> {
    const [r] = await db('sponsors').insert({ name, kind }).onConflict('name').merge({ name }).returning('id');
    return r.id;
  },
  async insertGrant(db: Db, row: Record<string, unknown>): Promise<number> {
    const [r] = await db('grants').insert(row).returning('id');
    return r.id;
  },
  async insertScope(db: Db, grantId: number, campaignIds: number[], streetIds: number[]): Promise<void> {
    if (campaignIds.length) await db('grant_scope_campaigns').insert(campaignIds.map((campaign_id) => ({ grant_id: grantId, campaign_id })));
    if (streetIds.length) await db('grant_scope_streets').insert(streetIds.map((street_id) => ({ grant_id: grantId, street_id })));
  },
  async insertRuleVersion(db: Db, grantId: number, version: number, rules: MatchRules): Promise<void> {
    await db('grant_rule_versions').insert({ grant_id: grantId, version, rules: JSON.stringify(rules) });
  },
  ruleVersion(db: Db, grantId: number, version: number): Promise<{ rules: MatchRules } | undefined> {
    return db('grant_rule_versions').where({ grant_id: grantId, version }).first('rules');
  },
  find(db: Db, id: number): Promise<GrantRow | undefined> {
    return withRules(db).where('g.id', id).first(grantColumns);
  },
  /** Locks the grant row: admin operations on one grant (activate, top up, open a bucket, close) are serialised. */
  lock(trx: Knex.Transaction, id: number): Promise<{ id: number; status: string; sponsor_id: number; rule_version: number } | undefined> {
    return trx('grants').where({ id }).forUpdate().first('id', 'status', 'sponsor_id', 'rule_version');
  },
  async list(db: Knex, status: string | undefined, page: number, perPage: number, sponsorId?: number | null): Promise<{ rows: GrantRow[]; total: number }> {
    const base = () => {
      const q = withRules(db);
      if (status) q.where('g.status', status);
      if (sponsorId) q.where('g.sponsor_id', sponsorId);
      return q;
    };
    const [{ n }] = await base().count({ n: '*' });
    const rows = await base().select(grantColumns).orderBy('g.id', 'desc').limit(perPage).offset((page - 1) * perPage);
    return { rows, total: Number(n) };
  },
  /** Active grants whose scope covers a campaign, in the global claim order (priority desc, id asc). */
  forCampaign(db: Db, campaignId: number, streetId: number): Promise<GrantRow[]> {
    return withRules(db)
      .where('g.status', 'active')
      .where((w) =>
        w.where('g.scope_all', true)
          .orWhereExists((q) => q.select(db.raw('1')).from('grant_scope_campaigns as sc').whereRaw('sc.grant_id = g.id').where('sc.campaign_id', campaignId))
          .orWhereExists((q) => q.select(db.raw('1')).from('grant_scope_streets as ss').whereRaw('ss.grant_id = g.id').where('ss.street_id', streetId)),
      )
      .orderBy([{ column: 'g.priority', order: 'desc' }, { column: 'g.id', order: 'asc' }])
      .select(grantColumns);
  },
  scope(db: Db, grantId: number): Promise<[{ slug: string }[], { id: number }[]]> {
    return Promise.all([
      db('grant_scope_campaigns as sc').join('campaigns as c', 'c.id', 'sc.campaign_id').where('sc.grant_id', grantId).orderBy('c.slug').select('c.slug'),
      db('grant_scope_streets').where({ grant_id: grantId }).orderBy('street_id').select('street_id as id'),
    ]);
  },
  shards(db: Db, grantId: number, bucket?: string): Promise<{ bucket: string; shard: number; account_id: number; balance: number }[]> {
    const q = db('grant_pool_shards as s').join('ledger_accounts as a', 'a.id', 's.account_id').where('s.grant_id', grantId).orderBy('a.id').select('s.bucket', 's.shard', 's.account_id', 'a.balance');
    if (bucket) q.where('s.bucket', bucket);
    return q;
  },
  async insertShard(db: Db, grantId: number, bucket: string, shard: number, accountId: number): Promise<void> {
    await db('grant_pool_shards').insert({ grant_id: grantId, bucket, shard, account_id: accountId });
  },
  /** Committed (net of clawbacks, plus close-time distributions) and reserved match of a grant, overall and per campaign. */
  async usage(db: Db, grantId: number) {
    const byCampaign = await db.raw(
      `SELECT c.id, c.slug, c.title,
              coalesce(sum(a.committed_minor - a.clawed_back_minor), 0)::bigint AS committed,
              coalesce(sum(a.reserved_minor) FILTER (WHERE a.status IN ('reserved', 'held')), 0)::bigint AS reserved,
              count(*) FILTER (WHERE a.status IN ('reserved', 'held') OR a.committed_minor > a.clawed_back_minor) AS donations
         FROM match_allocations a JOIN donations d ON d.id = a.donation_id JOIN campaigns c ON c.id = d.campaign_id
        WHERE a.grant_id = ? GROUP BY c.id ORDER BY c.slug`,
      [grantId],
    );
    const dist = await db('match_distributions').where({ grant_id: grantId }).select('campaign_id', 'amount_minor');
    return { byCampaign: byCampaign.rows as { id: number; slug: string; title: string; committed: number; reserved: number; donations: number }[], distributions: dist as { campaign_id: number; amount_minor: number }[] };
  },
};
