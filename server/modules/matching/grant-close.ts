import type { Knex } from 'knex';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import { chart, credit, debit, JournalKind, type Leg, type LedgerService } from '../ledger/index.js';
import { allocateByWeight, allocateWithCap, quadraticWeights } from './close-distribution.js';
import { grantsRepo, type GrantRow } from './grants.repo.js';

/** Paid donations to in-scope campaigns inside the grant's window, net of refunds and disputes. */
async function scopedGifts(trx: Knex.Transaction, g: GrantRow) {
  const { rows } = await trx.raw(
    `SELECT d.campaign_id, d.id, d.amount_minor - d.refunded_minor - d.disputed_minor AS net,
            (SELECT min(i.identity) FROM donor_identities i WHERE i.donation_id = d.id AND i.kind IN ('email', 'phone', 'account')) AS donor
       FROM donations d JOIN campaigns c ON c.id = d.campaign_id JOIN community_funds f ON f.id = c.fund_id
      WHERE d.succeeded_at IS NOT NULL AND d.succeeded_at >= ? AND d.succeeded_at < ?
        AND d.amount_minor > d.refunded_minor + d.disputed_minor
        AND (?::boolean OR c.id IN (SELECT campaign_id FROM grant_scope_campaigns WHERE grant_id = ?)
                        OR f.street_id IN (SELECT street_id FROM grant_scope_streets WHERE grant_id = ?))`,
    [g.starts_at, g.ends_at, g.scope_all, g.id, g.id],
  );
  return rows as { campaign_id: number; id: string; net: number; donor: string | null }[];
}

/** What is still in a grant's unopened budget and pool shards. */
async function poolLeft(trx: Knex.Transaction, grantId: number): Promise<number> {
  const { rows } = await trx.raw(
    `SELECT coalesce(sum(a.balance), 0)::bigint AS left FROM ledger_accounts a
      WHERE a.id IN (SELECT account_id FROM grant_pool_shards WHERE grant_id = ?) OR a.code = ?`,
    [grantId, `grant:${grantId}:budget:CNY`],
  );
  return Number(rows[0].left);
}

/** How the grant's leftover is shared among campaigns at close (empty: all goes back to the sponsor). */
async function distribution(trx: Knex.Transaction, g: GrantRow, available: number): Promise<{ kind: 'stretch' | 'quadratic'; shares: Map<number, number>; weights: Map<number, bigint> } | null> {
  if (g.rules.mode === 'quadratic') {
    const perDonor = new Map<number, Map<string, number>>();
    for (const gift of await scopedGifts(trx, g)) {
      const donors = perDonor.get(gift.campaign_id) ?? new Map<string, number>();
      const who = gift.donor ?? `donation:${gift.id}`;
      donors.set(who, (donors.get(who) ?? 0) + gift.net);
      perDonor.set(gift.campaign_id, donors);
    }
    const weights = quadraticWeights(new Map([...perDonor].map(([c, donors]) => [c, [...donors.values()]])));
    return { kind: 'quadratic', shares: allocateWithCap(available, weights, g.rules.quadratic?.per_project_cap), weights };
  }
  if (g.rules.stretch_at_close) {
    const raised = new Map<number, bigint>();
    for (const gift of await scopedGifts(trx, g)) raised.set(gift.campaign_id, (raised.get(gift.campaign_id) ?? 0n) + BigInt(gift.net));
    return { kind: 'stretch', shares: allocateByWeight(available, raised), weights: raised };
  }
  return null;
}

/**
 * Closes a grant in two transactions. The first flips the status, so no new claim starts
 * (a grant left closed with money in its pool, because the second step failed, passes
 * straight on to it: closing again finishes the job).
 * The second locks every account it will touch in the ledger's global order (rank 0 accounts,
 * then the grant's budget and shards), reads what is left, and posts one journal: shares to
 * campaigns (stretch or quadratic) and the rest to the sponsor's returns account.
 */
export async function closeGrant(deps: { db: Knex; ledger: LedgerService }, id: number): Promise<void> {
  const { db, ledger } = deps;
  await db.transaction(async (trx) => {
    const g = await grantsRepo.lock(trx, id);
    if (!g) throw new NotFoundError('grant');
    const finished = g.status === 'closed' && (await poolLeft(trx, id)) === 0;
    if (g.status === 'draft' || finished) throw new ConflictError('grant_not_active', 'errors.grant_not_active');
    if (g.status === 'active') await trx('grants').where({ id }).update({ status: 'closed', closed_at: trx.fn.now() });
  });

  await db.transaction(async (trx) => {
    const g = (await grantsRepo.find(trx, id))!;
    const budget = await ledger.ensureAccount(trx, chart.grantBudget(id, 'CNY'));
    const returns = await ledger.ensureAccount(trx, chart.sponsorReturns(g.sponsor_id, 'CNY'));
    const shardIds = (await grantsRepo.shards(trx, id)).map((s) => s.account_id);
    const campaignIds: number[] = g.rules.mode === 'quadratic' || g.rules.stretch_at_close ? [...new Set((await scopedGifts(trx, g)).map((x) => x.campaign_id))] : [];
    const matchAccounts = new Map<number, number>();
    for (const c of campaignIds) matchAccounts.set(c, await ledger.ensureAccount(trx, chart.campaignMatch(c, 'CNY')));

    const locked: { id: number; balance: number }[] = await trx('ledger_accounts')
      .whereIn('id', [budget, returns, ...shardIds, ...matchAccounts.values()])
      .orderBy([{ column: 'lock_rank' }, { column: 'id' }])
      .forUpdate()
      .select('id', 'balance');
    const pool = locked.filter((a) => a.id === budget || shardIds.includes(a.id)).filter((a) => a.balance > 0);
    const available = pool.reduce((s, a) => s + a.balance, 0);
    if (available === 0) return;

    const shared = await distribution(trx, g, available);
    const legs: Leg[] = pool.map((a) => debit(a.id, a.balance));
    let given = 0;
    for (const [campaignId, amount] of shared?.shares ?? []) {
      legs.push(credit(matchAccounts.get(campaignId)!, amount));
      given += amount;
      await trx('match_distributions').insert({ grant_id: id, campaign_id: campaignId, kind: shared!.kind, amount_minor: amount, weight: String(shared!.weights.get(campaignId) ?? 0n) });
    }
    if (available - given > 0) legs.push(credit(returns, available - given));
    await ledger.postJournal(trx, { kind: JournalKind.GRANT_CLOSED, idempotencyKey: `grant-closed:${id}`, legs, refs: { grant_id: id, distributed: given, returned: available - given } });
  });
}
