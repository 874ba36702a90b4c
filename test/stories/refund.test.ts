import { expect } from 'chai';
import { resetDb, waitFor, waitForIdleQueues } from '../helpers/db.js';
import { fakeCampaign, tokenFor } from '../helpers/factories.js';
import { browser } from '../helpers/forms.js';
import { h } from '../helpers/harness.js';
import { approvedRefund } from '../helpers/matching.js';
import { balances, expectLedgerHealthy, snapshotLedger } from '../helpers/ledger.js';

/**
 * A resident gives ¥100.00 through the sandbox checkout; finance refunds ¥30.00, then the
 * rest. Every step goes through the real API, the signed webhook and the worker.
 */
describe('story: a donation refunded in two steps', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  it('when a ¥100 gift is refunded ¥30 then in full, then the ledger reads as this table', async () => {
    const campaign = await fakeCampaign({ slug: 'refund-story' });
    const finance = await tokenFor('association_finance');
    const api = h().api;

    const created = await api().post('/api/campaigns/refund-story/donations').set('Idempotency-Key', 'story-1').send({ amount: 10_000, currency: 'CNY' }).expect(201);
    const id = created.body.id;
    expect((await browser().post(`/sandbox/checkout/${id}`, { outcome: 'succeed' }, `/sandbox/checkout/${id}`)).status).to.equal(303);
    await waitFor(async () => (await h().db('donations').where({ id }).first()).fee_minor !== null, 'paid, fee booked');

    const partial = await approvedRefund(id, { amount: 3000 });
    expect(partial.asked).to.include({ amount: 3000, status: 'pending_approval' });
    expect(partial.approval.result).to.include({ amount: 3000, status: 'requested' });
    await waitFor(async () => (await api().get(`/api/donations/${id}`)).body.status === 'partially_refunded', 'partially refunded');

    const rest = await approvedRefund(id);
    expect(rest.asked.amount).to.equal(7000);
    await waitFor(async () => (await api().get(`/api/donations/${id}`)).body.status === 'refunded', 'refunded');
    await waitForIdleQueues();

    const campaignCode = `campaign:${campaign.id}:donations:CNY`;
    expect(await snapshotLedger({ [campaignCode]: 'campaign:refund-story:donations:CNY' })).to.equal(
      [
        '| kind | account | debit | credit | balance after |',
        '|---|---|---|---|---|',
        '| donation | processor:sandbox:clearing:CNY | 10000 |  | (derived) |',
        '| donation | campaign:refund-story:donations:CNY |  | 10000 | 10000 |',
        '| processor_fee | association:expense:processor_fees:CNY | 60 |  | (derived) |',
        '| processor_fee | processor:sandbox:clearing:CNY |  | 60 | (derived) |',
        '| refund | campaign:refund-story:donations:CNY | 3000 |  | 7000 |',
        '| refund | processor:sandbox:clearing:CNY |  | 3000 | (derived) |',
        '| refund | campaign:refund-story:donations:CNY | 7000 |  | 0 |',
        '| refund | processor:sandbox:clearing:CNY |  | 7000 | (derived) |',
      ].join('\n'),
    );
    const b = await balances();
    expect(b[campaignCode]).to.equal(0);
    expect(b['processor:sandbox:clearing:CNY'], 'the processor kept its fee').to.equal(-60);
    expect(b['association:expense:processor_fees:CNY']).to.equal(60);

    await waitFor(async () => (await api().get('/api/campaigns/refund-story')).body.raised === 0, 'totals back to zero');
    expect((await api().get('/api/campaigns/refund-story')).body.donors).to.equal(0);

    const again = await api().post(`/api/donations/${id}/refunds`).set('Authorization', `Bearer ${finance}`).send({ amount: 100 }).expect(409);
    expect(again.body.error.code).to.equal('not_refundable');
  });

  it('when a refund is asked for too much, by the wrong role, or for an unpaid gift, then it is refused and nothing moves', async () => {
    await fakeCampaign({ slug: 'refund-guard' });
    const api = h().api;
    const pending = (await api().post('/api/campaigns/refund-guard/donations').send({ amount: 5000, currency: 'CNY' }).expect(201)).body.id;
    const finance = await tokenFor('association_finance');
    expect((await api().post(`/api/donations/${pending}/refunds`).set('Authorization', `Bearer ${finance}`).send({}).expect(409)).body.error.code).to.equal('not_refundable');

    expect((await browser().post(`/sandbox/checkout/${pending}`, { outcome: 'succeed' }, `/sandbox/checkout/${pending}`)).status).to.equal(303);
    await waitFor(async () => (await api().get(`/api/donations/${pending}`)).body.status === 'succeeded', 'paid');
    expect((await api().post(`/api/donations/${pending}/refunds`).set('Authorization', `Bearer ${finance}`).send({ amount: 5001 }).expect(409)).body.error.code).to.equal('refund_exceeds_payment');
    const officer = await tokenFor('auditor');
    await api().post(`/api/donations/${pending}/refunds`).set('Authorization', `Bearer ${officer}`).send({}).expect(403);
    await api().post(`/api/donations/${pending}/refunds`).send({}).expect(401);
    await waitForIdleQueues();
    expect(await h().db('ledger_journals').where({ kind: 'refund' })).to.deep.equal([]);
  });
});
