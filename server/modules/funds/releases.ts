import type { Knex } from 'knex';
import { scale } from '../../lib/money.js';
import { chart, credit, debit, JournalKind, matchSource, type LedgerService, type Leg } from '../ledger/index.js';

/** A donation is cleared once a paid, reconciled payout carried its charge without an exception. */
const CLEARED = `EXISTS (SELECT 1 FROM payout_items i JOIN payouts p ON p.id = i.payout_id
                  WHERE i.donation_id = d.id AND i.category = 'charge' AND i.status = 'matched' AND p.status = 'paid' AND p.reconciliation <> 'pending')`;

/** When a campaign ended: its end, or when it was closed early. */
const ENDED_AT = `CASE WHEN c.status = 'closed' THEN least(c.ends_at, c.updated_at) ELSE c.ends_at END`;

export interface ReleaseOutcome { donations: number; matches: number; released_minor: number; fees_minor: number }

/**
 * Moves cleared money into funds' purchase-of-services pools, less each fund's management fee
 * (C-7, by its agreement in force), one journal per campaign and source:
 * - a campaign's donations once reconciled (their net of refunds and disputes);
 * - one grant's match on a campaign once the donations it matched are released, the campaign's
 *   public notice period after its end has passed (M-14), and the sponsor has paid enough: receipts
 *   less what the grant has already released cover it, oldest matches first.
 * Donation rows are locked first (in id order), as every payment event does, so a refund racing
 * a release waits for it and then takes its money from the pool.
 */
