import { expect } from 'chai';
import { writeTransactionPages, type ProviderBalanceTransaction } from '../../../server/modules/donations/index.js';
import { resetDb, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { approvedRefund } from '../../helpers/matching.js';
import { paidGift, sandboxPayout } from '../../helpers/reconciliation.js';

/** The sandbox's pages of a payout's balance transactions say exactly what its own records hold. */

/** A payout's transactions as the sandbox records them, in the provider interface's shape, by id. */
async function recorded(payoutId: string): Promise<ProviderBalanceTransaction[]> {
  const { rows } = await h().db.raw(
    `SELECT id, type, category, source, amount_minor AS amount, fee_minor AS fee, net_minor AS net, lower(currency) AS currency, extract(epoch FROM created_at)::bigint AS created
       FROM sandbox_balance_transactions WHERE payout_id = ? ORDER BY id`,
    [payoutId],
  );
  return rows;
}

async function listed(payoutId: string): Promise<ProviderBalanceTransaction[][]> {
  const pages: ProviderBalanceTransaction[][] = [];
  for await (const page of h().c.provider.listBalanceTransactions(payoutId)) pages.push(page);
  return pages;
}

describe('reconciliation: the sandbox lists a payout in pages', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when a payout carries charges, a partial refund and bent amounts, then its one page lists every transaction as recorded', async () => {
    const campaign = await fakeCampaign();
    const refunded = await paidGift(campaign.slug, 10_000);
    await paidGift(campaign.slug, 5_000);
    await paidGift(campaign.slug, 3_000);
    await approvedRefund(refunded.id, { amount: 2_500 });
    await waitForIdleQueues();
    const p = await sandboxPayout(['amount_mismatch', 'missing_in_ledger']);
    const pages = await listed(p.id);
    expect(pages).to.have.length(1);
    expect(pages[0]).to.deep.equal(await recorded(p.id));
    expect(pages[0].map((t) => t.type).sort()).to.deep.equal(['charge', 'charge', 'charge', 'charge', 'payout', 'refund']);
  });

  it('when a payout holds more than a page, then it comes in pages of 5,000 by id with nothing left out or repeated', async () => {
    const payout = 'po_sandbox_pages_test';
    await h().db('sandbox_payouts').insert({ id: payout, amount_minor: 0, currency: 'CNY' });
    await h().db.raw(
      `INSERT INTO sandbox_balance_transactions (id, payout_id, type, category, source, amount_minor, fee_minor, net_minor, currency, created_at)
       SELECT 'txn_pages_' || lpad(g::text, 5, '0'), ?, 'charge', 'charge', 'ch_pages_' || g, 100 + g, 1, 99 + g, 'CNY', now() FROM generate_series(1, 10001) g`,
      [payout],
    );
    await writeTransactionPages(h().db, [payout]);
    const pages = await listed(payout);
    expect(pages.map((p) => p.length)).to.deep.equal([5000, 5000, 1]);
    expect(pages.flat()).to.deep.equal(await recorded(payout));
  });

  it('when a payout is unknown to the sandbox, then it lists nothing', async () => {
    expect(await listed('po_sandbox_unknown')).to.deep.equal([]);
  });
});
