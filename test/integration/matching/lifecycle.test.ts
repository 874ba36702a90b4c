import { expect } from 'chai';
import { resetDb, waitFor, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { allocationsOf, fakeGrant, give, grantJson, pay } from '../../helpers/matching.js';

const donation = async (id: string) => (await h().api().get(`/api/donations/${id}`).expect(200)).body;

describe('matching: the allocation lifecycle', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when a donation is created, then its match is reserved and shown; on success it is committed', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 100_000 });
    const d = await give(c.slug, 5000);
    expect(d.match).to.deep.equal({ reserved: 5000, committed: 0 });
    expect(await grantJson(g.id)).to.include({ budget: 100_000, reserved: 5000, committed: 0, remaining: 95_000 });

    await pay(d.id);
    expect(await donation(d.id)).to.include({ status: 'succeeded', matched: 5000 });
    const after = await grantJson(g.id);
    expect(after).to.include({ reserved: 0, committed: 5000, remaining: 95_000 });
    expect(after.by_campaign).to.deep.equal([{ slug: c.slug, title: c.title, committed: 5000, reserved: 0, donations: 1 }]);
    await waitFor(async () => (await h().api().get(`/api/campaigns/${c.slug}`)).body.matched === 5000, 'campaign matched total');
    const [a] = await allocationsOf(d.id);
    expect(a).to.include({ status: 'committed', rule_version: 1, desired_minor: 5000, committed_minor: 5000 });
  });

  it('when the payment fails, then the reservation goes back to the pool', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 100_000 });
    const d = await give(c.slug, 2000);
    await h().c.sandbox!.complete(d.id, 'fail');
    await waitFor(async () => (await donation(d.id)).status === 'failed', 'failed');
    await waitForIdleQueues();
    expect(await grantJson(g.id)).to.include({ reserved: 0, committed: 0, remaining: 100_000 });
    const [a] = await allocationsOf(d.id);
    expect(a).to.include({ status: 'released', reason: 'payment_failed' });
  });

  it('when a reservation outlives its TTL, then the expiry job or the sweeper releases it, but never a paid one', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 100_000 });
    const [stale, swept, paid] = [await give(c.slug, 3000), await give(c.slug, 1000), await give(c.slug, 2000)];
    await pay(paid.id);
    await h().db('match_allocations').whereIn('donation_id', [stale.id, swept.id, paid.id]).update({ expires_at: new Date(Date.now() - 1000) });
    expect(await h().c.matching.expireDonation(stale.id)).to.equal('released');
    expect(await h().c.matching.expireDonation(paid.id)).to.equal('paid');
    expect(await h().c.matching.expireDue()).to.equal(1);
    expect(await grantJson(g.id)).to.include({ reserved: 0, committed: 2000, remaining: 98_000 });
    expect((await allocationsOf(swept.id))[0]).to.include({ status: 'released', reason: 'expired' });

    const unexpired = await give(c.slug, 500);
    expect(await h().c.matching.expireDonation(unexpired.id)).to.equal('nothing');
    expect((await allocationsOf(unexpired.id))[0].status).to.equal('reserved');
  });

  it('when the pool runs dry, then the last gift gets the remainder, then gifts flow unmatched and the page says so', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 7000 });
    const first = await give(c.slug, 5000);
    const second = await give(c.slug, 5000);
    const third = await give(c.slug, 5000);
    expect([first.match.reserved, second.match.reserved, third.match.reserved]).to.deep.equal([5000, 2000, 0]);
    expect((await allocationsOf(second.id))[0]).to.include({ desired_minor: 5000, reserved_minor: 2000, reason: 'partial' });
    expect((await allocationsOf(third.id))[0]).to.include({ status: 'zero', reason: 'pool_exhausted' });
    expect(third.status).to.equal('pending');
    const page = await h().api().get(`/campaigns/${c.slug}`).expect(200);
    expect(page.text).to.include('配捐额度已用完');
    const api = await h().api().get(`/api/campaigns/${c.slug}`).expect(200);
    expect(api.body.match).to.deep.include({ state: 'used_up', remaining: 0 });
    expect(await grantJson(g.id)).to.include({ remaining: 0, reserved: 7000 });
  });

  it('when partial_last_match is false, then a gift the pool cannot cover in full gets nothing', async () => {
    const c = await fakeCampaign();
    await fakeGrant({ campaigns: [c.slug], budget: 1500, rules: { partial_last_match: false } });
    const [a, b] = [await give(c.slug, 1000), await give(c.slug, 1000)];
    expect([a.match.reserved, b.match.reserved]).to.deep.equal([1000, 0]);
    expect((await allocationsOf(b.id))[0].reason).to.equal('pool_exhausted');
  });

  it('when an outcome was recorded (zero included), then a retried event gets the same answer even after a top-up', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 1000 });
    const first = await give(c.slug, 1000);
    const second = await give(c.slug, 1000);
    expect(second.match.reserved).to.equal(0);
    const admin = await tokenFor('association_admin');
    await h().api().post(`/api/grants/${g.id}/top-up`).set('Authorization', `Bearer ${admin}`).set('Idempotency-Key', 'top-1').send({ amount: 50_000 }).expect(200);
    await pay(second.id);
    await h().c.sandbox!.complete(second.id, 'succeed');
    await waitForIdleQueues();
    expect(await donation(second.id)).to.include({ matched: 0 });
    expect(await allocationsOf(second.id)).to.have.length(1);
    expect((await allocationsOf(second.id))[0]).to.include({ status: 'zero', reason: 'pool_exhausted' });
    const replay = await h().api().post(`/api/campaigns/${c.slug}/donations`).set('Idempotency-Key', 'again').send({ amount: 1000, currency: 'CNY' }).expect(201);
    expect(replay.body.match.reserved, 'a new gift after the top-up is matched').to.equal(1000);
    await pay(first.id);
    expect(await grantJson(g.id)).to.include({ budget: 51_000, committed: 1000, reserved: 1000, remaining: 49_000 });
  });

  it('when a grant is a draft, closed, out of window or out of scope, then it matches nothing', async () => {
    const c = await fakeCampaign();
    const other = await fakeCampaign();
    await fakeGrant({ campaigns: [c.slug], activate: false });
    await fakeGrant({ campaigns: [other.slug] });
    await fakeGrant({ campaigns: [c.slug], startsAt: new Date(Date.now() + 86_400_000), endsAt: new Date(Date.now() + 2 * 86_400_000) });
    const d = await give(c.slug, 5000);
    expect(d.match.reserved).to.equal(0);
    const rows = await allocationsOf(d.id);
    expect(rows.map((r) => r.reason)).to.deep.equal(['grant_inactive']);
  });

  it('when the donate page is opened, then it says what the default gift would be matched', async () => {
    const c = await fakeCampaign();
    await fakeGrant({ campaigns: [c.slug], rules: { ratio_percent: 100 } });
    const page = await h().api().get(`/campaigns/${c.slug}/donate`).expect(200);
    expect(page.text).to.include('您的 ¥50.00 将获得配捐 ¥50.00');
    const preview = await h().api().get(`/api/campaigns/${c.slug}/match-preview?amount=8800`).expect(200);
    expect(preview.body).to.include({ amount: 8800, match: 8800 });
    const en = await h().api().get(`/campaigns/${c.slug}/donate?lang=en`).expect(200);
    expect(en.text).to.include('Your ¥50.00 will be matched ¥50.00');
  });
});
