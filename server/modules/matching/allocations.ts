import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { allocate, scale } from '../../lib/money.js';
import type { Logger } from '../../lib/logger.js';
import { chart, credit, debit, JournalKind, matchSource, type Leg, type LedgerService } from '../ledger/index.js';
import { allocationsRepo, type AllocationRow } from './allocations.repo.js';
import type { GrantRow } from './grants.repo.js';
import type { GrantsService } from './grants.service.js';
import { donationIdentities } from './identity.js';
import { holdReason, recordIdentities, VELOCITY_LIMIT, VELOCITY_WINDOW } from './risk.js';
import { cstDate, evaluate, openSlot } from './rules.js';

/** The donation fields matching reads. */
export interface MatchDonation {
  id: string;
  campaign_id: number;
  amount_minor: number;
  refunded_minor: number;
  disputed_minor: number;
  donor_email: string | null;
  donor_phone: string | null;
  user_id?: number | null;
}

/** The campaign fields matching reads. */
export interface MatchCampaign {
  id: number;
  street_id: number;
  fund_id: number;
  organisation_id: number | null;
}

/** A new donation whose match is to be reserved, with the grants `prepare` found for it. */
export interface NewGift {
  donation: MatchDonation;
  campaign: MatchCampaign;
  at: Date;
  grants: GrantRow[];
}

/** What `match_reserve_batch` is given for a batch (see its migration for every field). */
export interface ReservePlan {
  batch: string;
  velocity_limit: number;
  velocity_window: string;
  pools: { grant_id: number; bucket: string; reserved_account: number }[];
  items: unknown[];
}

/** Paid donations and net raised per campaign, before the gifts now being reserved (challenge unlocks). */
async function campaignProgress(db: Knex, campaignIds: number[]): Promise<Map<number, { donors: number; raised: number }>> {
  if (!campaignIds.length) return new Map();
  const rows: { campaign_id: number; donors: number; raised: number }[] = await db('donations').whereIn('campaign_id', campaignIds).whereNotNull('succeeded_at').groupBy('campaign_id')
    .select('campaign_id', db.raw('count(*)::int AS donors'), db.raw('coalesce(sum(amount_minor - refunded_minor - disputed_minor), 0)::bigint AS raised'));
  return new Map(rows.map((r) => [r.campaign_id, { donors: Number(r.donors), raised: Number(r.raised) }]));
}

/**
 * The allocation lifecycle, each step a ledger journal:
 * reserve (donation created) → commit (payment succeeded) | release (failed, expired, ruled
 * fraudulent) → claw back (refund or dispute, proportional). Callers hold the donation row
 * lock for every step after reserve, so one donation's steps never interleave.
 */
