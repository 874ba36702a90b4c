import type { Knex } from 'knex';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import { scale } from '../../lib/money.js';
import { chart, type LedgerService } from '../ledger/index.js';
import { allocationsRepo } from './allocations.repo.js';
import type { Allocations, MatchCampaign, MatchDonation, NewGift } from './allocations.js';
import { grantsRepo, type GrantRow } from './grants.repo.js';
import type { GrantsService } from './grants.service.js';
import { identityHash } from './identity.js';
import { evaluate, nextSlotOpening, openSlot } from './rules.js';

/** What a campaign page says about matching right now. */
export interface MatchState {
  state: 'none' | 'active' | 'next_slot' | 'used_up';
  remaining: number;
  ratio_percent: number | null;
  next_slot_at: string | null;
}

/**
 * Matching as the rest of the service sees it: hooks for the donation lifecycle, expiry, the
 * risk queue, previews and live state. Every step that changes a donation's match locks the
 * donation row first.
 */
export function createMatchingService(deps: { db: Knex; ledger: LedgerService; grants: GrantsService; allocations: Allocations; identitySecret: string; onGrantsChanged?: (ids: number[]) => void }) {
  const { db, grants, allocations } = deps;
  const notify = (ids: number[]) => ids.length && deps.onGrantsChanged?.([...new Set(ids)]);

  const perDonation = (g: GrantRow, now: Date) => g.rules.mode === 'per_donation' && g.starts_at <= now && now < g.ends_at;

  /** The pool a gift made now would draw on: the main bucket, or the open slot's. */
  async function currentRemaining(g: GrantRow, now: Date): Promise<number> {
    const slot = openSlot(g.rules, now);
    if (g.rules.daily_slots && !slot) return 0;
    const shards = await grantsRepo.shards(db, g.id, slot?.bucket ?? 'main');
    if (shards.length || !slot) return shards.reduce((s, x) => s + x.balance, 0);
    const unopened = (await deps.ledger.balanceOf(db, chart.grantBudget(g.id, 'CNY').code)) ?? 0;
    return Math.min(slot.budget, unopened);
  }

  async function lockDonation(trx: Knex.Transaction, id: string): Promise<MatchDonation & { status: string }> {
    const d = await trx('donations').where({ id }).forUpdate().first();
    if (!d) throw new NotFoundError('donation');
    return d;
  }

  return {
    prepare: (c: MatchCampaign, at: Date) => allocations.prepare(c, at),
    plan: (gifts: NewGift[]) => allocations.plan(gifts),
    onPaid: (trx: Knex.Transaction, d: MatchDonation, at: Date, fingerprint?: string | null) => allocations.commitForDonation(trx, d, at, fingerprint),
    onFailed: (trx: Knex.Transaction, d: MatchDonation) => allocations.releaseForDonation(trx, d, 'payment_failed'),
    onReturned: (trx: Knex.Transaction, d: MatchDonation) => allocations.clawbackForDonation(trx, d),
    notify,

    /** Releases one donation's expired reservation unless it was paid meanwhile. */
    async expireDonation(donationId: string): Promise<'released' | 'paid' | 'nothing'> {
      const touched = await db.transaction(async (trx) => {
        const d = await trx('donations').where({ id: donationId }).forUpdate().first();
        if (!d) return [];
        if (d.status !== 'pending' && d.status !== 'failed') return null;
        const due = (await allocationsRepo.forDonation(trx, donationId, ['reserved'])).filter((a) => a.expires_at && a.expires_at <= new Date());
        if (!due.length) return [];
        return allocations.releaseForDonation(trx, d, 'expired');
      });
      if (touched === null) return 'paid';
      notify(touched);
      return touched.length ? 'released' : 'nothing';
    },

    /** The sweeper's half of expiry: every reservation past its TTL. */
    async expireDue(now = new Date()): Promise<number> {
      let n = 0;
      for (const id of await allocations.expiredDonations(now)) if ((await this.expireDonation(id)) === 'released') n++;
      return n;
    },

    /** Held matches awaiting staff (M-10–M-13), oldest first. */
    holds: (page: number, perPage: number) => allocationsRepo.holds(db, page, perPage),
    holdsCount: () => allocationsRepo.holdsCount(db),

    /** Staff decision on a held match: `confirm` (abuse: release it and sanction the organisation) or `release` (commit it). */
    async decideHold(allocationId: number, decision: 'confirm' | 'release', note?: string) {
      const found = await allocationsRepo.find(db, allocationId);
      if (!found) throw new NotFoundError('allocation');
      const result = await db.transaction(async (trx) => {
        const d = await lockDonation(trx, found.donation_id);
        const a = (await allocationsRepo.find(trx, allocationId))!;
        if (!a.hold_reason || (a.status !== 'held' && a.status !== 'reserved')) throw new ConflictError('not_held', 'errors.not_held');
        if (decision === 'release') {
          await allocations.releaseHold(trx, a, d.campaign_id);
          return { status: a.status === 'held' ? 'committed' : 'reserved', sanctioned: null };
        }
        await allocations.confirmHold(trx, a);
        const { organisation_id } = await trx('campaigns').where({ id: d.campaign_id }).first('organisation_id');
        if (organisation_id) await trx('organisations').where({ id: organisation_id }).whereNull('sanctioned_at').update({ sanctioned_at: trx.fn.now(), sanction_reason: note ?? `confirmed ${a.hold_reason} on allocation ${a.id}` });
        return { status: 'released', sanctioned: organisation_id ?? null };
      });
      notify([found.grant_id]);
      return { id: allocationId, ...result };
    },

    /** Records a campaign's beneficiary or organiser contact (hashed) for the self-donation rule (M-12). */
    async linkParty(campaignId: number, role: 'beneficiary' | 'organiser', contact: { email?: string; phone?: string }): Promise<number> {
      const rows = [
        ...(contact.email ? [identityHash(deps.identitySecret, 'email', contact.email)] : []),
        ...(contact.phone ? [identityHash(deps.identitySecret, 'phone', contact.phone)] : []),
      ].map((identity) => ({ campaign_id: campaignId, identity, role }));
      await db('campaign_linked_identities').insert(rows).onConflict(['campaign_id', 'identity']).merge({ role });
      return rows.length;
    },

    /** "Your ¥50 will be matched ¥50": what a gift of `amount` made now would get, before caps per donor. */
    async preview(c: MatchCampaign, amount: number, now = new Date()) {
      const out = [];
      for (const g of await grants.applicable(c.id, c.street_id)) {
        if (!perDonation(g, now)) continue;
        const outcome = g.rules.random ? null : evaluate(g.rules, { amount, at: now, campaign: { donors: Number.MAX_SAFE_INTEGER, raised: Number.MAX_SAFE_INTEGER } });
        const remaining = await currentRemaining(g, now);
        const upTo = g.rules.random ? Math.min(scale(amount, g.rules.random.max_percent, 100), g.rules.cap_per_donation ?? Infinity) : outcome!.desired;
        out.push({ grant_id: g.id, sponsor: g.sponsor_name, match: Math.min(upTo, remaining), random: Boolean(g.rules.random), reason: outcome?.reason ?? null });
      }
      return { amount, match: out.reduce((s, x) => s + x.match, 0), grants: out };
    },

    /** The campaign page's match state: active, next slot opens at HH:MM, or used up. */
    async state(c: MatchCampaign, now = new Date()): Promise<MatchState> {
      const active = (await grants.applicable(c.id, c.street_id)).filter((g) => perDonation(g, now));
      if (!active.length) return { state: 'none', remaining: 0, ratio_percent: null, next_slot_at: null };
      let remaining = 0;
      for (const g of active) remaining += await currentRemaining(g, now);
      const ratio = active[0].rules.random ? null : active[0].rules.ratio_percent;
      if (remaining > 0) return { state: 'active', remaining, ratio_percent: ratio, next_slot_at: null };
      const next = active.map((g) => nextSlotOpening(g.rules, now)).filter((t): t is Date => t !== null && active.some((g) => t < g.ends_at)).sort((a, b) => a.getTime() - b.getTime())[0];
      return next ? { state: 'next_slot', remaining: 0, ratio_percent: ratio, next_slot_at: next.toISOString() } : { state: 'used_up', remaining: 0, ratio_percent: ratio, next_slot_at: null };
    },

    /** Committed match (net of clawbacks, plus close-time shares) per campaign. */
    async matchedByCampaign(trx: Knex, ids: number[]): Promise<Map<number, number>> {
      const { rows } = await trx.raw(
        `SELECT campaign_id, sum(amount)::bigint AS matched FROM (
           SELECT d.campaign_id, a.committed_minor - a.clawed_back_minor AS amount
             FROM match_allocations a JOIN donations d ON d.id = a.donation_id WHERE d.campaign_id = ANY(?) AND a.committed_minor > 0
           UNION ALL SELECT campaign_id, amount_minor FROM match_distributions WHERE campaign_id = ANY(?)) m
          GROUP BY campaign_id`,
        [ids, ids],
      );
      return new Map(rows.map((r: { campaign_id: number; matched: number }) => [r.campaign_id, r.matched]));
    },

    /** The campaign-totals contributor: matched and match_remaining of each campaign. */
    async totalsFor(q: Knex, ids: number[]): Promise<Map<number, { matched: number; match_remaining: number }>> {
      const matched = await this.matchedByCampaign(q, ids);
      const rows: MatchCampaign[] = await q('campaigns as c').join('community_funds as f', 'f.id', 'c.fund_id').whereIn('c.id', ids).select('c.id', 'f.street_id', 'c.fund_id', 'c.organisation_id');
      const out = new Map<number, { matched: number; match_remaining: number }>();
      for (const c of rows) out.set(c.id, { matched: matched.get(c.id) ?? 0, match_remaining: (await this.state(c)).remaining });
      return out;
    },

    /** Campaigns whose match state a grant feeds: its scope (every live campaign for an all-campaigns grant). */
    async campaignsOf(grantId: number): Promise<number[]> {
      const g = await grantsRepo.find(db, grantId);
      if (!g) return [];
      const q = db('campaigns as c').join('community_funds as f', 'f.id', 'c.fund_id').where('c.status', 'live');
      if (!g.scope_all) {
        q.where((w) =>
          w.whereIn('c.id', db('grant_scope_campaigns').where({ grant_id: grantId }).select('campaign_id'))
            .orWhereIn('f.street_id', db('grant_scope_streets').where({ grant_id: grantId }).select('street_id')),
        );
      }
      return q.pluck('c.id');
    },

    /** Recomputes a recorded allocation's desired match from its stored rule version, inputs and draw. */
    async replay(allocationId: number) {
      const a = await allocationsRepo.find(db, allocationId);
      if (!a) throw new NotFoundError('allocation');
      const version = await grantsRepo.ruleVersion(db, a.grant_id, a.rule_version);
      const outcome = evaluate(version!.rules as never, { amount: a.inputs.amount, at: new Date(a.inputs.at), campaign: a.inputs.campaign }, a.draw?.seed);
      return { allocation_id: a.id, rule_version: a.rule_version, recorded: a.desired_minor, replayed: outcome.desired, draw: outcome.draw ?? null, matches: outcome.desired === a.desired_minor };
    },
  };
}

export type MatchingService = ReturnType<typeof createMatchingService>;
