import type { Knex } from 'knex';
import { scale } from '../../lib/money.js';
import { chart, credit, debit, JournalKind, matchSource, type LedgerService, type Leg } from '../ledger/index.js';

/**
 * The donations a reconciled payout cleared and that are not yet in a pool: its charges that
 * matched, or whose exception has since been resolved, net of refunds and disputes so far.
 */
const CLEARED_BY_PAYOUT = `
  SELECT d.id, d.campaign_id, c.fund_id, a.management_fee_bp AS fee_bp, (d.amount_minor - d.refunded_minor - d.disputed_minor)::bigint AS net
    FROM payout_item_states i
    JOIN donations d ON d.charge_ref = i.source
    JOIN campaigns c ON c.id = d.campaign_id
    JOIN fund_agreements a ON a.fund_id = c.fund_id AND a.superseded_at IS NULL
   WHERE i.payout_id = ? AND i.category = 'charge'
     AND (i.status = 'matched' OR (i.status = 'exception' AND EXISTS (SELECT 1 FROM reconciliation_exceptions x WHERE x.payout_id = i.payout_id AND x.item_id = i.id AND x.status = 'resolved')))
     AND d.release_id IS NULL AND d.succeeded_at IS NOT NULL AND d.amount_minor - d.refunded_minor - d.disputed_minor > 0
   ORDER BY d.id FOR UPDATE OF d`;

/** When a campaign ended: its end, or when it was closed early. */
const ENDED_AT = `CASE WHEN c.status = 'closed' THEN least(c.ends_at, c.updated_at) ELSE c.ends_at END`;

export interface ReleaseOutcome { donations: number; matches: number; released_minor: number; fees_minor: number }

/**
 * Moves cleared money into funds' purchase-of-services pools, less each fund's management fee
 * (C-7, by its agreement in force), one journal per campaign and source:
 * - the donations a reconciled payout cleared (their net of refunds and disputes), payout by payout;
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

  /** One payout's cleared donations into their funds' pools: one release journal per campaign. */
  async function releasePayout(payoutId: string): Promise<{ n: number; amount: number; fee: number }> {
    return db.transaction(async (trx) => {
      const p = await trx('payouts').where({ id: payoutId }).whereNull('released_at').forUpdate().first('id');
      if (!p) return { n: 0, amount: 0, fee: 0 };
      const { rows } = await trx.raw(CLEARED_BY_PAYOUT, [payoutId]);
      const byCampaign = new Map<number, { fund_id: number; fee_bp: number; ids: string[]; amount: number }>();
      for (const r of rows as { id: string; campaign_id: number; fund_id: number; fee_bp: number; net: number }[]) {
        const c = byCampaign.get(r.campaign_id) ?? { fund_id: r.fund_id, fee_bp: r.fee_bp, ids: [], amount: 0 };
        c.ids.push(r.id);
        c.amount += Number(r.net);
        byCampaign.set(r.campaign_id, c);
      }
      const out = { n: rows.length, amount: 0, fee: 0 };
      for (const [campaignId, c] of [...byCampaign].sort((a, b) => a[0] - b[0])) {
        const { id, fee } = await post(trx, { key: `pool-release:donations:${campaignId}:${payoutId}:${c.ids[0]}`, fundId: c.fund_id, campaignId, source: 'donations', grantId: null, amount: c.amount, feeBp: c.fee_bp });
        await trx.raw(`UPDATE donations d SET release_id = ?, released_minor = d.amount_minor - d.refunded_minor - d.disputed_minor, updated_at = now() WHERE d.id = ANY(?::uuid[])`, [id, c.ids]);
        out.amount += c.amount;
        out.fee += fee;
      }
      await trx('payouts').where({ id: payoutId }).update({ released_at: trx.fn.now() });
      return out;
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
      const payouts: string[] = await db('payouts').whereNull('released_at').whereNot('reconciliation', 'pending').orderBy('created_at').pluck('id');
      for (const id of payouts) {
        const d = await releasePayout(id);
        out.donations += d.n;
        out.released_minor += d.amount;
        out.fees_minor += d.fee;
      }
      const campaigns: { id: number; fund_id: number; fee_bp: number }[] = await db('campaigns as c')
        .join('fund_agreements as a', (j) => j.on('a.fund_id', 'c.fund_id').andOnNull('a.superseded_at'))
        .whereRaw(`(${ENDED_AT}) + make_interval(days => ?) <= ?`, [deps.noticeDays, now])
        .select('c.id', 'c.fund_id', 'a.management_fee_bp as fee_bp')
        .orderBy('c.id');
      for (const c of campaigns) {
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
