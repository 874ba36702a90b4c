import { expect } from 'chai';
import { hashToken } from '../../../server/modules/auth/index.js';
import { resetDb } from '../../helpers/db.js';
import { fakeCampaign, fakeStreet, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';

const DAY = 86_400_000;
const body = (over: Record<string, unknown> = {}) => ({
  slug: 'home-repair',
  title: '困境儿童居住空间改造',
  story: '为 11 户困境儿童改造学习空间。',
  goal: 5_000_000,
  starts_at: new Date(Date.now() - DAY).toISOString(),
  ends_at: new Date(Date.now() + 30 * DAY).toISOString(),
  status: 'live',
  ...over,
});

describe('campaigns API', () => {
  let street: Awaited<ReturnType<typeof fakeStreet>>;
  let other: Awaited<ReturnType<typeof fakeStreet>>;
  beforeEach(async () => {
    await resetDb();
    street = await fakeStreet({ code: 'shipingqiao', name: '石坪桥街道' });
    other = await fakeStreet({ code: 'yangjiaping', name: '杨家坪街道' });
  });

  it('when an admin creates a campaign, then 201 returns the contract fields in fen', async () => {
    const admin = await tokenFor('association_admin');
    const res = await h().api().post('/api/campaigns').set('Authorization', `Bearer ${admin}`).send(body({ street: 'shipingqiao' })).expect(201);
    expect(res.headers.location).to.equal('/api/campaigns/home-repair');
    expect(res.body).to.include({ slug: 'home-repair', title: '困境儿童居住空间改造', goal: 5_000_000, raised: 0, matched: 0, donors: 0, status: 'live', currency: 'CNY' });
    expect(res.body.street).to.deep.equal({ id: street.streetId, code: 'shipingqiao', name: '石坪桥街道' });
    expect(res.body.starts_at).to.match(/^\d{4}-\d{2}-\d{2}T/);
    const account = await h().db('ledger_accounts').where({ code: `campaign:${res.body.id}:donations:CNY` }).first();
    expect(account, 'the campaign gets its ledger account').to.exist;
    const got = await h().api().get('/api/campaigns/home-repair').expect(200);
    expect(got.body.id).to.equal(res.body.id);
  });

  it('when a street officer creates in their own street, then 201; in another street, then 403 and nothing is stored', async () => {
    const officer = await tokenFor('street_officer', street.streetId);
    await h().api().post('/api/campaigns').set('Authorization', `Bearer ${officer}`).send(body({ street: street.streetId, status: 'draft' })).expect(201);
    const live = await h().api().post('/api/campaigns').set('Authorization', `Bearer ${officer}`).send(body({ slug: 'straight-live', street: street.streetId })).expect(403);
    expect(live.body.error.message, 'an officer cannot skip review').to.be.a('string');
    const res = await h().api().post('/api/campaigns').set('Authorization', `Bearer ${officer}`).send(body({ slug: 'not-mine', street: other.streetId, status: 'draft' })).expect(403);
    expect(res.body.error.code).to.equal('forbidden');
    expect(await h().db('campaigns').where({ slug: 'not-mine' }).first()).to.equal(undefined);
  });

  it('when the caller has no token, a bad token, or a role that cannot create, then 401/403', async () => {
    await h().api().post('/api/campaigns').send(body({ street: street.streetId })).expect(401);
    await h().api().post('/api/campaigns').set('Authorization', 'Bearer sh_wrong_wrong_wrong_wrong').send(body({ street: street.streetId })).expect(401);
    for (const role of ['auditor', 'association_finance', 'sponsor', 'reviewer'] as const) {
      const token = await tokenFor(role);
      await h().api().post('/api/campaigns').set('Authorization', `Bearer ${token}`).send(body({ street: street.streetId })).expect(403);
    }
    expect(await h().db('campaigns').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
  });

  it('when the slug is taken, then 409 slug_taken', async () => {
    const admin = await tokenFor('association_admin');
    await h().api().post('/api/campaigns').set('Authorization', `Bearer ${admin}`).send(body({ street: street.streetId })).expect(201);
    const res = await h().api().post('/api/campaigns').set('Authorization', `Bearer ${admin}`).send(body({ street: other.streetId })).expect(409);
    expect(res.body.error.code).to.equal('slug_taken');
  });

  it('when fields are invalid, then 400 names each one and nothing is stored', async () => {
    const admin = await tokenFor('association_admin');
    const cases: [Record<string, unknown>, string][] = [
      [{ slug: 'Bad Slug!' }, 'slug'],
      [{ goal: 0 }, 'goal'],
      [{ goal: 12.5 }, 'goal'],
      [{ title: '<script>x</script>' }, 'title'],
      [{ ends_at: new Date(Date.now() - 2 * DAY).toISOString() }, 'ends_at'],
      [{ ends_at: 'next tuesday' }, 'ends_at'],
      [{ status: 'closed' }, 'status'],
      [{ currency: 'USD' }, 'currency'],
      [{ street: 'no-such-street' }, 'street'],
      [{ street: undefined }, 'street'],
    ];
    for (const [over, field] of cases) {
      const res = await h().api().post('/api/campaigns').set('Authorization', `Bearer ${admin}`).send(body({ street: street.streetId, ...over })).expect(400);
      expect(res.body.error.fields, JSON.stringify(over)).to.have.property(field);
    }
    expect(await h().db('campaigns').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
  });

  it('when listing, then drafts stay hidden without a token, pages carry headers, and filters apply', async () => {
    for (let i = 0; i < 3; i++) await fakeCampaign({ streetId: street.streetId });
    await fakeCampaign({ streetId: other.streetId });
    const draft = await fakeCampaign({ streetId: street.streetId, status: 'draft' });
    const pub = await h().api().get('/api/campaigns?per_page=2').expect(200);
    expect(pub.body).to.have.length(2);
    expect(pub.headers['x-total-count']).to.equal('4');
    expect(pub.headers.link).to.include('rel="next"');
    expect((await h().api().get('/api/campaigns?street=yangjiaping').expect(200)).body).to.have.length(1);
    await h().api().get(`/api/campaigns/${draft.slug}`).expect(404);
    const admin = await tokenFor('association_admin');
    const all = await h().api().get('/api/campaigns?per_page=100').set('Authorization', `Bearer ${admin}`).expect(200);
    expect(all.body.map((c: { slug: string }) => c.slug)).to.include(draft.slug);
    await h().api().get(`/api/campaigns/${draft.slug}`).set('Authorization', `Bearer ${admin}`).expect(200);
    const bad = await h().api().get('/api/campaigns?per_page=1000').expect(400);
    expect(bad.body.error.fields).to.have.property('per_page');
  });

  it('when the bootstrap token is ensured, then it works as an admin token and only its hash is stored', async () => {
    const value = 'bootstrap-token-for-tests-1234';
    await h().c.auth.ensureBootstrapToken(value, true);
    const rows = await h().db('api_tokens').where({ label: 'bootstrap' });
    expect(rows).to.have.length(1);
    expect(rows[0].token_hash).to.equal(hashToken(value)).and.not.to.equal(value);
    await h().api().post('/api/campaigns').set('Authorization', `Bearer ${value}`).send(body({ street: street.streetId })).expect(201);
    expect(await h().c.auth.ensureBootstrapToken(undefined, true), 'production issues none unasked').to.equal(null);
    const fresh = await h().c.auth.ensureBootstrapToken(undefined, false);
    expect(fresh).to.match(/^sh_/);
    await h().api().post('/api/campaigns').set('Authorization', `Bearer ${value}`).send(body({ slug: 'again', street: street.streetId })).expect(401);
  });
});
