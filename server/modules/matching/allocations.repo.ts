import type { Knex } from 'knex';

export type AllocationStatus = 'zero' | 'reserved' | 'held' | 'committed' | 'released' | 'clawed_back';

export interface AllocationRow {
  id: number; donation_id: string; grant_id: number; rule_version: number; status: AllocationStatus;
  desired_minor: number; reserved_minor: number; committed_minor: number; clawed_back_minor: number;
  reason: string | null; hold_reason: string | null; draw: { seed: string; hit: number; ratio_bp: number } | null;
  inputs: { amount: number; at: string; campaign: { donors: number; raised: number } };
  pool_legs: { account_id: number; amount: number }[]; counter_keys: string[];
  reserved_at: Date; expires_at: Date | null; settled_at: Date | null;
  grant_status?: string; sponsor_id?: number; sponsor_kind?: string;
  /** Set once the match moved into the fund's pool (a later clawback then comes out of the pool). */
  release_id?: number | null;
}

/** knex access to match allocations and cap counters. */
export const allocationsRepo = {
  /** A donation's allocations in claim order, with their grant's status (the donation row is locked by the caller). */
  forDonation(db: Knex | Knex.Transaction, donationId: string, statuses?: AllocationStatus[]): Promise<AllocationRow[]> {
    const q = db('match_allocations as a').join('grants as g', 'g.id', 'a.grant_id').join('sponsors as s', 's.id', 'g.sponsor_id').where('a.donation_id', donationId)
      .orderBy([{ column: 'g.priority', order: 'desc' }, { column: 'g.id', order: 'asc' }])
      .select('a.*', 'g.status as grant_status', 'g.sponsor_id', 's.kind as sponsor_kind');
    if (statuses) q.whereIn('a.status', statuses);
    return q;
  },
  find(db: Knex | Knex.Transaction, id: number): Promise<AllocationRow | undefined> {
    return db('match_allocations as a').join('grants as g', 'g.id', 'a.grant_id').where('a.id', id).first('a.*', 'g.status as grant_status', 'g.sponsor_id');
  },
  async update(trx: Knex.Transaction, id: number, patch: Record<string, unknown>): Promise<void> {
    await trx('match_allocations').where({ id }).update({ ...patch, updated_at: trx.fn.now() });
  },
  /** Locks the counters in key order (the global order for counters), then moves each by `delta`. */
  async moveCounters(trx: Knex.Transaction, moves: Map<string, number>): Promise<void> {
    const keys = [...moves.keys()].sort();
    if (!keys.length) return;
    await trx('match_counters').whereIn('key', keys).orderBy('key').forUpdate().select('key');
    for (const key of keys) await trx('match_counters').where({ key }).increment('amount_minor', moves.get(key)!);
  },
  /** Donations with reservations past their expiry, oldest first. */
  expired(db: Knex, now: Date, limit: number): Promise<string[]> {
    return db('match_allocations').where('status', 'reserved').where('expires_at', '<', now).groupBy('donation_id').orderByRaw('min(expires_at)').limit(limit).pluck('donation_id');
  },
  async holdsCount(db: Knex): Promise<number> {
    const [{ n }] = await db('match_allocations').whereNotNull('hold_reason').whereIn('status', ['reserved', 'held']).count({ n: '*' });
    return Number(n);
  },
  holds(db: Knex, page: number, perPage: number) {
    return db('match_allocations as a')
      .join('donations as d', 'd.id', 'a.donation_id').join('campaigns as c', 'c.id', 'd.campaign_id').join('grants as g', 'g.id', 'a.grant_id')
      .whereNotNull('a.hold_reason').whereIn('a.status', ['reserved', 'held'])
      .orderBy('a.updated_at').limit(perPage).offset((page - 1) * perPage)
      .select('a.id', 'a.status', 'a.hold_reason', 'a.reserved_minor as reserved', 'a.grant_id', 'g.name as grant_name', 'a.donation_id', 'd.amount_minor as amount', 'd.status as donation_status', 'c.slug as campaign', 'a.reserved_at');
  },
};
