import { expect } from 'chai';
import { resetDb } from '../helpers/db.js';
import { fakeCampaign, fakeStreet } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { balances, expectSettledLedgerHealthy, snapshotLedger } from '../helpers/ledger.js';
import { fakeGrant } from '../helpers/matching.js';
import { financeToken, paidGift, sandboxPayout } from '../helpers/reconciliation.js';

const DAY = 86_400_000;

/**
 * The whole money loop on one street: a resident gives ¥100 to a campaign matched 1:1 by an
 * enterprise; the sandbox pays out; reconciliation books the payout; the donation is released
 * into the street's pool less the fund's 5 % fee; the sponsor pays its pledge; after the
 * campaign's ten days of public notice the match follows; the fund statement adds up.
 */
describe('story: donate → match → payout → reconcile → release → pool', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when one matched ¥100 gift goes all the way round, then the ledger reads as this table and the statement adds up', async () => {
    const street = await fakeStreet();
    const c = await fakeCampaign({ streetId: street.streetId, endsAt: new Date(Date.now() + DAY) });
    const g = await fakeGrant({ campaigns: [c.slug], budget: 50_000, rules: { pool_shards: 1 } });
    const start = new Date(Date.now() - 1000);
    await paidGift(c.slug, 10_000);
    const payout = await sandboxPayout();
    expect(payout).to.include({ reconciliation: 'reconciled', amount_minor: 9_940 });
    await h().c.releases.releaseDue();
    const token = await financeToken();
    await h().api().post(`/api/grants/${g.id}/invoices`).set('Authorization', `Bearer ${token}`).send({ number: 'INV-LOOP-1', amount: 10_000, issued_on: '2026-11-30' }).expect(201);
    await h().api().post(`/api/grants/${g.id}/receipts`).set('Authorization', `Bearer ${token}`).send({ amount: 10_000, reference: 'BANK-LOOP-1', received_on: '2026-11-30', invoice: 'INV-LOOP-1' }).expect(201);
    await h().c.releases.releaseDue(new Date(Date.now() + 12 * DAY));

    const names = {
      [`campaign:${c.id}:donations:CNY`]: 'campaign:donations', [`campaign:${c.id}:match:CNY`]: 'campaign:match',
      [`grant:${g.id}:budget:CNY`]: 'grant:budget', [`grant:${g.id}:pool:main:0:CNY`]: 'grant:pool', [`grant:${g.id}:reserved:CNY`]: 'grant:reserved',
      [`sponsor:${g.sponsor_id}:pledges:CNY`]: 'sponsor:pledges', [`fund:${street.fundId}:pool:donations:CNY`]: 'pool:donations',
      [`fund:${street.fundId}:pool:match_enterprise:CNY`]: 'pool:match_enterprise',
    };
    expect(await snapshotLedger(names)).to.equal([
      '| kind | account | debit | credit | balance after |',
      '|---|---|---|---|---|',
      '| grant_funded | sponsor:pledges | 50000 |  | 50000 |',
      '| grant_funded | grant:budget |  | 50000 | 50000 |',
      '| pool_opened | grant:budget | 50000 |  | 0 |',
      '| pool_opened | grant:pool |  | 50000 | 50000 |',
      '| match_reserve | grant:pool | 10000 |  | 40000 |',
      '| match_reserve | grant:reserved |  | 10000 | (derived) |',
      '| donation | processor:sandbox:clearing:CNY | 10000 |  | (derived) |',
      '| donation | campaign:donations |  | 10000 | 10000 |',
      '| match_commit | grant:reserved | 10000 |  | (derived) |',
      '| match_commit | campaign:match |  | 10000 | 10000 |',
      '| processor_fee | association:expense:processor_fees:CNY | 60 |  | (derived) |',
      '| processor_fee | processor:sandbox:clearing:CNY |  | 60 | (derived) |',
      '| payout | association:bank:CNY | 9940 |  | 9940 |',
      '| payout | processor:sandbox:clearing:CNY |  | 9940 | (derived) |',
      '| pool_release | campaign:donations | 10000 |  | 0 |',
      '| pool_release | pool:donations |  | 9500 | 9500 |',
      '| pool_release | association:revenue:management_fees:CNY |  | 500 | (derived) |',
      '| sponsor_receipt | association:bank:CNY | 10000 |  | 19940 |',
      '| sponsor_receipt | sponsor:pledges |  | 10000 | 40000 |',
      '| pool_release | campaign:match | 10000 |  | 0 |',
      '| pool_release | pool:match_enterprise |  | 9500 | 9500 |',
      '| pool_release | association:revenue:management_fees:CNY |  | 500 | (derived) |',
    ].join('\n'));

    const pools = (await h().api().get('/api/pools').expect(200)).body;
    expect(pools.find((p: { street_id: number }) => p.street_id === street.streetId)).to.deep.include({ available: 19_000, by_source: { donations: 9_500, matching: 9_500, government: 0 }, pending: 0 });
    expect((await balances())['processor:sandbox:clearing:CNY']).to.equal(0);

    const statement = (await h().api().get(`/api/funds/${street.fundId}/statement?from=${start.toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`).set('Authorization', `Bearer ${token}`).expect(200)).body;
    expect(statement).to.deep.include({ opening_balance: 0, closing_balance: 19_000 });
    expect(statement.income).to.deep.include({ donations: 10_000, matching: 10_000, government: 0, total: 20_000 });
    expect(statement.income.matching_by_sponsor).to.deep.equal({ enterprise: 10_000 });
    expect(statement.expenses).to.deep.include({ management_fees: 1_000, total: 1_000 });
    expect(statement.opening_balance + statement.income.total - statement.expenses.total).to.equal(statement.closing_balance);
    const csv = await h().api().get(`/api/funds/${street.fundId}/statement?from=${start.toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&format=csv`).set('Authorization', `Bearer ${token}`).expect(200);
    expect(csv.headers['content-type']).to.match(/text\/csv/);
    expect(csv.text).to.include('closing_balance,19000,190.00');
  });
});
