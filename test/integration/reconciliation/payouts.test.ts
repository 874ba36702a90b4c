import { expect } from 'chai';
import { resetDb, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { balances, expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { approvedRefund } from '../../helpers/matching.js';
import { financeToken, openExceptionKinds, paidGift, sandboxPayout, waitForMaintenance } from '../../helpers/reconciliation.js';
import type { CampaignRow } from '../../../server/modules/campaigns/index.js';

const fee = (amount: number) => Math.floor((amount * 60 + 5000) / 10_000);

describe('reconciliation: sandbox payouts against the ledger', () => {
  let campaign: CampaignRow;
  beforeEach(async () => {
    await resetDb();
    campaign = await fakeCampaign();
  });
  afterEach(expectSettledLedgerHealthy);

  it('when a payout carries two paid gifts, then every item matches, the payout journal moves clearing to bank and the clearing account is empty', async () => {
    await paidGift(campaign.slug, 10_000);
    await paidGift(campaign.slug, 5_000);
    const p = await sandboxPayout();
    expect(p).to.include({ reconciliation: 'reconciled', items: 2, matched: 2, exceptions: 0, gross_minor: 15_000, fee_minor: fee(10_000) + fee(5_000), amount_minor: 15_000 - fee(10_000) - fee(5_000) });
    const b = await balances();
    expect(b['association:bank:CNY']).to.equal(p.amount_minor);
    expect(b['processor:sandbox:clearing:CNY']).to.equal(0);
    const kinds = await h().db('ledger_journals').where('refs', '@>', { payout_id: p.id }).pluck('kind');
    expect(kinds).to.deep.equal(['payout']);
  });

  it('when the same payout.paid webhook arrives twice and the run is repeated, then the payout is reconciled once and nothing moves again', async () => {
    await paidGift(campaign.slug, 8_800);
    const p = await sandboxPayout();
    const stored = await h().db('processor_events').where({ type: 'payout.paid' }).first();
    await h().c.intake.receive(JSON.stringify(stored.payload), (await import('../../helpers/stripe.js')).sign(JSON.stringify(stored.payload)));
    const again = await h().c.reconciliation.reconcile(p.id);
    await waitForIdleQueues();
    await waitForMaintenance();
    expect(again.outcome).to.equal('already_reconciled');
    expect(await h().db('ledger_journals').where({ kind: 'payout' }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
    expect(await h().db('payout_items').where({ payout_id: p.id }).count({ n: '*' }).first()).to.deep.equal({ n: 2 });
  });

  it('when two payouts go out on one day, then each carries only what the other did not, and both reconcile', async () => {
    await paidGift(campaign.slug, 3_000);
    const first = await sandboxPayout();
    await paidGift(campaign.slug, 7_000);
    const second = await sandboxPayout();
    expect([first.matched, second.matched]).to.deep.equal([1, 1]);
    expect([first.reconciliation, second.reconciliation]).to.deep.equal(['reconciled', 'reconciled']);
    expect((await balances())['association:bank:CNY']).to.equal(10_000 - fee(3_000) - fee(7_000));
  });

  it('when a gift is refunded in part before the payout, then the charge and the refund both match and the bank gets the net', async () => {
    const g = await paidGift(campaign.slug, 10_000);
    await approvedRefund(g.id, { amount: 3_000 });
    await waitForIdleQueues();
    const p = await sandboxPayout();
    expect(p).to.include({ reconciliation: 'reconciled', items: 2, matched: 2, amount_minor: 10_000 - fee(10_000) - 3_000 });
    const items = await h().db('payout_item_states').where({ payout_id: p.id }).whereNot('type', 'payout').orderBy('category').select('category', 'status', 'amount_minor');
    expect(items).to.deep.equal([{ category: 'charge', status: 'matched', amount_minor: 10_000 }, { category: 'refund', status: 'matched', amount_minor: -3_000 }]);
  });

  it('when a card payment is disputed, then the dispute matches its journal and the dispute fee is booked from the balance transaction', async () => {
    const g = await paidGift(campaign.slug, 20_000);
    await h().c.sandbox!.dispute(g.id, 5_000);
    await waitForIdleQueues();
    const p = await sandboxPayout();
    expect(p).to.include({ reconciliation: 'reconciled', matched: 2, amount_minor: 20_000 - fee(20_000) - 5_000 - 1_500 });
    const feeJournal = await h().db('ledger_journals').where({ kind: 'payout_fee', idempotency_key: `payout-fee:${p.id}` }).first('id');
    expect(feeJournal).to.not.equal(undefined);
    expect((await balances())['association:expense:processor_fees:CNY']).to.equal(fee(20_000) + 1_500);
    expect((await balances())['processor:sandbox:clearing:CNY']).to.equal(0);
  });

  for (const [kind, detail] of [
    ['missing_in_ledger', 'a charge the ledger has never seen'],
    ['amount_mismatch', 'a charge 100 fen larger than the donation'],
    ['fee_mismatch', 'a fee 1 fen above the one booked'],
    ['currency_mismatch', 'a charge in USD'],
    ['payout_sum_mismatch', 'a payout 100 fen short of its items'],
    ['missing_at_processor', 'a paid gift the processor never paid out'],
  ] as const) {
    it(`when the payout has ${detail}, then it is one open ${kind} exception and the ledger is not edited`, async () => {
      await paidGift(campaign.slug, 10_000);
      await paidGift(campaign.slug, 20_000);
      await paidGift(campaign.slug, 30_000);
      const before = await h().db('ledger_entries').count({ n: '*' }).first();
      // Processor times are whole seconds: the withheld gift must be paid before the payout's second.
      if (kind === 'missing_at_processor') await new Promise((r) => setTimeout(r, 1100));
      const p = await sandboxPayout([kind]);
      expect(await openExceptionKinds()).to.deep.equal([kind]);
      if (kind !== 'missing_at_processor') expect(p.reconciliation).to.equal('exceptions');
      const posted = await h().db('ledger_journals').whereIn('kind', ['adjustment']).count({ n: '*' }).first();
      expect(posted).to.deep.equal({ n: 0 });
      expect(Number((await h().db('ledger_entries').count({ n: '*' }).first())!.n)).to.be.above(Number(before!.n));
    });
  }

  it('when finance resolves an exception, then a second person must approve and the adjusting journal is posted with the note', async () => {
    await paidGift(campaign.slug, 10_000);
    await sandboxPayout(['amount_mismatch']);
    const e = await h().db('reconciliation_exceptions').where({ kind: 'amount_mismatch' }).first();
    expect(e).to.include({ difference_minor: 100, status: 'open' });
    const asker = await financeToken();
    const body = { note: '银行多付 1 元，记入暂记账户待查', adjustment: { debit: 'processor:sandbox:clearing:CNY', credit: 'association:suspense:reconciliation:CNY', amount: 100 } };
    const asked = await h().api().post(`/api/reconciliation/exceptions/${e.id}/resolve`).set('Authorization', `Bearer ${asker}`).send(body).expect(202);
    await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${asker}`).send({}).expect(403);
    await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${await financeToken()}`).send({}).expect(200);
    const resolved = await h().db('reconciliation_exceptions').where({ id: e.id }).first();
    expect(resolved).to.include({ status: 'resolved', note: body.note });
    const j = await h().db('ledger_journals').where({ id: resolved.resolution_journal_id }).first();
    expect(j).to.include({ kind: 'adjustment', idempotency_key: `exception:${e.id}`, memo: body.note });
    await h().api().post(`/api/reconciliation/exceptions/${e.id}/resolve`).set('Authorization', `Bearer ${asker}`).send({ note: '再来一次' }).expect(409);
  });

  it('when a resolution names an unknown account or carries markup, then it is refused and nothing is asked', async () => {
    await paidGift(campaign.slug, 10_000);
    await sandboxPayout(['fee_mismatch']);
    const e = await h().db('reconciliation_exceptions').first();
    const token = await financeToken();
    const bad = await h().api().post(`/api/reconciliation/exceptions/${e.id}/resolve`).set('Authorization', `Bearer ${token}`).send({ note: 'ok note', adjustment: { debit: 'no:such:CNY', credit: 'association:bank:CNY', amount: 1 } }).expect(400);
    expect(bad.body.error.fields).to.have.property('adjustment.debit');
    await h().api().post(`/api/reconciliation/exceptions/${e.id}/resolve`).set('Authorization', `Bearer ${token}`).send({ note: '<script>alert(1)</script>' }).expect(400);
    expect(await h().db('approvals').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
  });

  it('when finance starts a run, then it answers 202 at once and the run shows its progress and result', async () => {
    await paidGift(campaign.slug, 10_000);
    await sandboxPayout();
    const token = await financeToken();
    const started = await h().api().post('/api/reconciliation/run').set('Authorization', `Bearer ${token}`).send({ days: 7 }).expect(202);
    let run: Record<string, any> = {};
    for (let i = 0; i < 200 && run.state !== 'completed'; i++) {
      run = (await h().api().get(`/api/reconciliation/runs/${started.body.run_id}`).set('Authorization', `Bearer ${token}`).expect(200)).body;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(run).to.deep.include({ state: 'completed', progress: { done: 1, total: 1 } });
    expect(run.result.payouts[0].outcome).to.equal('already_reconciled');
  });

  it('when a street officer or a sponsor asks, then payouts, exceptions, runs and sandbox payouts are refused', async () => {
    for (const role of ['street_officer', 'sponsor', 'reviewer'] as const) {
      const token = await tokenFor(role);
      await h().api().get('/api/reconciliation/payouts').set('Authorization', `Bearer ${token}`).expect(403);
      await h().api().get('/api/reconciliation/exceptions').set('Authorization', `Bearer ${token}`).expect(403);
      await h().api().post('/api/reconciliation/run').set('Authorization', `Bearer ${token}`).send({}).expect(403);
      await h().api().post('/api/sandbox/payouts').set('Authorization', `Bearer ${token}`).send({}).expect(403);
    }
    const auditor = await tokenFor('auditor');
    await h().api().get('/api/reconciliation/payouts').set('Authorization', `Bearer ${auditor}`).expect(200);
    await h().api().post('/api/sandbox/payouts').set('Authorization', `Bearer ${auditor}`).send({}).expect(403);
  });

  it('when there is nothing to pay out or an unknown discrepancy is asked for, then the sandbox refuses', async () => {
    const token = await financeToken();
    const none = await h().api().post('/api/sandbox/payouts').set('Authorization', `Bearer ${token}`).send({}).expect(409);
    expect(none.body.error.code).to.equal('nothing_to_pay_out');
    await h().api().post('/api/sandbox/payouts').set('Authorization', `Bearer ${token}`).send({ inject: ['free_money'] }).expect(400);
  });
});
