import { expect } from 'chai';
import { resetDb } from '../../helpers/db.js';
import { fakeCampaign, fakeStreet, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { allocationsOf, fakeGrant, give, grantJson, pay } from '../../helpers/matching.js';

/** HH:MM in China Standard Time, `hoursFromNow` ahead. */
const cstClock = (hoursFromNow: number) => new Date(Date.now() + 8 * 3_600_000 + hoursFromNow * 3_600_000).toISOString().slice(11, 16);

describe('matching: each rule through the real pipeline', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when min_donation and cap_per_donation are set, then small gifts get nothing and big ones are capped', async () => {
    const c = await fakeCampaign();
    await fakeGrant({ campaigns: [c.slug], rules: { min_donation: 1000, cap_per_donation: 2000 } });
    expect((await give(c.slug, 999)).match.reserved).to.equal(0);
    expect((await give(c.slug, 1000)).match.reserved).to.equal(1000);
    expect((await give(c.slug, 50_000)).match.reserved).to.equal(2000);
  });

  it('when a donor gives to two grants in one day, then cap_per_donor_per_day counts across both (M-5)', async () => {
    const c = await fakeCampaign();
    const a = await fakeGrant({ campaigns: [c.slug], priority: 10, rules: { cap_per_donor_per_day: 3000 } });
    const b = await fakeGrant({ campaigns: [c.slug], priority: 0, rules: { cap_per_donor_per_day: 5000 } });
    const first = await give(c.slug, 2000, { email: 'donor@example.com' });
    expect(first.match.reserved, 'both grants match the first gift').to.equal(4000);
    const second = await give(c.slug, 2000, { email: 'Donor@Example.com ' });
    const [ra, rb] = await allocationsOf(second.id);
    expect(ra).to.include({ grant_id: a.id, reserved_minor: 0, reason: 'cap_per_donor_per_day' });
    expect(rb).to.include({ grant_id: b.id, reserved_minor: 1000, reason: 'partial' });
    expect((await give(c.slug, 2000, { email: 'other@example.com' })).match.reserved, 'another donor is unaffected').to.equal(4000);
    expect((await give(c.slug, 2000, { phone: '+86 138 0000 0000' })).match.reserved).to.equal(4000);
    expect((await give(c.slug, 2000, { phone: '13800000000' })).match.reserved, 'the same phone written differently is the same donor').to.equal(1000);
  });

  it('when cap_per_campaign is set, then one campaign cannot take more than it from the grant', async () => {
    const [c1, c2] = [await fakeCampaign(), await fakeCampaign()];
    await fakeGrant({ campaigns: [c1.slug, c2.slug], rules: { cap_per_campaign: 3000 } });
    expect([(await give(c1.slug, 2000)).match.reserved, (await give(c1.slug, 2000)).match.reserved, (await give(c1.slug, 2000)).match.reserved]).to.deep.equal([2000, 1000, 0]);
    expect((await give(c2.slug, 2000)).match.reserved).to.equal(2000);
  });

  it("when cap_per_organisation is set, then an organisation's campaigns share it (M-6)", async () => {
    const [org] = await h().db('organisations').insert({ name: '九龙社工中心' }).returning('id');
    const admin = await tokenFor('association_admin');
    const street = await fakeStreet();
    const mk = async (slug: string) =>
      (await h().api().post('/api/campaigns').set('Authorization', `Bearer ${admin}`).send({ slug, title: '组织项目', goal: 100_000, street: street.streetId, ends_at: new Date(Date.now() + 864e5).toISOString(), status: 'live', organisation: org.id }).expect(201)).body;
    const [x, y] = [await mk('org-one'), await mk('org-two')];
    await fakeGrant({ campaigns: [x.slug, y.slug], rules: { cap_per_organisation: 3000 } });
    expect([(await give(x.slug, 2000)).match.reserved, (await give(y.slug, 2000)).match.reserved, (await give(y.slug, 2000)).match.reserved]).to.deep.equal([2000, 1000, 0]);
  });

  it('when tiers are set, then the ratio follows the gift size', async () => {
    const c = await fakeCampaign();
    await fakeGrant({ campaigns: [c.slug], rules: { ratio_percent: 10, tiers: [{ min_amount: 5000, ratio_percent: 50 }, { min_amount: 20_000, ratio_percent: 100 }] } });
    expect([(await give(c.slug, 1000)).match.reserved, (await give(c.slug, 10_000)).match.reserved, (await give(c.slug, 20_000)).match.reserved]).to.deep.equal([100, 5000, 20_000]);
  });

  it('when matching is random (M-4), then each allocation records its seed and draw and replays to the same match', async () => {
    const c = await fakeCampaign();
    await fakeGrant({ campaigns: [c.slug], rules: { random: { min_percent: 10, max_percent: 200, probability_percent: 50 } } });
    const finance = await tokenFor('association_finance');
    const results = [];
    for (let i = 0; i < 12; i++) {
      const d = await give(c.slug, 10_000);
      const [a] = await allocationsOf(d.id);
      expect(a.draw.seed).to.match(/^[0-9a-f]{32}$/);
      if (a.reserved_minor > 0) expect(a.reserved_minor).to.be.within(1000, 20_000);
      else expect(a.reason).to.equal('random_not_drawn');
      const replay = (await h().api().get(`/api/match-allocations/${a.id}/replay`).set('Authorization', `Bearer ${finance}`).expect(200)).body;
      expect(replay).to.include({ matches: true, recorded: a.desired_minor, replayed: a.desired_minor });
      results.push(a.reserved_minor);
    }
    expect(new Set(results).size, 'the draws differ').to.be.greaterThan(1);
  });

  it('when daily slots are set (M-2), then the open slot has its own budget and the page names the next opening', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 100_000, rules: { daily_slots: [{ opens: '00:00', budget: 3000 }] } });
    expect(await grantJson(g.id)).to.include({ remaining: 100_000 });
    expect([(await give(c.slug, 2000)).match.reserved, (await give(c.slug, 2000)).match.reserved, (await give(c.slug, 2000)).match.reserved]).to.deep.equal([2000, 1000, 0]);
    expect((await grantJson(g.id)).remaining, 'the slot drew only its budget from the grant').to.equal(97_000);

    const later = await fakeCampaign();
    const opens = cstClock(2);
    const closes = cstClock(3) > opens ? cstClock(3) : undefined;
    await fakeGrant({ campaigns: [later.slug], rules: { daily_slots: [{ opens, ...(closes ? { closes } : {}), budget: 5000 }] } });
    const d = await give(later.slug, 2000);
    expect((await allocationsOf(d.id))[0].reason).to.equal('outside_slot');
    const state = (await h().api().get(`/api/campaigns/${later.slug}`)).body.match;
    expect(state.state).to.equal('next_slot');
    expect(new Date(Date.parse(state.next_slot_at) + 8 * 3_600_000).toISOString().slice(11, 16)).to.equal(opens);
    expect((await h().api().get(`/campaigns/${later.slug}`)).text).to.include(`下一场配捐 ${opens} 开始`);
  });

  it('when a challenge is set, then matching unlocks after N paid donations', async () => {
    const c = await fakeCampaign();
    await fakeGrant({ campaigns: [c.slug], rules: { challenge: { donors: 2 } } });
    const a = await give(c.slug, 1000);
    await pay(a.id);
    const b = await give(c.slug, 1000);
    await pay(b.id);
    expect([(await allocationsOf(a.id))[0].reason, (await allocationsOf(b.id))[0].reason]).to.deep.equal(['challenge_locked', 'challenge_locked']);
    expect((await give(c.slug, 1000)).match.reserved).to.equal(1000);
  });

  it('when two grants cover a campaign, then they stack in priority order; an exclusive grant stops the ones after it', async () => {
    const c = await fakeCampaign();
    const low = await fakeGrant({ campaigns: [c.slug], priority: 1 });
    const high = await fakeGrant({ campaigns: [c.slug], priority: 5, rules: { ratio_percent: 50 } });
    const d = await give(c.slug, 4000);
    expect(d.match.reserved, 'sequential stacking: 50 % + 100 %').to.equal(6000);
    expect((await allocationsOf(d.id)).map((a) => a.grant_id)).to.deep.equal([high.id, low.id]);

    const other = await fakeCampaign();
    const first = await fakeGrant({ campaigns: [other.slug], priority: 9, rules: { exclusive: true } });
    await fakeGrant({ campaigns: [other.slug], priority: 1 });
    const e = await give(other.slug, 4000);
    expect(e.match.reserved).to.equal(4000);
    const rows = await allocationsOf(e.id);
    expect(rows.map((r) => [r.grant_id === first.id, r.reason])).to.deep.equal([[true, null], [false, 'excluded_by_exclusive_grant']]);
  });
});