export function createReleases(deps: { db: Knex; ledger: LedgerService; noticeDays: number }) {
  const { db, ledger } = deps;

  async function post(trx: Knex.Transaction, r: { key: string; fundId: number; campaignId: number; source: 'donations' | 'match'; grantId: number | null; sponsorKind?: string; amount: number; feeBp: number }) {
    const fee = scale(r.amount, r.feeBp, 10_000);
    const from = r.source === 'donations' ? chart.campaignDonations(r.campaignId, 'CNY') : chart.campaignMatch(r.campaignId, 'CNY');
    const to = chart.fundPool(r.fundId, r.source === 'donations' ? 'donations' : matchSource(r.sponsorKind!), 'CNY');
    const legs: Leg[] = [debit(await ledger.ensureAccount(trx, from), r.amount), credit(await ledger.ensureAccount(trx, to), r.amount - fee)];
    if (fee > 0) legs.push(credit(await ledger.ensureAccount(trx, chart.managementFees('CNY')), fee));
    const { journalId } = await ledger.postJournal(trx, {
      kind: JournalKind.POOL_RELEASE, idempotencyKey: r.key, legs,
      refs: { fund_id: r.fundId, campaign_id: r.campaignId, source: r.source, grant_id: r.grantId, fee_bp: r.feeBp },
    });
    const [row] = await trx('pool_releases').insert({ fund_id: r.fundId, campaign_id: r.campaignId, source: r.source, grant_id: r.grantId, amount_minor: r.amount, fee_minor: fee, fee_bp: r.feeBp, journal_id: journalId }).returning('id');
    return { id: row.id as number, fee };
  }

  async function releaseDonations(campaign: { id: number; fund_id: number; fee_bp: number }): Promise<{ n: number; amount: number; fee: number }> {
    return db.transaction(async (trx) => {
      const { rows } = await trx.raw(
        `SELECT d.id, (d.amount_minor - d.refunded_minor - d.disputed_minor)::bigint AS net FROM donations d
          WHERE d.campaign_id = ? AND d.release_id IS NULL AND d.succeeded_at IS NOT NULL
            AND d.amount_minor - d.refunded_minor - d.disputed_minor > 0 AND ${CLEARED}
          ORDER BY d.id FOR UPDATE OF d`,
        [campaign.id],
      );
      if (!rows.length) return { n: 0, amount: 0, fee: 0 };
      const amount = rows.reduce((s: number, r: { net: number }) => s + Number(r.net), 0);
      const { id, fee } = await post(trx, { key: `pool-release:donations:${campaign.id}:${rows[0].id}`, fundId: campaign.fund_id, campaignId: campaign.id, source: 'donations', grantId: null, amount, feeBp: campaign.fee_bp });
      await trx.raw(`UPDATE donations d SET release_id = ?, released_minor = d.amount_minor - d.refunded_minor - d.disputed_minor, updated_at = now() WHERE d.id = ANY(?::uuid[])`, [id, rows.map((r: { id: string }) => r.id)]);
      return { n: rows.length, amount, fee };
    });
  }

  async function releaseMatch(campaign: { id: number; fund_id: number; fee_bp: number }, grantId: number): Promise<{ n: number; amount: number; fee: number }> {
    return db.transaction(async (trx) => {
      const g = await trx('grants as g').join('sponsors as s', 's.id', 'g.sponsor_id').where('g.id', grantId).forUpdate('g').first('g.id', 's.kind as sponsor_kind');
      const { rows: [money] } = await trx.raw(
        `SELECT (SELECT coalesce(sum(amount_minor), 0) FROM sponsor_receipts WHERE grant_id = :g)::bigint
              - (SELECT coalesce(sum(amount_minor), 0) FROM pool_releases WHERE grant_id = :g)::bigint AS available`,
        { g: grantId },
      );
      let available = Number(money.available);
      if (available <= 0) return { n: 0, amount: 0, fee: 0 };
      const { rows: allocations } = await trx.raw(
        `SELECT m.id, (m.committed_minor - m.clawed_back_minor)::bigint AS live FROM donations d JOIN match_allocations m ON m.donation_id = d.id
          WHERE d.campaign_id = ? AND m.grant_id = ? AND m.release_id IS NULL AND d.release_id IS NOT NULL AND m.status = 'committed' AND m.committed_minor > m.clawed_back_minor
          ORDER BY d.id FOR UPDATE OF d, m`,
        [campaign.id, grantId],
      );
      const distributions = await trx('match_distributions').where({ grant_id: grantId, campaign_id: campaign.id }).whereNull('release_id').forUpdate().select('id', 'amount_minor');
      const take = (items: { id: number; amount: number }[]) => items.filter((x) => (x.amount <= available ? ((available -= x.amount), true) : false));
      const chosenAllocations = take(allocations.map((a: { id: number; live: number }) => ({ id: a.id, amount: Number(a.live) })));
      const chosenShares = take(distributions.map((x) => ({ id: x.id as number, amount: Number(x.amount_minor) })));
      const amount = [...chosenAllocations, ...chosenShares].reduce((s, x) => s + x.amount, 0);
      if (amount === 0) return { n: 0, amount: 0, fee: 0 };
      const first = chosenAllocations[0] ? `a${chosenAllocations[0].id}` : `s${chosenShares[0].id}`;
      const { id, fee } = await post(trx, { key: `pool-release:match:${campaign.id}:${grantId}:${first}`, fundId: campaign.fund_id, campaignId: campaign.id, source: 'match', grantId, sponsorKind: g.sponsor_kind, amount, feeBp: campaign.fee_bp });
      for (const a of chosenAllocations) await trx('match_allocations').where({ id: a.id }).update({ release_id: id, released_minor: a.amount, updated_at: trx.fn.now() });
      if (chosenShares.length) await trx('match_distributions').whereIn('id', chosenShares.map((x) => x.id)).update({ release_id: id });
      return { n: chosenAllocations.length + chosenShares.length, amount, fee };
    });
  }

  return {
    /** Releases everything due now: cleared donations, then matches past their notice and paid for. */
    async releaseDue(now = new Date()): Promise<ReleaseOutcome> {
      const out: ReleaseOutcome = { donations: 0, matches: 0, released_minor: 0, fees_minor: 0 };
      const campaigns: { id: number; fund_id: number; fee_bp: number; notice_over: boolean }[] = await db('campaigns as c')
        .join('fund_agreements as a', (j) => j.on('a.fund_id', 'c.fund_id').andOnNull('a.superseded_at'))
        .select('c.id', 'c.fund_id', 'a.management_fee_bp as fee_bp', db.raw(`(${ENDED_AT}) + make_interval(days => ?) <= ? AS notice_over`, [deps.noticeDays, now]))
        .orderBy('c.id');
      for (const c of campaigns) {
        const d = await releaseDonations(c);
        out.donations += d.n;
        out.released_minor += d.amount;
        out.fees_minor += d.fee;
        if (!c.notice_over) continue;
        const grants: number[] = await db('match_allocations as m').join('donations as d', 'd.id', 'm.donation_id')
          .where('d.campaign_id', c.id).whereNull('m.release_id').where('m.status', 'committed').distinct().pluck('m.grant_id');
        const shares: number[] = await db('match_distributions').where({ campaign_id: c.id }).whereNull('release_id').distinct().pluck('grant_id');
        for (const grantId of [...new Set([...grants, ...shares])].sort((a, b) => a - b)) {
          const m = await releaseMatch(c, grantId);
          out.matches += m.n;
          out.released_minor += m.amount;
          out.fees_minor += m.fee;
        }
      }
      return out;
    },
  };
}

export type Releases = ReturnType<typeof createReleases>;
