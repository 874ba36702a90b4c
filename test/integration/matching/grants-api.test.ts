import { expect } from 'chai';
import type { CampaignRow } from '../../../server/modules/campaigns/index.js';
import { resetDb, waitFor, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign, fakeStreet, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { balances, expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { allocationsOf, approvedRefund, fakeGrant, give, grantJson, pay } from '../../helpers/matching.js';

const DAY = 86_400_000;
const count = async (table: string) => Number((await h().db(table).count({ n: '*' }).first())!.n);
const bearer = (token: string) => `Bearer ${token}`;

/** A grant request body over `slug`, with any field overridden (undefined removes it). */
function grantBody(slug: string, over: Record<string, unknown> = {}) {
  const body: Record<string, unknown> = {
    sponsor: { name: '重庆爱心企业', kind: 'enterprise' },
    budget: 1_000_000,
    currency: 'CNY',
    scope: { campaigns: [slug] },
    starts_at: new Date(Date.now() - DAY).toISOString(),
    ends_at: new Date(Date.now() + 30 * DAY).toISOString(),
    rules: { ratio_percent: 100 },
    ...over,
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}

async function waitForStatus(id: string, status: string) {
  await waitFor(async () => (await h().db('donations').where({ id }).first('status')).status === status, `donation ${id} ${status}`);
  await waitForIdleQueues();
}

/** Live totals are refreshed within a coalescing window; wait for the campaign's `matched`. */
async function expectCampaignMatched(slug: string, matched: number) {
  await waitFor(async () => (await h().api().get(`/api/campaigns/${slug}`)).body.matched === matched, `${slug} matched ${matched}`);
}

const accountBalance = async (code: string) => (await balances())[code] ?? 0;

describe('grants API', () => {
  let campaign: CampaignRow;
  let admin: string;
  beforeEach(async () => {
    await resetDb();
    campaign = await fakeCampaign({ slug: 'home-repair' });
    admin = await tokenFor('association_admin');
  });
  afterEach(expectSettledLedgerHealthy);

  const create = (body: Record<string, unknown>, token = admin) => h().api().post('/api/grants').set('Authorization', bearer(token)).send(body);
  const post = (path: string, body: object = {}, token = admin) => h().api().post(path).set('Authorization', bearer(token)).send(body);

  describe('create', () => {
    it('when an admin creates a grant over campaigns, then 201 returns a draft with defaults filled and a Location', async () => {
      const res = await create(grantBody(campaign.slug, { rules: { ratio_percent: 100, pool_shards: 4 } })).expect(201);
      expect(res.headers.location).to.equal(`/api/grants/${res.body.id}`);
      expect(res.body).to.include({ status: 'draft', budget: 1_000_000, remaining: 1_000_000, committed: 0, reserved: 0, rule_version: 1, currency: 'CNY' });
      expect(res.body.id).to.be.a('number');
      expect(res.body.sponsor).to.include({ name: '重庆爱心企业', kind: 'enterprise' });
      expect(res.body.scope).to.deep.equal({ all: false, campaigns: [campaign.slug], streets: [] });
      expect(res.body.rules).to.include({ mode: 'per_donation', ratio_percent: 100, min_donation: 100, cap_per_donor_per_day: 99_900, pool_shards: 4, partial_last_match: true, stretch_at_close: false });

      const got = await h().api().get(res.headers.location).set('Authorization', bearer(admin)).expect(200);
      expect(got.body).to.deep.include({ id: res.body.id, status: 'draft', budget: 1_000_000, rule_version: 1 });
      expect(await count('grants')).to.equal(1);
    });

    it('when the scope is streets or all, and the sponsor is a plain name, then the scope and an enterprise sponsor are stored', async () => {
      const street = await fakeStreet();
      const byStreet = await create(grantBody(campaign.slug, { sponsor: '九龙坡区慈善会', scope: { streets: [street.streetId] } })).expect(201);
      expect(byStreet.body.scope).to.deep.equal({ all: false, campaigns: [], streets: [street.streetId] });
      expect(byStreet.body.sponsor).to.include({ name: '九龙坡区慈善会', kind: 'enterprise' });
      const all = await create(grantBody(campaign.slug, { sponsor: { name: '区民政局', kind: 'government' }, scope: { all: true }, rules: undefined })).expect(201);
      expect(all.body.scope).to.deep.equal({ all: true, campaigns: [], streets: [] });
      expect(all.body.sponsor).to.include({ name: '区民政局', kind: 'government' });
      expect(all.body.rules, 'rules default when omitted').to.include({ ratio_percent: 100, min_donation: 100, cap_per_donor_per_day: 99_900 });
    });

    describe('bad input gets 400 naming the field and stores nothing', () => {
      const cases: [string, (slug: string) => Record<string, unknown>, string][] = [
        ['a zero budget', (s) => grantBody(s, { budget: 0 }), 'budget'],
        ['a fractional budget', (s) => grantBody(s, { budget: 1000.5 }), 'budget'],
        ['a string budget', (s) => grantBody(s, { budget: '1000000' }), 'budget'],
        ['currency USD', (s) => grantBody(s, { currency: 'USD' }), 'currency'],
        ['no scope', (s) => grantBody(s, { scope: undefined }), 'scope'],
        ['an empty scope', (s) => grantBody(s, { scope: {} }), 'scope'],
        ['an unknown campaign in scope', (s) => grantBody(s, { scope: { campaigns: [s, 'no-such-campaign'] } }), 'scope.campaigns'],
        ['an unknown street in scope', (s) => grantBody(s, { scope: { streets: [987_654] } }), 'scope.streets'],
        ['ends_at before starts_at', (s) => grantBody(s, { starts_at: new Date(Date.now() + DAY).toISOString(), ends_at: new Date(Date.now() - DAY).toISOString() }), 'ends_at'],
        ['an unknown rule key', (s) => grantBody(s, { rules: { ratio_percent: 100, match_everything: true } }), 'rules.match_everything'],
        ['ratio_percent 1.5', (s) => grantBody(s, { rules: { ratio_percent: 1.5 } }), 'rules.ratio_percent'],
        ['quadratic mode without a per-project cap', (s) => grantBody(s, { rules: { mode: 'quadratic' } }), 'rules.quadratic'],
        ['a daily slot opening at 25:00', (s) => grantBody(s, { rules: { daily_slots: [{ opens: '25:00', budget: 10_000 }] } }), 'rules.daily_slots.0.opens'],
        ['<script> in the sponsor name', (s) => grantBody(s, { sponsor: '<script>alert(1)</script>' }), 'sponsor'],
        ['<script> in the sponsor object name', (s) => grantBody(s, { sponsor: { name: '<script>alert(1)</script>', kind: 'enterprise' } }), 'sponsor.name'],
      ];
      for (const [name, body, field] of cases) {
        it(`when the grant has ${name}, then 400 names ${field}`, async () => {
          const res = await create(body(campaign.slug)).expect(400);
          expect(res.body.error.code).to.equal('validation_failed');
          expect(res.body.error.fields, JSON.stringify(res.body.error.fields)).to.have.property(field);
          expect(JSON.stringify(res.body)).not.to.include('<script>');
          expect(await count('grants')).to.equal(0);
          expect(await count('sponsors')).to.equal(0);
        });
      }
    });
  });

  describe('authorization', () => {
    it('when there is no token, then every write is 401 and nothing changes', async () => {
      const draft = await fakeGrant({ campaigns: [campaign.slug], activate: false });
      await h().api().post('/api/grants').send(grantBody(campaign.slug)).expect(401);
      await h().api().post(`/api/grants/${draft.id}/activate`).expect(401);
      await h().api().post(`/api/grants/${draft.id}/top-up`).send({ amount: 10_000 }).expect(401);
      await h().api().put(`/api/grants/${draft.id}/rules`).send({ rules: { ratio_percent: 50 } }).expect(401);
      await h().api().post(`/api/grants/${draft.id}/close`).expect(401);
      expect(await count('grants')).to.equal(1);
      expect((await h().db('grants').where({ id: draft.id }).first()).status).to.equal('draft');
    });

    it("when a sponsor reads its own draft grant, then it sees it; another sponsor, or anyone without a token, gets 404", async () => {
      const draft = await fakeGrant({ campaigns: [campaign.slug], activate: false });
      const own = await tokenFor('sponsor', undefined, { sponsorId: draft.sponsor_id });
      const other = await tokenFor('sponsor');
      expect((await h().api().get(`/api/grants/${draft.id}`).set('Authorization', bearer(own)).expect(200)).body).to.include({ id: draft.id, status: 'draft' });
      await h().api().get(`/api/grants/${draft.id}`).set('Authorization', bearer(other)).expect(404);
      await h().api().get(`/api/grants/${draft.id}`).expect(404);
    });

    for (const role of ['association_finance', 'auditor', 'street_officer', 'sponsor', 'reviewer'] as const) {
      it(`when a ${role} creates, activates, tops up, changes rules or closes, then 403 and nothing changes`, async () => {
        const street = await fakeStreet();
        const token = await tokenFor(role, role === 'street_officer' ? street.streetId : undefined);
        const draft = await fakeGrant({ campaigns: [campaign.slug], activate: false });
        const active = await fakeGrant({ campaigns: [campaign.slug], budget: 500_000 });

        const attempts: [string, Awaited<ReturnType<typeof create>>][] = [
          ['create', await create(grantBody(campaign.slug), token)],
          ['activate', await post(`/api/grants/${draft.id}/activate`, {}, token)],
          ['top-up', await post(`/api/grants/${active.id}/top-up`, { amount: 10_000 }, token).set('Idempotency-Key', `forbidden-${role}`)],
          ['rules', await h().api().put(`/api/grants/${active.id}/rules`).set('Authorization', bearer(token)).send({ rules: { ratio_percent: 50 } })],
          ['close', await post(`/api/grants/${active.id}/close`, {}, token)],
        ];
        for (const [what, res] of attempts) {
          expect(res.status, what).to.equal(403);
          expect(res.body.error.code).to.equal('forbidden');
        }

        expect(await count('grants')).to.equal(2);
        expect((await h().db('grants').where({ id: draft.id }).first()).status).to.equal('draft');
        const after = await grantJson(active.id);
        expect(after).to.include({ status: 'active', budget: 500_000, remaining: 500_000, rule_version: 1 });
      });
    }
  });

  it('when a grant is a draft, then the public neither lists nor reads it, and admin, finance and auditor do', async () => {
    const draft = await fakeGrant({ campaigns: [campaign.slug], activate: false });
    const active = await fakeGrant({ campaigns: [campaign.slug] });

    const ids = (body: { id: number }[]) => body.map((g) => g.id);
    const pub = await h().api().get('/api/grants').expect(200);
    expect(ids(pub.body)).to.include(active.id).and.not.include(draft.id);
    const asked = await h().api().get('/api/grants?status=draft').expect(200);
    expect(ids(asked.body)).not.to.include(draft.id);
    await h().api().get(`/api/grants/${draft.id}`).expect(404);
    await h().api().get(`/api/grants/${active.id}`).expect(200);
    const officer = await tokenFor('street_officer', (await fakeStreet()).streetId);
    await h().api().get(`/api/grants/${draft.id}`).set('Authorization', bearer(officer)).expect(404);

    for (const role of ['association_admin', 'association_finance', 'auditor'] as const) {
      const token = await tokenFor(role);
      const list = await h().api().get('/api/grants').set('Authorization', bearer(token)).expect(200);
      expect(ids(list.body), role).to.include.members([draft.id, active.id]);
      const one = await h().api().get(`/api/grants/${draft.id}`).set('Authorization', bearer(token)).expect(200);
      expect(one.body).to.include({ id: draft.id, status: 'draft' });
    }
  });

  it('when a draft is activated, then it is active with its whole budget, funded by the sponsor and opened into its pool shards', async () => {
    const created = await create(grantBody(campaign.slug, { budget: 1_000_002, rules: { pool_shards: 4 } })).expect(201);
    const id = created.body.id;
    const sponsorId = created.body.sponsor.id;

    const asked = await post(`/api/grants/${id}/activate`).expect(202);
    expect(asked.body).to.include({ id, status: 'draft', approval: 'pending_approval' });
    const mine = await post(`/api/grants/${id}/activate`).expect(409);
    expect(mine.body.error.code, 'the requester cannot approve (four eyes)').to.equal('approval_pending');
    const secondAdmin = await tokenFor('association_admin');
    const res = await post(`/api/grants/${id}/activate`, {}, secondAdmin).expect(200);
    expect(res.body).to.include({ id, status: 'active', budget: 1_000_002, remaining: 1_000_002, committed: 0, reserved: 0 });
    expect(res.body.activated_at).to.be.a('string');

    const again = await post(`/api/grants/${id}/activate`).expect(409);
    expect(again.body.error.code).to.equal('grant_not_draft');

    const { rows } = await h().db.raw(
      `SELECT j.kind, a.code, e.amount FROM ledger_entries e JOIN ledger_journals j ON j.id = e.journal_id JOIN ledger_accounts a ON a.id = e.account_id
        WHERE j.kind IN ('grant_funded', 'pool_opened') ORDER BY j.id, a.code`,
    );
    const funded = rows.filter((r: { kind: string }) => r.kind === 'grant_funded');
    expect(funded.map((r: { code: string; amount: number }) => [r.code, Number(r.amount)])).to.deep.equal([
      [`grant:${id}:budget:CNY`, -1_000_002],
      [`sponsor:${sponsorId}:pledges:CNY`, 1_000_002],
    ]);
    const opened = rows.filter((r: { kind: string }) => r.kind === 'pool_opened');
    expect(opened.find((r: { code: string }) => r.code === `grant:${id}:budget:CNY`)?.amount).to.equal(1_000_002);
    const shardLegs = opened.filter((r: { code: string }) => r.code.startsWith(`grant:${id}:pool:main:`));
    expect(shardLegs).to.have.length(4);
    expect(shardLegs.reduce((s: number, r: { amount: number }) => s + Number(r.amount), 0)).to.equal(-1_000_002);

    const shards = await h().db('ledger_accounts').where('code', 'like', `grant:${id}:pool:main:%`).orderBy('code').select('code', 'balance');
    expect(shards.map((s) => s.code)).to.deep.equal([0, 1, 2, 3].map((k) => `grant:${id}:pool:main:${k}:CNY`));
    expect(shards.map((s) => Number(s.balance)).sort()).to.deep.equal([250_000, 250_000, 250_001, 250_001]);
    expect(await accountBalance(`grant:${id}:budget:CNY`)).to.equal(0);
  });

  it('when an active grant is topped up, then budget and remaining grow once per Idempotency-Key; a draft or closed grant gets 409', async () => {
    const g = await fakeGrant({ campaigns: [campaign.slug], budget: 100_000 });
    const first = await post(`/api/grants/${g.id}/top-up`, { amount: 50_000 }).set('Idempotency-Key', 'top-up-1').expect(200);
    expect(first.body).to.include({ budget: 150_000, remaining: 150_000 });
    const replay = await post(`/api/grants/${g.id}/top-up`, { amount: 50_000 }).set('Idempotency-Key', 'top-up-1').expect(200);
    expect(replay.body).to.include({ budget: 150_000, remaining: 150_000 });
    const second = await post(`/api/grants/${g.id}/top-up`, { amount: 25_000 }).set('Idempotency-Key', 'top-up-2').expect(200);
    expect(second.body).to.include({ budget: 175_000, remaining: 175_000 });
    expect((await h().db('ledger_journals').where({ kind: 'grant_funded' }).count({ n: '*' }).first())!.n).to.equal(3);

    const bad = await post(`/api/grants/${g.id}/top-up`, { amount: 0 }).set('Idempotency-Key', 'top-up-3').expect(400);
    expect(bad.body.error.fields).to.have.property('amount');

    const draft = await fakeGrant({ campaigns: [campaign.slug], activate: false });
    const onDraft = await post(`/api/grants/${draft.id}/top-up`, { amount: 50_000 }).set('Idempotency-Key', 'top-up-draft').expect(409);
    expect(onDraft.body.error.code).to.equal('grant_not_active');
    const draftAfter = await h().api().get(`/api/grants/${draft.id}`).set('Authorization', bearer(admin)).expect(200);
    expect(draftAfter.body).to.include({ status: 'draft', budget: 1_000_000 });

    await post(`/api/grants/${g.id}/close`).expect(200);
    const onClosed = await post(`/api/grants/${g.id}/top-up`, { amount: 50_000 }).set('Idempotency-Key', 'top-up-closed').expect(409);
    expect(onClosed.body.error.code).to.equal('grant_not_active');
    expect(await grantJson(g.id)).to.include({ status: 'closed', budget: 175_000, remaining: 0 });
  });

  describe('rule versions and replay', () => {
    it('when the ratio changes, then earlier gifts keep version 1, later ones get version 2 and half the match, and both replay', async () => {
      const g = await fakeGrant({ campaigns: [campaign.slug], rules: { ratio_percent: 100 } });
      const before = await give(campaign.slug, 5000);

      const res = await h().api().put(`/api/grants/${g.id}/rules`).set('Authorization', bearer(admin)).send({ rules: { ratio_percent: 50 } }).expect(200);
      expect(res.body.rule_version).to.equal(2);
      expect(res.body.rules).to.include({ ratio_percent: 50, min_donation: 100 });

      const after = await give(campaign.slug, 5000);
      await pay(before.id);
      await pay(after.id);

      const [a1] = await allocationsOf(before.id);
      const [a2] = await allocationsOf(after.id);
      expect(a1).to.include({ rule_version: 1, desired_minor: 5000, committed_minor: 5000, status: 'committed' });
      expect(a2).to.include({ rule_version: 2, desired_minor: 2500, committed_minor: 2500, status: 'committed' });
      expect((await h().api().get(`/api/donations/${before.id}`).expect(200)).body.matched).to.equal(5000);
      expect((await h().api().get(`/api/donations/${after.id}`).expect(200)).body.matched).to.equal(2500);

      const finance = await tokenFor('association_finance');
      const r1 = await h().api().get(`/api/match-allocations/${a1.id}/replay`).set('Authorization', bearer(finance)).expect(200);
      expect(r1.body).to.include({ allocation_id: a1.id, rule_version: 1, recorded: 5000, replayed: 5000, matches: true });
      const r2 = await h().api().get(`/api/match-allocations/${a2.id}/replay`).set('Authorization', bearer(finance)).expect(200);
      expect(r2.body).to.include({ allocation_id: a2.id, rule_version: 2, recorded: 2500, replayed: 2500, matches: true });
      await h().api().get(`/api/match-allocations/${a1.id}/replay`).expect(401);
      await h().api().get(`/api/match-allocations/${a1.id}/replay`).set('Authorization', bearer(await tokenFor('reviewer'))).expect(403);
    });

    it('when a random-ratio grant matches, then the replay reproduces the recorded draw and amount', async () => {
      const g = await fakeGrant({ campaigns: [campaign.slug], rules: { random: { min_percent: 50, max_percent: 150, probability_percent: 100 } } });
      const gifts = [await give(campaign.slug, 10_000), await give(campaign.slug, 10_000), await give(campaign.slug, 10_000)];
      const finance = await tokenFor('association_finance');
      for (const gift of gifts) {
        const [a] = await allocationsOf(gift.id);
        expect(a.grant_id).to.equal(g.id);
        expect(a.draw).to.have.keys(['seed', 'hit', 'ratio_bp']);
        expect(a.draw.ratio_bp).to.be.within(5000, 15_000);
        expect(a.desired_minor, 'a ¥100 gift is matched ratio_bp fen').to.equal(a.draw.ratio_bp);
        const r = await h().api().get(`/api/match-allocations/${a.id}/replay`).set('Authorization', bearer(finance)).expect(200);
        expect(r.body).to.include({ recorded: a.desired_minor, replayed: a.desired_minor, matches: true });
        expect(r.body.draw).to.deep.equal(a.draw);
      }
      const seeds = new Set(await Promise.all(gifts.map(async (x) => (await allocationsOf(x.id))[0].draw.seed)));
      expect(seeds.size, 'every gift draws with its own seed').to.equal(3);
    });

    it("when an active grant's mode or daily slots would change, then 409 and the rules stay", async () => {
      const g = await fakeGrant({ campaigns: [campaign.slug] });
      const put = (rules: object) => h().api().put(`/api/grants/${g.id}/rules`).set('Authorization', bearer(admin)).send({ rules });
      const mode = await put({ mode: 'quadratic', quadratic: { per_project_cap: 10_000 } }).expect(409);
      expect(mode.body.error.code).to.equal('rules_change_not_allowed');
      const slots = await put({ daily_slots: [{ opens: '10:00', budget: 10_000 }] }).expect(409);
      expect(slots.body.error.code).to.equal('rules_change_not_allowed');
      const bad = await put({ ratio_percent: 1.5 }).expect(400);
      expect(bad.body.error.fields).to.have.property('rules.ratio_percent');
      expect(await grantJson(g.id)).to.deep.include({ rule_version: 1 });
      expect((await grantJson(g.id)).rules).to.include({ mode: 'per_donation' });
      expect(await count('grant_rule_versions')).to.equal(1);
    });
  });

  describe('figures', () => {
    let other: CampaignRow;
    let g: Awaited<ReturnType<typeof fakeGrant>>;
    let failedId: string;
    beforeEach(async () => {
      other = await fakeCampaign({ slug: 'warm-meals' });
      g = await fakeGrant({ campaigns: [campaign.slug, other.slug], budget: 1_000_000 });
      const paidA = await give(campaign.slug, 5000);
      await give(campaign.slug, 3000);
      const failed = await give(campaign.slug, 2000);
      const paidB = await give(other.slug, 1000);
      await give(other.slug, 4000);
      await pay(paidA.id);
      await pay(paidB.id);
      await h().c.sandbox!.complete(failed.id, 'fail');
      await waitForStatus(failed.id, 'failed');
      failedId = failed.id;
    });

    it('when gifts are paid, pending and failed, then budget = remaining + reserved + committed, per campaign too', async () => {
      const body = await grantJson(g.id);
      expect(body).to.include({ budget: 1_000_000, committed: 6000, reserved: 7000, remaining: 987_000 });
      expect(body.budget).to.equal(body.remaining + body.reserved + body.committed);
      const rows = body.by_campaign.map((c: { slug: string; committed: number; reserved: number }) => ({ slug: c.slug, committed: c.committed, reserved: c.reserved }));
      expect(rows).to.deep.equal([
        { slug: 'home-repair', committed: 5000, reserved: 3000 },
        { slug: 'warm-meals', committed: 1000, reserved: 4000 },
      ]);
      const [released] = await allocationsOf(failedId);
      expect(released.status).to.equal('released');
    });

    it('when a gift failed, then by_campaign counts only the donations that hold or got a match', async () => {
      const body = await grantJson(g.id);
      const donations = Object.fromEntries(body.by_campaign.map((c: { slug: string; donations: number }) => [c.slug, c.donations]));
      expect(donations, 'home-repair: one paid and one pending; the failed gift released its match').to.deep.equal({ 'home-repair': 2, 'warm-meals': 2 });
    });
  });

  describe('close', () => {
    it("when a grant closes, then what is left goes to the sponsor's returns, and a later refund claws back to the sponsor, not the pool", async () => {
      const g = await fakeGrant({ campaigns: [campaign.slug], budget: 100_000 });
      const gift = await give(campaign.slug, 10_000);
      await pay(gift.id);
      const sponsorId = (await grantJson(g.id)).sponsor.id;
      const returns = `sponsor:${sponsorId}:returns:CNY`;

      const res = await post(`/api/grants/${g.id}/close`).expect(200);
      expect(res.body).to.include({ status: 'closed', budget: 100_000, committed: 10_000, reserved: 0, remaining: 0 });
      expect(res.body.closed_at).to.be.a('string');
      expect(await accountBalance(returns)).to.equal(90_000);
      const poolAfterClose = await h().db('ledger_accounts').where('code', 'like', `grant:${g.id}:pool:%`).sum({ s: 'balance' }).first();
      expect(Number(poolAfterClose!.s)).to.equal(0);

      await approvedRefund(gift.id);
      await waitForStatus(gift.id, 'refunded');

      expect(await accountBalance(returns)).to.equal(100_000);
      const poolAfterRefund = await h().db('ledger_accounts').where('code', 'like', `grant:${g.id}:pool:%`).sum({ s: 'balance' }).first();
      expect(Number(poolAfterRefund!.s), 'a closed pool takes nothing back').to.equal(0);
      expect(await accountBalance(`campaign:${campaign.id}:match:CNY`)).to.equal(0);
      const [a] = await allocationsOf(gift.id);
      expect(a).to.include({ status: 'clawed_back', clawed_back_minor: 10_000 });
      expect(await grantJson(g.id)).to.include({ committed: 0, remaining: 0 });

      const again = await post(`/api/grants/${g.id}/close`).expect(409);
      expect(again.body.error.code).to.equal('grant_not_active');
      expect(await accountBalance(returns)).to.equal(100_000);
    });

    it('when a stretch grant closes, then two campaigns that raised 3:1 share the leftover 3:1 in whole fen', async () => {
      const other = await fakeCampaign({ slug: 'warm-meals' });
      const g = await fakeGrant({ campaigns: [campaign.slug, other.slug], budget: 100_001, rules: { stretch_at_close: true } });
      for (const [slug, amount] of [[campaign.slug, 20_000], [campaign.slug, 10_000], [other.slug, 10_000]] as const) {
        await pay((await give(slug, amount)).id);
      }
      const sponsorId = (await grantJson(g.id)).sponsor.id;

      const res = await post(`/api/grants/${g.id}/close`).expect(200);
      expect(res.body).to.include({ status: 'closed', remaining: 0 });
      // 100,001 − 40,000 matched per gift = 60,001 left, shared 3:1 → 45,000.75 and 15,000.25.
      const dist = await h().db('match_distributions').where({ grant_id: g.id }).orderBy('campaign_id').select('campaign_id', 'kind', 'amount_minor');
      expect(dist).to.deep.equal([
        { campaign_id: campaign.id, kind: 'stretch', amount_minor: 45_001 },
        { campaign_id: other.id, kind: 'stretch', amount_minor: 15_000 },
      ]);
      expect(dist.reduce((s, d) => s + d.amount_minor, 0)).to.equal(60_001);
      expect(await accountBalance(`sponsor:${sponsorId}:returns:CNY`)).to.equal(0);
      expect(await accountBalance(`campaign:${campaign.id}:match:CNY`)).to.equal(75_001);
      expect(await accountBalance(`campaign:${other.id}:match:CNY`)).to.equal(25_000);
      await expectCampaignMatched(campaign.slug, 75_001);
      await expectCampaignMatched(other.slug, 25_000);
      expect(await grantJson(g.id)).to.include({ committed: 100_001, remaining: 0, reserved: 0 });
    });

    describe('quadratic', () => {
      let other: CampaignRow;
      beforeEach(async () => {
        other = await fakeCampaign({ slug: 'warm-meals' });
      });

      async function fourSmallDonorsAndOneLarge() {
        for (let i = 1; i <= 4; i++) await pay((await give(campaign.slug, 1000, { email: `neighbour${i}@example.com` })).id);
        await pay((await give(other.slug, 4000, { email: 'big@example.com' })).id);
      }

      it('when a quadratic grant closes, then four ¥10 donors outweigh one ¥40 donor: A gets the share and B nothing', async () => {
        const g = await fakeGrant({ campaigns: [campaign.slug, other.slug], budget: 50_000, rules: { mode: 'quadratic', quadratic: { per_project_cap: 50_000 } } });
        await fourSmallDonorsAndOneLarge();
        const open = await grantJson(g.id);
        expect(open).to.include({ committed: 0, reserved: 0, remaining: 50_000 });

        await post(`/api/grants/${g.id}/close`).expect(200);
        const dist = await h().db('match_distributions').where({ grant_id: g.id }).select('campaign_id', 'kind', 'amount_minor');
        expect(dist).to.deep.equal([{ campaign_id: campaign.id, kind: 'quadratic', amount_minor: 50_000 }]);
        expect(await accountBalance(`campaign:${campaign.id}:match:CNY`)).to.equal(50_000);
        expect(await accountBalance(`campaign:${other.id}:match:CNY`)).to.equal(0);
        await expectCampaignMatched(campaign.slug, 50_000);
        expect((await h().api().get(`/api/campaigns/${other.slug}`).expect(200)).body.matched).to.equal(0);
      });

      it('when the per-project cap is below the budget, then the capped project gets the cap and the excess returns to the sponsor', async () => {
        const g = await fakeGrant({ campaigns: [campaign.slug, other.slug], budget: 50_000, rules: { mode: 'quadratic', quadratic: { per_project_cap: 20_000 } } });
        await fourSmallDonorsAndOneLarge();
        const sponsorId = (await grantJson(g.id)).sponsor.id;

        await post(`/api/grants/${g.id}/close`).expect(200);
        const dist = await h().db('match_distributions').where({ grant_id: g.id }).select('campaign_id', 'amount_minor');
        expect(dist).to.deep.equal([{ campaign_id: campaign.id, amount_minor: 20_000 }]);
        expect(await accountBalance(`sponsor:${sponsorId}:returns:CNY`)).to.equal(30_000);
        expect(await accountBalance(`campaign:${other.id}:match:CNY`)).to.equal(0);
        expect(await grantJson(g.id)).to.include({ status: 'closed', committed: 20_000, remaining: 0 });
      });

      it('when the same donor gives four times, then they count as one donor and A has no quadratic advantage', async () => {
        const g = await fakeGrant({ campaigns: [campaign.slug, other.slug], budget: 50_000, rules: { mode: 'quadratic', quadratic: { per_project_cap: 50_000 } } });
        for (let i = 0; i < 4; i++) await pay((await give(campaign.slug, 1000, { email: 'same@example.com' })).id);
        await pay((await give(other.slug, 4000, { email: 'big@example.com' })).id);
        const sponsorId = (await grantJson(g.id)).sponsor.id;

        await post(`/api/grants/${g.id}/close`).expect(200);
        expect(await count('match_distributions')).to.equal(0);
        expect(await accountBalance(`sponsor:${sponsorId}:returns:CNY`)).to.equal(50_000);
      });
    });
  });

  it('when the OpenAPI document is read, then it lists the grants, risk and match preview paths', async () => {
    const res = await h().api().get('/api/openapi.json').expect(200);
    const paths = Object.keys(res.body.paths);
    const wanted = [
      '/api/grants',
      '/api/grants/{id}',
      '/api/grants/{id}/activate',
      '/api/grants/{id}/top-up',
      '/api/grants/{id}/rules',
      '/api/grants/{id}/close',
      '/api/risk/holds',
      '/api/campaigns/{slug}/match-preview',
    ];
    expect(wanted.filter((p) => !paths.includes(p)), 'paths missing from /api/openapi.json').to.deep.equal([]);
  });
});
