import type { Knex } from 'knex';
import { evaluate, openSlot } from './rules.js';
import type { MatchRules } from './matching.schemas.js';

export interface DryRunInput {
  rules: MatchRules;
  budget: number;
  /** A CST date, `YYYY-MM-DD`. */
  day: string;
  scope: { all?: boolean; campaignIds?: number[]; streetIds?: number[] };
}

/**
 * Replays a rule set against a past day's paid donations, in the order they were made, with a
 * simulated pool and caps, and reports what it would have matched. Writes nothing. Random
 * matching draws from each donation's id, so a dry run is repeatable.
 */
export async function dryRun(db: Knex, input: DryRunInput) {
  const from = new Date(`${input.day}T00:00:00+08:00`);
  const to = new Date(from.getTime() + 86_400_000);
  const q = db('donations as d').join('campaigns as c', 'c.id', 'd.campaign_id').join('community_funds as f', 'f.id', 'c.fund_id')
    .whereNotNull('d.succeeded_at').where('d.created_at', '>=', from).where('d.created_at', '<', to)
    .orderBy('d.created_at')
    .select('d.id', 'd.amount_minor', 'd.created_at', 'd.campaign_id', 'c.slug', 'c.organisation_id', 'c.fund_id',
      db.raw(`(SELECT array_agg(i.identity) FROM donor_identities i WHERE i.donation_id = d.id) AS identities`));
  if (!input.scope.all) {
    q.where((w) => w.whereIn('c.id', input.scope.campaignIds ?? []).orWhereIn('f.street_id', input.scope.streetIds ?? []));
  }
  const gifts: { id: string; amount_minor: number; created_at: Date; campaign_id: number; slug: string; organisation_id: number | null; fund_id: number; identities: string[] | null }[] = await q;

  const pools = new Map<string, number>();
  let unopened = input.budget;
  const counters = new Map<string, number>();
  const progress = new Map<number, { donors: number; raised: number }>();
  const byCampaign = new Map<string, { donations: number; matched: number; match: number }>();
  const reasons: Record<string, number> = {};
  let total = 0;

  for (const g of gifts) {
    const p = progress.get(g.campaign_id) ?? { donors: 0, raised: 0 };
    const out = evaluate(input.rules, { amount: g.amount_minor, at: g.created_at, campaign: p }, g.id);
    let give = out.desired;
    if (give > 0) {
      if (!pools.has(out.bucket)) {
        const slot = openSlot(input.rules, g.created_at);
        const opened = slot ? Math.min(slot.budget, unopened) : unopened;
        unopened -= opened;
        pools.set(out.bucket, opened);
      }
      const keys = [
        ...(g.identities ?? []).map((i) => [`donor:${i}`, input.rules.cap_per_donor_per_day] as const),
        ...(input.rules.cap_per_campaign !== undefined ? [[`campaign:${g.campaign_id}`, input.rules.cap_per_campaign] as const] : []),
        ...(input.rules.cap_per_organisation !== undefined ? [[`org:${g.organisation_id ?? `fund-${g.fund_id}`}`, input.rules.cap_per_organisation] as const] : []),
      ];
      for (const [k, cap] of keys) give = Math.min(give, cap - (counters.get(k) ?? 0));
      give = Math.min(give, pools.get(out.bucket)!);
      if (give < out.desired && !input.rules.partial_last_match) give = 0;
      give = Math.max(give, 0);
      pools.set(out.bucket, pools.get(out.bucket)! - give);
      for (const [k] of keys) counters.set(k, (counters.get(k) ?? 0) + give);
    }
    const reason = give > 0 ? (give < out.desired ? 'partial' : 'matched') : (out.reason ?? 'pool_exhausted');
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    const row = byCampaign.get(g.slug) ?? { donations: 0, matched: 0, match: 0 };
    row.donations++;
    if (give > 0) row.matched++;
    row.match += give;
    byCampaign.set(g.slug, row);
    total += give;
    progress.set(g.campaign_id, { donors: p.donors + 1, raised: p.raised + g.amount_minor });
  }
  return {
    day: input.day,
    donations: gifts.length,
    matched: [...byCampaign.values()].reduce((s, r) => s + r.matched, 0),
    total_match: total,
    budget_left: unopened + [...pools.values()].reduce((s, x) => s + x, 0),
    reasons,
    by_campaign: [...byCampaign].map(([slug, r]) => ({ slug, ...r })).sort((a, b) => b.match - a.match),
  };
}
