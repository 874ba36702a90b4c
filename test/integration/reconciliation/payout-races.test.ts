import { expect } from 'chai';
import { resetDb, waitFor, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { balances, expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { give } from '../../helpers/matching.js';
import { openExceptionKinds, paidGift, sandboxPayout, waitForMaintenance } from '../../helpers/reconciliation.js';
import { chart, credit, debit, JournalKind } from '../../../server/modules/ledger/index.js';
import type { CampaignRow } from '../../../server/modules/campaigns/index.js';

const fee = (amount: number) => Math.floor((amount * 60 + 5000) / 10_000);

/**
 * A paid gift whose fee job never ran: a job under the fee job's id is queued first (so the
 * payment's own is a duplicate and dropped) and removed once the gift is paid.
 */
async function paidGiftWithoutFee(slug: string, amount: number) {
  const g = await give(slug, amount);
  const held = await h().c.queues.payments.add('record-processor-fee', { donationId: g.id }, { jobId: `fee-${g.id}`, delay: 3_600_000 });
  try {
    await h().c.sandbox!.complete(g.id, 'succeed');
    await waitFor(async () => (await h().db('donations').where({ id: g.id }).first('status')).status === 'succeeded', 'gift paid');
  } finally {
    await held.remove();
  }
  await waitForIdleQueues();
  expect(await h().db('donations').where({ id: g.id }).first('fee_minor')).to.deep.equal({ fee_minor: null });
  return g;
}

describe('reconciliation: runs that meet other runs and the fee job', () => {
  let campaign: CampaignRow;
  beforeEach(async () => {
    await resetDb();
    campaign = await fakeCampaign();
  });
  afterEach(expectSettledLedgerHealthy);

  it('when one payout is reconciled by several runs at once, then its items are copied in once and its journal posted once', async () => {
    await paidGift(campaign.slug, 4_000);
    await paidGift(campaign.slug, 6_000);
    // The payout.paid webhook starts a run of its own, alongside these three.
    const { id } = await h().c.sandbox!.createPayout();
    const outcomes = await Promise.all([1, 2, 3].map(() => h().c.reconciliation.reconcile(id)));
    await waitForIdleQueues();
    await waitForMaintenance();
    // The webhook's run or one of these reconciled it; the rest found it done.
    expect(outcomes.filter((o) => o.outcome !== 'already_reconciled').length).to.be.at.most(1);
    for (const o of outcomes) expect(o.outcome).to.be.oneOf(['reconciled', 'already_reconciled']);
    expect(await h().db('payout_items').where({ payout_id: id }).count({ n: '*' }).first()).to.deep.equal({ n: 3 });
    expect(await h().db('payouts').where({ id }).first('reconciliation', 'items', 'matched')).to.deep.equal({ reconciliation: 'reconciled', items: 2, matched: 2 });
    expect(await h().db('ledger_journals').where({ kind: 'payout' }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
  });

  it('when a charge comes in a payout before its fee is booked, then the fee is booked on the donation from the balance transaction', async () => {
    const g = await paidGiftWithoutFee(campaign.slug, 25_000);
    const p = await sandboxPayout();
    expect(p).to.include({ reconciliation: 'reconciled', matched: 1 });
    expect(await h().db('donations').where({ id: g.id }).first('fee_minor')).to.deep.equal({ fee_minor: fee(25_000) });
    expect(await h().db('ledger_journals').where({ kind: 'payout_fee', idempotency_key: `payout-fee:${p.id}` }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
    expect((await balances())['association:expense:processor_fees:CNY']).to.equal(fee(25_000));
    expect((await balances())['processor:sandbox:clearing:CNY']).to.equal(0);
  });

  it('when the fee job books a different fee while the payout is being matched, then the charge is a fee_mismatch and neither fee is booked twice', async () => {
    const g = await paidGiftWithoutFee(campaign.slug, 30_000);
    // The fee job's transaction, holding the donation's row with a fee one fen above the processor's.
    const job = await h().db.transaction();
    await h().c.ledger.postJournal(job, {
      kind: JournalKind.PROCESSOR_FEE, idempotencyKey: `fee:${g.id}`, donationId: g.id,
      legs: [debit(await h().c.ledger.ensureAccount(job, chart.processorFees('CNY')), fee(30_000) + 1), credit(await h().c.ledger.ensureAccount(job, chart.processorClearing('sandbox', 'CNY')), fee(30_000) + 1)],
    });
    await job('donations').where({ id: g.id }).update({ fee_minor: fee(30_000) + 1 });
    const { id } = await h().c.sandbox!.createPayout();
    const run = h().c.reconciliation.reconcile(id);
    try {
      await waitFor(async () => (await h().db.raw(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%WITH x AS%'`)).rows.length > 0, 'the match waiting on the donation');
    } finally {
      await job.commit();
    }
    const out = await run;
    await waitForIdleQueues();
    await waitForMaintenance();
    expect(out.outcome === 'already_reconciled' || out.outcome === 'exceptions').to.equal(true);
    expect(await h().db('payouts').where({ id }).first('reconciliation', 'matched', 'exceptions')).to.deep.equal({ reconciliation: 'exceptions', matched: 0, exceptions: 1 });
    expect(await openExceptionKinds()).to.deep.equal(['fee_mismatch']);
    const x = await h().db('reconciliation_exceptions').where({ kind: 'fee_mismatch' }).first('donation_id', 'difference_minor');
    expect(x).to.deep.equal({ donation_id: g.id, difference_minor: -1 });
    expect(await h().db('donations').where({ id: g.id }).first('fee_minor')).to.deep.equal({ fee_minor: fee(30_000) + 1 });
    expect(await h().db('ledger_journals').where({ kind: 'payout_fee' }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    expect(await h().db('payout_item_states').where({ payout_id: id, category: 'charge' }).first('status', 'problem')).to.deep.equal({ status: 'exception', problem: 'fee_mismatch' });
  });
});
