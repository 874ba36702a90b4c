import { expect } from 'chai';
import { resetDb, waitFor, waitForIdleQueues } from '../helpers/db.js';
import { fakeCampaign, tokenFor } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { balances, expectSettledLedgerHealthy, snapshotLedger } from '../helpers/ledger.js';
import { approvedRefund, fakeGrant, give, grantJson, pay } from '../helpers/matching.js';
import { chargeRefunded, event, refundId, sendEvent } from '../helpers/stripe.js';

/** Snapshots name accounts by role, not by database id. */
async function names(campaignId: number, grantId: number, sponsorId: number) {
  const shards = await h().db('grant_pool_shards as s').join('ledger_accounts as a', 'a.id', 's.account_id').where('s.grant_id', grantId).orderBy('s.shard').select('a.code');
  return {
    [`campaign:${campaignId}:donations:CNY`]: 'campaign:donations',
    [`campaign:${campaignId}:match:CNY`]: 'campaign:match',
    [`grant:${grantId}:budget:CNY`]: 'grant:budget',
    [`grant:${grantId}:reserved:CNY`]: 'grant:reserved',
    [`sponsor:${sponsorId}:pledges:CNY`]: 'sponsor:pledges',
    [`sponsor:${sponsorId}:returns:CNY`]: 'sponsor:returns',
    ...Object.fromEntries(shards.map((s, i) => [s.code, `grant:pool:${i}`])),
  };
}

describe('story: a matched gift refunded, disputed, and refunded after the grant closed', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when a ¥100 gift matched 1:1 is refunded ¥30 then in full, then 30 % and then the rest of its match go back to the pool', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 50_000, rules: { pool_shards: 1 } });
    const d = await give(c.slug, 10_000);
    await pay(d.id);
    await approvedRefund(d.id, { amount: 3000 });
    await waitFor(async () => (await h().api().get(`/api/donations/${d.id}`)).body.matched === 7000, 'match clawed back 30 %');
    await approvedRefund(d.id);
    await waitFor(async () => (await h().api().get(`/api/donations/${d.id}`)).body.matched === 0, 'match clawed back in full');
    await waitForIdleQueues();

    expect(await snapshotLedger(await names(c.id, g.id, g.sponsor_id))).to.equal(
      [
        '| kind | account | debit | credit | balance after |',
        '|---|---|---|---|---|',
        '| grant_funded | sponsor:pledges | 50000 |  | 50000 |',
        '| grant_funded | grant:budget |  | 50000 | 50000 |',
        '| pool_opened | grant:budget | 50000 |  | 0 |',
        '| pool_opened | grant:pool:0 |  | 50000 | 50000 |',
        '| match_reserve | grant:pool:0 | 10000 |  | 40000 |',
        '| match_reserve | grant:reserved |  | 10000 | (derived) |',
        '| donation | processor:sandbox:clearing:CNY | 10000 |  | (derived) |',
        '| donation | campaign:donations |  | 10000 | 10000 |',
        '| match_commit | grant:reserved | 10000 |  | (derived) |',
        '| match_commit | campaign:match |  | 10000 | 10000 |',
        '| processor_fee | association:expense:processor_fees:CNY | 60 |  | (derived) |',
        '| processor_fee | processor:sandbox:clearing:CNY |  | 60 | (derived) |',
        '| refund | campaign:donations | 3000 |  | 7000 |',
        '| refund | processor:sandbox:clearing:CNY |  | 3000 | (derived) |',
        '| match_clawback | campaign:match | 3000 |  | 7000 |',
        '| match_clawback | grant:pool:0 |  | 3000 | 43000 |',
        '| refund | campaign:donations | 7000 |  | 0 |',
        '| refund | processor:sandbox:clearing:CNY |  | 7000 | (derived) |',
        '| match_clawback | campaign:match | 7000 |  | 0 |',
        '| match_clawback | grant:pool:0 |  | 7000 | 50000 |',
      ].join('\n'),
    );
    expect(await grantJson(g.id)).to.include({ committed: 0, reserved: 0, remaining: 50_000 });
  });

  it('when a matched gift is disputed, then the disputed share of its match is clawed back and raised drops', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 50_000, rules: { ratio_percent: 50 } });
    const d = await give(c.slug, 10_000);
    await pay(d.id);
    const { payment_ref } = await h().db('donations').where({ id: d.id }).first('payment_ref');
    const dispute = event('charge.dispute.created', { id: 'dp_test_1', object: 'dispute', amount: 4000, currency: 'cny', charge: 'ch_x', payment_intent: payment_ref, status: 'needs_response' });
    await sendEvent(dispute).expect(200);
    await sendEvent(dispute).expect(200);
    await waitForIdleQueues();
    const got = (await h().api().get(`/api/donations/${d.id}`)).body;
    expect(got).to.include({ disputed: 4000, matched: 3000 });
    expect(await grantJson(g.id)).to.include({ committed: 3000, remaining: 47_000 });
    const journals = await h().db('ledger_journals').where({ donation_id: d.id }).orWhereIn('id', h().db('match_allocations').where({ donation_id: d.id }).select('reserve_journal_id')).orderBy('id').pluck('kind');
    expect(journals).to.deep.equal(['match_reserve', 'donation', 'match_commit', 'processor_fee', 'dispute', 'match_clawback']);
    await waitFor(async () => (await h().api().get(`/api/campaigns/${c.slug}`)).body.raised === 6000, 'raised net of the dispute');
  });

  it('when a grant has closed, then a refund claws the match back to the sponsor, not the pool', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 20_000 });
    const d = await give(c.slug, 5000);
    await pay(d.id);
    const admin = await tokenFor('association_admin');
    await h().api().post(`/api/grants/${g.id}/close`).set('Authorization', `Bearer ${admin}`).expect(200);
    expect((await balances())[`sponsor:${g.sponsor_id}:returns:CNY`]).to.equal(15_000);
    const { payment_ref, charge } = { payment_ref: (await h().db('donations').where({ id: d.id }).first()).payment_ref, charge: 'ch_closed' };
    await sendEvent(chargeRefunded({ id: d.id, amount: 5000, payment_ref, charge_id: charge }, [{ id: refundId(), amount: 5000 }])).expect(200);
    await waitForIdleQueues();
    const b = await balances();
    expect(b[`sponsor:${g.sponsor_id}:returns:CNY`]).to.equal(20_000);
    expect(b[`campaign:${c.id}:match:CNY`]).to.equal(0);
    expect(await grantJson(g.id)).to.include({ status: 'closed', committed: 0, remaining: 0 });
  });
});
