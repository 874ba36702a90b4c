import { expect } from 'chai';
import type { CampaignRow } from '../../../server/modules/campaigns/index.js';
import { resetDb, waitFor, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign, fakeStreet, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { allocationsOf, fakeGrant, give, grantJson, pay, type Gift, approvedRefund } from '../../helpers/matching.js';

const DAY = 86_400_000;
const bearer = (token: string) => `Bearer ${token}`;

/** The one allocation of a donation (each test has a single grant). */
async function allocation(donationId: string) {
  const rows = await allocationsOf(donationId);
  expect(rows, `allocations of ${donationId}`).to.have.length(1);
  return rows[0];
}

const donationJson = async (id: string) => (await h().api().get(`/api/donations/${id}`).expect(200)).body;

async function giveTimes(slug: string, n: number, donor: (i: number) => Record<string, unknown>, amount = 1000): Promise<Gift[]> {
  const out: Gift[] = [];
  for (let i = 0; i < n; i++) out.push(await give(slug, amount, donor(i)));
  return out;
}

describe('donor identity and risk holds (M-10 to M-13)', () => {
  let street: Awaited<ReturnType<typeof fakeStreet>>;
  let campaign: CampaignRow;
  let grant: Awaited<ReturnType<typeof fakeGrant>>;
  let admin: string;
  let finance: string;
  beforeEach(async () => {
    await resetDb();
    street = await fakeStreet();
    campaign = await fakeCampaign({ slug: 'home-repair', streetId: street.streetId });
    grant = await fakeGrant({ campaigns: [campaign.slug], budget: 1_000_000, rules: { ratio_percent: 100 } });
    admin = await tokenFor('association_admin');
    finance = await tokenFor('association_finance');
  });
  afterEach(expectSettledLedgerHealthy);

  const post = (path: string, body: object = {}, token = admin) => h().api().post(path).set('Authorization', bearer(token)).send(body);
  const holds = async (token = admin) => (await h().api().get('/api/risk/holds').set('Authorization', bearer(token)).expect(200)).body as Record<string, unknown>[];

  /** A gift whose match is held for a linked party (M-12), paid, so its allocation is `held`. */
  async function heldGift(slug: string, phone: string, amount = 2000) {
    await post(`/api/campaigns/${slug}/linked-parties`, { role: 'beneficiary', phone }).expect(201);
    const gift = await give(slug, amount, { phone });
    await pay(gift.id);
    const a = await allocation(gift.id);
    expect(a).to.include({ status: 'held', hold_reason: 'linked_party' });
    return { gift, a };
  }

  describe('velocity (M-10)', () => {
    it('when one email gives five times within a minute, then the fifth match is held, not committed, and another email is unaffected', async () => {
      const gifts = await giveTimes(campaign.slug, 5, (i) => ({ email: i === 4 ? 'Fast.Donor@Example.com' : 'fast.donor@example.com' }));
      const other = await give(campaign.slug, 1000, { email: 'calm@example.com' });

      const before = await Promise.all(gifts.map(async (g) => (await allocation(g.id)).hold_reason));
      expect(before).to.deep.equal([null, null, null, null, 'velocity']);
      expect((await allocation(other.id)).hold_reason).to.equal(null);

      for (const g of [...gifts, other]) await pay(g.id);

      const after = await Promise.all(gifts.map(async (g) => (await allocation(g.id)).status));
      expect(after).to.deep.equal(['committed', 'committed', 'committed', 'committed', 'held']);
      expect(await allocation(gifts[4].id)).to.include({ committed_minor: 0, reserved_minor: 1000, hold_reason: 'velocity' });
      expect(await allocation(other.id)).to.include({ status: 'committed', committed_minor: 1000 });

      const fifth = await donationJson(gifts[4].id);
      expect(fifth).to.include({ status: 'succeeded', matched: 0 });
      expect(fifth.match).to.deep.equal({ reserved: 1000, committed: 0 });
      expect((await donationJson(gifts[0].id)).matched).to.equal(1000);
      expect(await grantJson(grant.id)).to.include({ committed: 5000, reserved: 1000, remaining: 994_000 });
    });

    it('when one phone gives five times written five ways (+86, spaces, dashes), then it is one identity and the fifth is held', async () => {
      const phones = ['+86 138 0013 8000', '13800138000', '+8613800138000', '138-0013-8000', '86 13800138000'];
      const gifts = await giveTimes(campaign.slug, 5, (i) => ({ phone: phones[i] }));
      const reasons = await Promise.all(gifts.map(async (g) => (await allocation(g.id)).hold_reason));
      expect(reasons).to.deep.equal([null, null, null, null, 'velocity']);
      const unrelated = await give(campaign.slug, 1000, { phone: '13900139000' });
      expect((await allocation(unrelated.id)).hold_reason).to.equal(null);
    });

    it('when five anonymous gifts are paid by the same payer, then the fifth payment holds its match at commit; another payer commits', async () => {
      const gifts = await giveTimes(campaign.slug, 5, () => ({}));
      const other = await give(campaign.slug, 1000);
      for (const g of gifts) expect((await allocation(g.id)).hold_reason, 'no identity before payment').to.equal(null);

      for (const g of gifts) await pay(g.id, 'payer-1');
      await pay(other.id, 'payer-2');

      const states = await Promise.all(gifts.map(async (g) => {
        const a = await allocation(g.id);
        return [a.status, a.hold_reason];
      }));
      expect(states).to.deep.equal([
        ['committed', null], ['committed', null], ['committed', null], ['committed', null], ['held', 'velocity'],
      ]);
      expect(await allocation(other.id)).to.include({ status: 'committed', hold_reason: null });
      expect((await donationJson(gifts[4].id)).matched).to.equal(0);
    });
  });

  describe('linked parties (M-12)', () => {
    it('when an admin or the street officer links a beneficiary phone, then gifts from that phone to that campaign are held', async () => {
      const other = await fakeStreet();
      const stranger = await tokenFor('street_officer', other.streetId);
      const officer = await tokenFor('street_officer', street.streetId);

      await h().api().post(`/api/campaigns/${campaign.slug}/linked-parties`).send({ role: 'beneficiary', phone: '13900001111' }).expect(401);
      const denied = await post(`/api/campaigns/${campaign.slug}/linked-parties`, { role: 'beneficiary', phone: '13900001111' }, stranger).expect(403);
      expect(denied.body.error.code).to.equal('forbidden');
      for (const role of ['association_finance', 'auditor'] as const) {
        await post(`/api/campaigns/${campaign.slug}/linked-parties`, { role: 'beneficiary', phone: '13900001111' }, await tokenFor(role)).expect(403);
      }
      expect(await h().db('campaign_linked_identities').count({ n: '*' }).first()).to.deep.equal({ n: 0 });

      const bad = await post(`/api/campaigns/${campaign.slug}/linked-parties`, { role: 'beneficiary' }, officer).expect(400);
      expect(bad.body.error.code).to.equal('validation_failed');
      const own = await post(`/api/campaigns/${campaign.slug}/linked-parties`, { role: 'beneficiary', phone: '13900001111' }, officer).expect(201);
      expect(own.body).to.deep.equal({ campaign: campaign.slug, role: 'beneficiary', identities: 1 });
      const byAdmin = await post(`/api/campaigns/${campaign.slug}/linked-parties`, { role: 'organiser', email: 'organiser@example.com' }).expect(201);
      expect(byAdmin.body).to.include({ role: 'organiser', identities: 1 });

      const self = await give(campaign.slug, 2000, { phone: '+86 139-0000-1111' });
      const organiser = await give(campaign.slug, 2000, { email: 'ORGANISER@example.com' });
      const neighbour = await give(campaign.slug, 2000, { phone: '13900002222' });
      expect((await allocation(self.id)).hold_reason).to.equal('linked_party');
      expect((await allocation(organiser.id)).hold_reason).to.equal('linked_party');
      expect((await allocation(neighbour.id)).hold_reason).to.equal(null);

      await pay(self.id);
      expect(await allocation(self.id)).to.include({ status: 'held', committed_minor: 0 });
      expect((await donationJson(self.id)).matched).to.equal(0);
    });

    it('when a linked phone gives to another campaign, then that match is not held', async () => {
      const elsewhere = await fakeCampaign({ slug: 'warm-meals', streetId: street.streetId });
      await fakeGrant({ campaigns: [elsewhere.slug] });
      await post(`/api/campaigns/${campaign.slug}/linked-parties`, { role: 'beneficiary', phone: '13900001111' }).expect(201);
      const gift = await give(elsewhere.slug, 2000, { phone: '13900001111' });
      await pay(gift.id);
      expect(await allocation(gift.id)).to.include({ status: 'committed', hold_reason: null, committed_minor: 2000 });
    });
  });

  describe('the risk queue', () => {
    it('when matches are held, then admin, finance and auditor see them with campaign, amount and reason; others cannot', async () => {
      const { gift, a } = await heldGift(campaign.slug, '13900001111', 2000);
      const committed = await give(campaign.slug, 3000);
      await pay(committed.id);

      for (const token of [admin, finance, await tokenFor('auditor')]) {
        const list = await holds(token);
        expect(list).to.have.length(1);
        expect(list[0]).to.include({ id: a.id, status: 'held', hold_reason: 'linked_party', campaign: campaign.slug, donation_id: gift.id, amount: 2000, reserved: 2000, grant_id: grant.id });
      }
      await h().api().get('/api/risk/holds').expect(401);
      const officer = await h().api().get('/api/risk/holds').set('Authorization', bearer(await tokenFor('street_officer', street.streetId))).expect(403);
      expect(officer.body.error.code).to.equal('forbidden');
      await h().api().get('/api/risk/holds').set('Authorization', bearer(await tokenFor('reviewer'))).expect(403);
    });

    it('when finance releases a held match, then it commits and the donation is matched; deciding it again is 409 not_held', async () => {
      const { gift, a } = await heldGift(campaign.slug, '13900001111', 2000);
      const auditor = await tokenFor('auditor');
      await post(`/api/risk/holds/${a.id}/release`, {}, auditor).expect(403);
      await post(`/api/risk/holds/${a.id}/confirm`, {}, auditor).expect(403);
      await h().api().post(`/api/risk/holds/${a.id}/release`).expect(401);
      expect((await allocation(gift.id)).status, 'an auditor changes nothing').to.equal('held');

      const res = await post(`/api/risk/holds/${a.id}/release`, { note: '核实为邻居代捐，非本人' }, finance).expect(200);
      expect(res.body).to.include({ id: a.id, status: 'committed' });
      expect(await allocation(gift.id)).to.include({ status: 'committed', committed_minor: 2000, hold_reason: null });
      expect(await donationJson(gift.id)).to.include({ matched: 2000 });
      expect(await grantJson(grant.id)).to.include({ committed: 2000, reserved: 0, remaining: 998_000 });
      expect(await holds()).to.deep.equal([]);

      for (const decision of ['release', 'confirm']) {
        const again = await post(`/api/risk/holds/${a.id}/${decision}`, {}, finance).expect(409);
        expect(again.body.error.code).to.equal('not_held');
      }
      const plain = await give(campaign.slug, 1000);
      await pay(plain.id);
      const notHeld = await post(`/api/risk/holds/${(await allocation(plain.id)).id}/release`, {}, finance).expect(409);
      expect(notHeld.body.error.code).to.equal('not_held');
      await post('/api/risk/holds/99999999/release', {}, finance).expect(404);
    });

    it('when a hold is released before payment, then the match commits once the payment succeeds', async () => {
      await post(`/api/campaigns/${campaign.slug}/linked-parties`, { role: 'beneficiary', phone: '13900001111' }).expect(201);
      const gift = await give(campaign.slug, 2000, { phone: '13900001111' });
      const a = await allocation(gift.id);
      expect(a).to.include({ status: 'reserved', hold_reason: 'linked_party' });

      const res = await post(`/api/risk/holds/${a.id}/release`, {}, finance).expect(200);
      expect(res.body).to.include({ status: 'reserved' });
      await pay(gift.id);
      expect(await allocation(gift.id)).to.include({ status: 'committed', committed_minor: 2000 });
      expect((await donationJson(gift.id)).matched).to.equal(2000);
    });

    it('when finance confirms abuse, then the match returns to the grant and the organisation is sanctioned: no new matches, no new campaigns', async () => {
      const org = await post('/api/organisations', { name: '石坪桥社工服务中心' }).expect(201);
      expect(org.body).to.include({ name: '石坪桥社工服务中心', sanctioned_at: null });
      const body = (slug: string) => ({
        slug, title: '困境儿童居住空间改造', goal: 5_000_000, street: street.streetId, organisation: org.body.id, status: 'live',
        starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString(),
      });
      const created = await post('/api/campaigns', body('org-repair')).expect(201);
      const orgGrant = await fakeGrant({ campaigns: [created.body.slug], budget: 100_000 });

      const clean = await give('org-repair', 1000, { email: 'neighbour@example.com' });
      await pay(clean.id);
      await post('/api/campaigns/org-repair/linked-parties', { role: 'beneficiary', phone: '13900001111' }).expect(201);
      const self = await give('org-repair', 2000, { phone: '13900001111' });
      await pay(self.id);
      const held = await allocation(self.id);
      expect(held).to.include({ status: 'held', grant_id: orgGrant.id });
      expect(await grantJson(orgGrant.id)).to.include({ committed: 1000, reserved: 2000, remaining: 97_000 });

      const res = await post(`/api/risk/holds/${held.id}/confirm`, { note: '受益人自捐自用' }, finance).expect(200);
      expect(res.body).to.include({ id: held.id, status: 'released', sanctioned: org.body.id });
      expect(await allocation(self.id)).to.include({ status: 'released', committed_minor: 0 });
      expect(await grantJson(orgGrant.id)).to.include({ committed: 1000, reserved: 0, remaining: 99_000 });
      expect(await donationJson(self.id)).to.include({ matched: 0 });

      const orgs = (await h().api().get('/api/organisations').expect(200)).body;
      const sanctioned = orgs.find((o: { id: number }) => o.id === org.body.id);
      expect(sanctioned.sanctioned_at).to.be.a('string');
      expect(sanctioned.sanction_reason).to.equal('受益人自捐自用');

      const later = await give('org-repair', 5000, { email: 'another@example.com' });
      expect(later.match.reserved).to.equal(0);
      expect(await allocation(later.id)).to.include({ status: 'zero', reserved_minor: 0, reason: 'organisation_sanctioned' });
      await pay(later.id);
      expect((await donationJson(later.id)).matched).to.equal(0);

      const refused = await post('/api/campaigns', body('org-second')).expect(409);
      expect(refused.body.error.code).to.equal('organisation_sanctioned');
      expect(await h().db('campaigns').where({ slug: 'org-second' }).first()).to.equal(undefined);

      const unrelated = await give(campaign.slug, 1000, { email: 'another@example.com' });
      expect(unrelated.match.reserved, "another organisation's campaign still matches").to.equal(1000);
    });

    it('when abuse is confirmed on a campaign without an organisation, then the match is released and nobody is sanctioned', async () => {
      const { gift, a } = await heldGift(campaign.slug, '13900001111', 2000);
      const res = await post(`/api/risk/holds/${a.id}/confirm`, {}, admin).expect(200);
      expect(res.body).to.include({ status: 'released', sanctioned: null });
      expect(await allocation(gift.id)).to.include({ status: 'released' });
      expect(await grantJson(grant.id)).to.include({ committed: 0, reserved: 0, remaining: 1_000_000 });
    });

    it('when a held match’s donation is refunded, then the match is released back to the grant, never committed', async () => {
      const { gift } = await heldGift(campaign.slug, '13900001111', 2000);
      expect(await grantJson(grant.id)).to.include({ reserved: 2000, remaining: 998_000 });

      await approvedRefund(gift.id);
      await waitFor(async () => (await h().db('donations').where({ id: gift.id }).first('status')).status === 'refunded', 'refunded');
      await waitForIdleQueues();

      expect(await allocation(gift.id)).to.include({ status: 'released', committed_minor: 0, clawed_back_minor: 0 });
      expect(await donationJson(gift.id)).to.include({ status: 'refunded', matched: 0 });
      expect(await grantJson(grant.id)).to.include({ committed: 0, reserved: 0, remaining: 1_000_000 });
      expect(await holds()).to.deep.equal([]);
      const { rows } = await h().db.raw(
        `SELECT kind FROM ledger_journals WHERE (donation_id = ? AND kind LIKE 'match%') OR id IN (SELECT reserve_journal_id FROM match_allocations WHERE donation_id = ?) ORDER BY id`,
        [gift.id, gift.id]);
      expect(rows.map((r: { kind: string }) => r.kind)).to.deep.equal(['match_reserve', 'match_release']);
    });
  });
});