export function createAllocations(deps: { db: Knex; ledger: LedgerService; grants: GrantsService; identitySecret: string; ttlMs: number; log: Logger }) {
  const { ledger } = deps;

  /** Where returned match goes: back to the grant's pool while it is open, else to the sponsor. */
  async function returnLegs(trx: Knex.Transaction, a: AllocationRow, amount: number): Promise<Leg[]> {
    if (a.grant_status === 'active' && a.pool_legs.length) {
      const parts = allocate(amount, a.pool_legs.map((l) => l.amount));
      return a.pool_legs.map((l, i) => credit(l.account_id, parts[i])).filter((l) => l.amount !== 0);
    }
    return [credit(await ledger.ensureAccount(trx, chart.sponsorReturns(a.sponsor_id!, 'CNY')), amount)];
  }

  /** Releases reserved or held allocations: counters first, then the pool (the global lock order). */
  async function release(trx: Knex.Transaction, allocations: AllocationRow[], reason: string): Promise<number[]> {
    const open = allocations.filter((a) => a.status === 'reserved' || a.status === 'held');
    const moves = new Map<string, number>();
    for (const a of open) for (const k of a.counter_keys) moves.set(k, (moves.get(k) ?? 0) - a.reserved_minor);
    await allocationsRepo.moveCounters(trx, moves);
    for (const a of open) {
      const reserved = await ledger.ensureAccount(trx, chart.grantReserved(a.grant_id, 'CNY'));
      await ledger.postJournal(trx, {
        kind: JournalKind.MATCH_RELEASE,
        idempotencyKey: `match-release:${a.donation_id}:${a.grant_id}`,
        donationId: a.donation_id,
        refs: { grant_id: a.grant_id, reason },
        legs: [debit(reserved, a.reserved_minor), ...(await returnLegs(trx, a, a.reserved_minor))],
      });
      await allocationsRepo.update(trx, a.id, { status: 'released', reason: a.reason ?? reason, settled_at: trx.fn.now() });
    }
    return open.map((a) => a.grant_id);
  }

  async function commit(trx: Knex.Transaction, a: AllocationRow, campaignId: number): Promise<void> {
    const reserved = await ledger.ensureAccount(trx, chart.grantReserved(a.grant_id, 'CNY'));
    const match = await ledger.ensureAccount(trx, chart.campaignMatch(campaignId, 'CNY'));
    await ledger.postJournal(trx, {
      kind: JournalKind.MATCH_COMMIT,
      idempotencyKey: `match-commit:${a.donation_id}:${a.grant_id}`,
      donationId: a.donation_id,
      refs: { grant_id: a.grant_id },
      legs: [debit(reserved, a.reserved_minor), credit(match, a.reserved_minor)],
    });
    await allocationsRepo.update(trx, a.id, { status: 'committed', committed_minor: a.reserved_minor, hold_reason: null, settled_at: trx.fn.now() });
  }

  return {
    /**
     * Before the donation's transaction: the grants that cover the campaign, with any daily-slot
     * bucket a gift now would draw on opened. Kept out of the transaction so it never needs a
     * second connection while holding one.
     */
    async prepare(c: MatchCampaign, at: Date): Promise<GrantRow[]> {
      const grants = await deps.grants.applicable(c.id, c.street_id);
      for (const g of grants) {
        const slot = g.rules.mode === 'per_donation' && g.starts_at <= at && at < g.ends_at ? openSlot(g.rules, at) : null;
        if (slot) await deps.grants.ensureBucket(g, slot.bucket, slot.budget);
      }
      return grants;
    },

    /**
     * Matching's plan for a batch of new donations, each with the grants `prepare` found for it:
     * what each grant's rules ask for, the cap counters, and the pools in the global order. The
     * donation writer hands it to `match_reserve_batch` in the statement that inserts the batch;
     * the database then takes the matches from the pools, with caps, sanctions and risk holds.
     * Null when no gift has a grant. Built outside any transaction.
     */
    async plan(gifts: NewGift[]): Promise<ReservePlan | null> {
      const matched = gifts.filter((g) => g.grants.length);
      if (!matched.length) return null;
      const progress = await campaignProgress(deps.db, [...new Set(matched.filter((g) => g.grants.some((x) => x.rules.challenge)).map((g) => g.campaign.id))]);
      const pools = new Map<string, { grant_id: number; bucket: string; reserved_account: number; priority: number }>();
      const items = [];
      for (const { donation: d, campaign: c, at, grants } of matched) {
        const identities = donationIdentities(deps.identitySecret, { account: d.user_id, email: d.donor_email, phone: d.donor_phone });
        const campaign = progress.get(c.id) ?? { donors: 0, raised: 0 };
        const day = cstDate(at);
        const orgKey = c.organisation_id !== null ? `org-${c.organisation_id}` : `fund-${c.fund_id}`;
        const claims = [];
        for (const g of grants) {
          const outcome = evaluate(g.rules, { amount: d.amount_minor, at, campaign }, g.rules.random ? randomBytes(16).toString('hex') : undefined);
          const poolKey = `${g.id}:${outcome.bucket}`;
          if (!pools.has(poolKey)) {
            pools.set(poolKey, { grant_id: g.id, bucket: outcome.bucket, reserved_account: await ledger.ensureAccount(deps.db, chart.grantReserved(g.id, 'CNY')), priority: g.priority });
          }
          claims.push({
            grant_id: g.id,
            bucket: outcome.bucket,
            desired: outcome.desired,
            partial: g.rules.partial_last_match,
            exclusive: g.rules.exclusive,
            counters: [
              ...identities.map((i) => ({ key: `donor:${i.identity}:${day}`, cap: g.rules.cap_per_donor_per_day, reason: 'cap_per_donor_per_day' })),
              ...(g.rules.cap_per_campaign !== undefined ? [{ key: `grant:${g.id}:campaign:${c.id}`, cap: g.rules.cap_per_campaign, reason: 'cap_per_campaign' }] : []),
              ...(g.rules.cap_per_organisation !== undefined ? [{ key: `grant:${g.id}:${orgKey}`, cap: g.rules.cap_per_organisation, reason: 'cap_per_organisation' }] : []),
            ],
            rule_version: g.rule_version,
            reason: outcome.reason,
            draw: outcome.draw ?? null,
            inputs: { amount: d.amount_minor, at: at.toISOString(), campaign, ratio_bp: outcome.ratio_bp },
            expires_at: new Date(at.getTime() + deps.ttlMs).toISOString(),
          });
        }
        items.push({ donation_id: d.id, campaign_id: c.id, organisation_id: c.organisation_id, at: at.toISOString(), identities, claims });
      }
      // The global pool order every transaction follows: priority desc, grant id, bucket.
      const order = [...pools.values()]
        .sort((a, b) => b.priority - a.priority || a.grant_id - b.grant_id || (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0))
        .map(({ priority: _, ...pool }) => pool);
      return { batch: randomUUID(), velocity_limit: VELOCITY_LIMIT, velocity_window: VELOCITY_WINDOW, pools: order, items };
    },

    /**
     * Payment succeeded: commit each reservation, or hold it for review when a risk rule fires
     * (now including the payment fingerprint, if the processor gave one).
     */
    async commitForDonation(trx: Knex.Transaction, d: MatchDonation, at: Date, fingerprint?: string | null): Promise<number[]> {
      const open = await allocationsRepo.forDonation(trx, d.id, ['reserved']);
      if (!open.length) return [];
      let late: string | null = null;
      if (fingerprint) {
        const ids = donationIdentities(deps.identitySecret, { fingerprint });
        await recordIdentities(trx, d.id, ids, at);
        late = await holdReason(trx, d.campaign_id, ids.map((i) => i.identity), at);
      }
      for (const a of open) {
        if (a.hold_reason || late) await allocationsRepo.update(trx, a.id, { status: 'held', hold_reason: a.hold_reason ?? late });
        else await commit(trx, a, d.campaign_id);
      }
      return open.map((a) => a.grant_id);
    },

    /** Payment failed or the reservation expired: give the reservation back. */
    async releaseForDonation(trx: Knex.Transaction, d: MatchDonation, reason: string): Promise<number[]> {
      return release(trx, await allocationsRepo.forDonation(trx, d.id, ['reserved', 'held']), reason);
    },

    /**
     * Money went back to the donor (refund or dispute): claw back the same share of each
     * committed match, cumulatively exact (a full refund claws back all of it), and release any
     * reservation still open.
     */
    async clawbackForDonation(trx: Knex.Transaction, d: MatchDonation): Promise<number[]> {
      const all = await allocationsRepo.forDonation(trx, d.id);
      const returned = d.refunded_minor + d.disputed_minor;
      const touched = await release(trx, all, 'payment_returned');
      const due = all
        .filter((a) => a.committed_minor > 0)
        .map((a) => ({ a, target: scale(a.committed_minor, returned, d.amount_minor) }))
        .filter(({ a, target }) => target > a.clawed_back_minor);
      const moves = new Map<string, number>();
      for (const { a, target } of due) for (const k of a.counter_keys) moves.set(k, (moves.get(k) ?? 0) - (target - a.clawed_back_minor));
      await allocationsRepo.moveCounters(trx, moves);
      for (const { a, target } of due) {
        const delta = target - a.clawed_back_minor;
        const held = a.release_id
          ? chart.fundPool((await trx('campaigns').where({ id: d.campaign_id }).first('fund_id')).fund_id, matchSource(a.sponsor_kind!), 'CNY')
          : chart.campaignMatch(d.campaign_id, 'CNY');
        const match = await ledger.ensureAccount(trx, held);
        await ledger.postJournal(trx, {
          kind: JournalKind.MATCH_CLAWBACK,
          idempotencyKey: `match-clawback:${d.id}:${a.grant_id}:${target}`,
          donationId: d.id,
          refs: { grant_id: a.grant_id, clawed_back_to: target },
          legs: [debit(match, delta), ...(await returnLegs(trx, a, delta))],
        });
        await allocationsRepo.update(trx, a.id, { clawed_back_minor: target, status: target === a.committed_minor ? 'clawed_back' : 'committed' });
        touched.push(a.grant_id);
      }
      return touched;
    },

    /** Staff ruled a held match legitimate: commit it now (or, if still unpaid, let it commit on payment). */
    async releaseHold(trx: Knex.Transaction, a: AllocationRow, campaignId: number): Promise<void> {
      if (a.status === 'held') await commit(trx, a, campaignId);
      else await allocationsRepo.update(trx, a.id, { hold_reason: null });
    },

    /** Staff confirmed abuse: the held match goes back to the grant (or sponsor). */
    async confirmHold(trx: Knex.Transaction, a: AllocationRow): Promise<void> {
      await release(trx, [a], 'risk_confirmed');
    },

    /** Donations whose reservations are past their expiry. */
    expiredDonations: (now: Date, limit = 500) => allocationsRepo.expired(deps.db, now, limit),
  };
}

export type Allocations = ReturnType<typeof createAllocations>;
