import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger.js';

/** Live totals of one campaign, in fen. `donors` counts paid donations (人次). */
export interface Totals {
  raised: number;
  matched: number;
  donors: number;
  match_remaining: number;
}

const ZERO: Totals = { raised: 0, matched: 0, donors: 0, match_remaining: 0 };

/** Adds figures owned by another module (matching) to computed totals. */
export type TotalsContributor = (db: Knex, campaignIds: number[]) => Promise<Map<number, Partial<Totals>>>;

/**
 * Campaign totals: computed from PostgreSQL (the truth), cached in a Redis hash per campaign
 * for pages and sockets, and rebuilt at boot. Readers never fail because Redis is down.
 */
export function createCampaignTotals(deps: { db: Knex; redis: Redis; prefix: string; log: Logger; contributors?: TotalsContributor[] }) {
  const { db, redis, prefix, log } = deps;
  const key = (id: number) => `${prefix}:campaign:${id}:totals`;

  async function compute(ids: number[]): Promise<Map<number, Totals>> {
    const out = new Map<number, Totals>(ids.map((id) => [id, { ...ZERO }]));
    if (!ids.length) return out;
    const { rows } = await db.raw(
      `SELECT campaign_id,
              coalesce(sum(amount_minor - refunded_minor - disputed_minor) FILTER (WHERE succeeded_at IS NOT NULL), 0)::bigint AS raised,
              count(*) FILTER (WHERE status IN ('succeeded', 'partially_refunded')) AS donors
         FROM donations WHERE campaign_id = ANY(?) GROUP BY campaign_id`,
      [ids],
    );
    for (const r of rows) Object.assign(out.get(r.campaign_id)!, { raised: r.raised, donors: r.donors });
    for (const contribute of deps.contributors ?? []) {
      for (const [id, extra] of await contribute(db, ids)) Object.assign(out.get(id) ?? {}, extra);
    }
    return out;
  }

  async function store(totals: Map<number, Totals>): Promise<void> {
    const pipe = redis.pipeline();
    for (const [id, t] of totals) pipe.hset(key(id), t as unknown as Record<string, number>);
    await pipe.exec();
  }

  return {
    compute,

    /** Recomputes from PostgreSQL, caches and returns the totals of one campaign. */
    async refresh(id: number): Promise<Totals> {
      const totals = await compute([id]);
      await store(totals).catch((err) => log.warn({ err }, 'totals cache write failed'));
      return totals.get(id)!;
    },

    /** Reads cached totals, computing (and caching) any that are missing. */
    async get(ids: number[]): Promise<Map<number, Totals>> {
      const out = new Map<number, Totals>();
      let missing = ids;
      try {
        const pipe = redis.pipeline();
        for (const id of ids) pipe.hgetall(key(id));
        const results = (await pipe.exec()) ?? [];
        missing = [];
        ids.forEach((id, i) => {
          const h = results[i]?.[1] as Record<string, string> | undefined;
          if (h && h.raised !== undefined) {
            out.set(id, { raised: Number(h.raised), matched: Number(h.matched), donors: Number(h.donors), match_remaining: Number(h.match_remaining) });
          } else missing.push(id);
        });
      } catch (err) {
        log.warn({ err }, 'totals cache read failed; computing from PostgreSQL');
      }
      if (missing.length) {
        const computed = await compute(missing);
        await store(computed).catch(() => undefined);
        for (const [id, t] of computed) out.set(id, t);
      }
      return out;
    },

    /** Rebuilds every campaign's cached totals from PostgreSQL (at boot). */
    async rebuildAll(): Promise<number> {
      const ids = (await db('campaigns').pluck('id')) as number[];
      for (let i = 0; i < ids.length; i += 500) await store(await compute(ids.slice(i, i + 500)));
      return ids.length;
    },
  };
}

export type CampaignTotals = ReturnType<typeof createCampaignTotals>;
