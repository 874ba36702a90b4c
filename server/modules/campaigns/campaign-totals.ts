import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger.js';

/**
 * Live totals of one campaign, in fen. `donors` counts paid donations (人次). `as_of` is when
 * their reading began, in microseconds of PostgreSQL's clock: a reading holds every change
 * committed before it, so of two readings the later `as_of` is never the staler one.
 */
export interface Totals {
  raised: number;
  matched: number;
  donors: number;
  match_remaining: number;
  as_of: number;
}

const FIELDS = ['raised', 'matched', 'donors', 'match_remaining'] as const;

/** Writes a reading into a campaign's cached hash unless the hash holds a later one. */
const STORE_IF_NEWER = `
  local cached = tonumber(redis.call('HGET', KEYS[1], 'as_of'))
  if cached and cached >= tonumber(ARGV[1]) then return 0 end
  redis.call('HSET', KEYS[1], 'as_of', ARGV[1], 'raised', ARGV[2], 'matched', ARGV[3], 'donors', ARGV[4], 'match_remaining', ARGV[5])
  return 1`;

/** Adds figures owned by another module (matching) to computed totals. */
export type TotalsContributor = (db: Knex, campaignIds: number[]) => Promise<Map<number, Partial<Totals>>>;

/**
 * Campaign totals: computed from PostgreSQL (the truth), cached in a Redis hash per campaign
 * for pages and sockets, and rebuilt at boot. Readers never fail because Redis is down. A
 * reading that finishes after a later one never overwrites it in the cache.
 */
export function createCampaignTotals(deps: { db: Knex; redis: Redis; prefix: string; log: Logger; contributors?: TotalsContributor[] }) {
  const { db, redis, prefix, log } = deps;
  const key = (id: number) => `${prefix}:campaign:${id}:totals`;

  async function compute(ids: number[]): Promise<Map<number, Totals>> {
    const out = new Map<number, Totals>();
    if (!ids.length) return out;
    // The first statement of the reading stamps it; every figure is read from then on.
    const { rows } = await db.raw(
      `SELECT c.id AS campaign_id, (extract(epoch FROM statement_timestamp()) * 1000000)::bigint AS as_of,
              coalesce(sum(d.amount_minor - d.refunded_minor - d.disputed_minor) FILTER (WHERE d.succeeded_at IS NOT NULL), 0)::bigint AS raised,
              count(d.id) FILTER (WHERE d.status IN ('succeeded', 'partially_refunded'))::int AS donors
         FROM unnest(?::int[]) c(id) LEFT JOIN donations d ON d.campaign_id = c.id GROUP BY c.id`,
      [ids],
    );
    for (const r of rows) out.set(r.campaign_id, { raised: r.raised, matched: 0, donors: r.donors, match_remaining: 0, as_of: r.as_of });
    for (const contribute of deps.contributors ?? []) {
      for (const [id, extra] of await contribute(db, ids)) Object.assign(out.get(id) ?? {}, extra);
    }
    return out;
  }

  async function store(totals: Map<number, Totals>): Promise<void> {
    const pipe = redis.pipeline();
    for (const [id, t] of totals) pipe.eval(STORE_IF_NEWER, 1, key(id), t.as_of, ...FIELDS.map((f) => t[f]));
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
          if (h && h.as_of !== undefined) {
            out.set(id, { raised: Number(h.raised), matched: Number(h.matched), donors: Number(h.donors), match_remaining: Number(h.match_remaining), as_of: Number(h.as_of) });
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
