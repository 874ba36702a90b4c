import { expect } from 'chai';
import { resetDb, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign, fakeStreet, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { balances, expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { approvedRefund, fakeGrant } from '../../helpers/matching.js';
import { financeToken, paidGift, sandboxPayout } from '../../helpers/reconciliation.js';

const DAY = 86_400_000;
const later = (days: number) => new Date(Date.now() + days * DAY);

describe('release to the purchase-of-services pools', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when a gift is reconciled, then its net less the fund’s 5 % fee moves into the street’s pool; an unreconciled gift waits', async () => {
    const street = await fakeStreet();
    const c = await fakeCampaign({ streetId: street.streetId });
    const cleared = await paidGift(c.slug, 10_000);
    await sandboxPayout();
    const waiting = await paidGift(c.slug, 4_000);
    const out = await h().c.releases.releaseDue();
    expect(out).to.include({ donations: 1, released_minor: 10_000, fees_minor: 500 });
    const b = await balances();
    expect(b[`fund:${street.fundId}:pool:donations:CNY`]).to.equal(9_500);
    expect(b['association:revenue:management_fees:CNY']).to.equal(500);
    expect(b[`campaign:${c.id}:donations:CNY`]).to.equal(4_000);
    expect(await h().db('donations').whereIn('id', [cleared.id, waiting.id]).orderBy('amount_minor').pluck('released_minor')).to.deep.equal([0, 10_000]);
    expect(await h().c.releases.releaseDue()).to.include({ donations: 0, released_minor: 0 });
    const pool = (await h().api().get(`/api/pools/${street.streetId}`).expect(200)).body;
    expect(pool).to.deep.include({ street_id: street.streetId, available: 9_500, by_source: { donations: 9_500, matching: 0, government: 0 }, pending: 4_000 });
  });

  it('when a cleared gift’s payout item raised an exception, then it waits, and moves into the pool once the exception is resolved', async () => {
    const street = await fakeStreet();
    const c = await fakeCampaign({ streetId: street.streetId });
    await paidGift(c.slug, 10_000);
    await sandboxPayout(['fee_mismatch']);
    expect(await h().c.releases.releaseDue()).to.include({ donations: 0 });
    const e = await h().db('reconciliation_exceptions').first('id');
    const [asker, approver] = [await financeToken(), await financeToken()];
    const asked = await h().api().post(`/api/reconciliation/exceptions/${e.id}/resolve`).set('Authorization', `Bearer ${asker}`).send({ note: '手续费差 1 分，经核对以账上为准' }).expect(202);
    await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${approver}`).send({}).expect(200);
    expect(await h().c.releases.releaseDue()).to.include({ donations: 1, released_minor: 10_000 });
    expect((await balances())[`fund:${street.fundId}:pool:donations:CNY`]).to.equal(9_500);
  });

  it('when a released gift is refunded later, then the refund comes out of the pool, not the campaign', async () => {
    const street = await fakeStreet();
    const c = await fakeCampaign({ streetId: street.streetId });
    const g = await paidGift(c.slug, 10_000);
    await sandboxPayout();
    await h().c.releases.releaseDue();
    await approvedRefund(g.id, { amount: 2_000 });
    await waitForIdleQueues();
    const b = await balances();
    expect(b[`fund:${street.fundId}:pool:donations:CNY`]).to.equal(7_500);
    expect(b[`campaign:${c.id}:donations:CNY`]).to.equal(0);
  });

  it('when a grant matched gifts, then its match waits for the notice period and the sponsor’s money, and then moves oldest first (M-14)', async () => {
    const street = await fakeStreet();
    const c = await fakeCampaign({ streetId: street.streetId, endsAt: later(1) });
    const grant = await fakeGrant({ campaigns: [c.slug], budget: 100_000 });
    await paidGift(c.slug, 10_000);
    await paidGift(c.slug, 20_000);
    await sandboxPayout();
    await h().c.releases.releaseDue();
    expect((await balances())[`campaign:${c.id}:match:CNY`]).to.equal(30_000);

    const token = await financeToken();
    await h().api().post(`/api/grants/${grant.id}/receipts`).set('Authorization', `Bearer ${token}`).send({ amount: 15_000, reference: 'BANK-0001', received_on: '2026-11-20' }).expect(201);
    expect(await h().c.releases.releaseDue(later(5))).to.include({ matches: 0 });
    const due = await h().c.releases.releaseDue(later(12));
    expect(due).to.include({ matches: 1, released_minor: 10_000, fees_minor: 500 });
    const b = await balances();
    expect(b[`fund:${street.fundId}:pool:match_enterprise:CNY`]).to.equal(9_500);
    expect(b[`campaign:${c.id}:match:CNY`]).to.equal(20_000);
    await h().api().post(`/api/grants/${grant.id}/receipts`).set('Authorization', `Bearer ${token}`).send({ amount: 15_000, reference: 'BANK-0002', received_on: '2026-11-25' }).expect(201);
    expect(await h().c.releases.releaseDue(later(12))).to.include({ matches: 1, released_minor: 20_000 });
    const pledge = (await h().api().get(`/api/grants/${grant.id}/pledge`).set('Authorization', `Bearer ${token}`).expect(200)).body;
    expect(pledge).to.include({ pledged: 100_000, received: 30_000, released_to_pools: 30_000, outstanding: 70_000 });
    const pool = (await h().api().get(`/api/pools/${street.streetId}`).expect(200)).body;
    expect(pool.by_source).to.deep.equal({ donations: 28_500, matching: 28_500, government: 0 });
    expect(pool.matching_by_sponsor).to.deep.equal({ enterprise: 28_500, foundation: 0, government: 0, platform: 0 });
  });

  it('when finance allocates government money with a reference, then it enters the pool as its own source; the same reference again changes nothing', async () => {
    const street = await fakeStreet();
    const token = await financeToken();
    const body = { amount: 5_000_000, reference: 'CZ-2026-001', memo: '政府购买服务资金', received_on: '2026-11-01' };
    await h().api().post(`/api/pools/${street.streetId}/government`).set('Authorization', `Bearer ${token}`).send(body).expect(201);
    await h().api().post(`/api/pools/${street.streetId}/government`).set('Authorization', `Bearer ${token}`).send(body).expect(200);
    const clash = await h().api().post(`/api/pools/${street.streetId}/government`).set('Authorization', `Bearer ${token}`).send({ ...body, amount: 1 }).expect(409);
    expect(clash.body.error.code).to.equal('reference_taken');
    const b = await balances();
    expect(b[`fund:${street.fundId}:pool:government:CNY`]).to.equal(5_000_000);
    expect(b['association:bank:CNY']).to.equal(5_000_000);
    const officer = await tokenFor('street_officer', street.streetId);
    await h().api().post(`/api/pools/${street.streetId}/government`).set('Authorization', `Bearer ${officer}`).send({ ...body, reference: 'CZ-2' }).expect(403);
    await h().api().post(`/api/pools/${street.streetId}/government`).set('Authorization', `Bearer ${token}`).send({ ...body, reference: 'CZ-3', amount: 0 }).expect(400);
    const inflow = (await h().api().get(`/api/pools/${street.streetId}/inflow?days=30`).expect(200)).body;
    expect(inflow.map((d: { government: number }) => d.government)).to.deep.equal([5_000_000]);
  });

  it('when a bank statement is imported, then lines naming an invoice become receipts, others come back unmatched, and a second import adds nothing', async () => {
    const c = await fakeCampaign();
    const grant = await fakeGrant({ campaigns: [c.slug], budget: 200_000 });
    const token = await financeToken();
    await h().api().post(`/api/grants/${grant.id}/invoices`).set('Authorization', `Bearer ${token}`).send({ number: 'INV-7', amount: 200_000, issued_on: '2026-11-01' }).expect(201);
    const csv = 'date,amount,reference,payer\n2026-11-20,"1,500.00",配捐款 INV-7 首期,某企业\n2026-11-21,88.00,利息,银行\n2026-11-22,-20.00,手续费 INV-7,银行\n';
    const first = (await h().api().post('/api/pledges/bank-statement').set('Authorization', `Bearer ${token}`).set('Content-Type', 'text/csv').send(csv).expect(200)).body;
    expect([first.matched.length, first.unmatched.length, first.duplicates.length]).to.deep.equal([1, 2, 0]);
    const again = (await h().api().post('/api/pledges/bank-statement').set('Authorization', `Bearer ${token}`).set('Content-Type', 'text/csv').send(csv).expect(200)).body;
    expect([again.matched.length, again.duplicates.length]).to.deep.equal([0, 1]);
    expect((await balances())['association:bank:CNY']).to.equal(150_000);
    const bad = await h().api().post('/api/pledges/bank-statement').set('Authorization', `Bearer ${token}`).set('Content-Type', 'text/csv').send('when,how much\n1,2\n').expect(400);
    expect(bad.body.error.fields).to.have.property('csv');
    const auditor = await tokenFor('auditor');
    await h().api().post('/api/pledges/bank-statement').set('Authorization', `Bearer ${auditor}`).set('Content-Type', 'text/csv').send(csv).expect(403);
  });

  it('when a receipt exceeds what the sponsor still owes, then it is refused and nothing moves', async () => {
    const c = await fakeCampaign();
    const grant = await fakeGrant({ campaigns: [c.slug], budget: 10_000 });
    const token = await financeToken();
    const res = await h().api().post(`/api/grants/${grant.id}/receipts`).set('Authorization', `Bearer ${token}`).send({ amount: 10_001, reference: 'TOO-MUCH', received_on: '2026-11-20' }).expect(409);
    expect(res.body.error.code).to.equal('insufficient_funds');
    expect(await h().db('sponsor_receipts').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
  });

  it('when the OpenAPI document is read, then it publishes the pools, pledges, funds, periods and reconciliation paths', async () => {
    const doc = (await h().api().get('/api/openapi.json').expect(200)).body;
    for (const p of ['/api/pools', '/api/pools/{street}/government', '/api/grants/{id}/receipts', '/api/pledges/bank-statement', '/api/funds/{id}/statement', '/api/ledger/periods',
      '/api/reconciliation/payouts', '/api/reconciliation/exceptions', '/api/reconciliation/run', '/api/sandbox/payouts']) expect(doc.paths, p).to.have.property(p);
    expect(doc.components.schemas.Pool.properties.by_source.required).to.deep.equal(['donations', 'matching', 'government']);
  });
});
