import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Response } from 'supertest';
import { SYSTEM_PRINCIPAL, totp, type Role } from '../../server/modules/auth/index.js';
import { resetDb } from '../helpers/db.js';
import { fakeCampaign, fakeStreet, fakeUser, tokenFor } from '../helpers/factories.js';
import { browser, signIn } from '../helpers/forms.js';
import { h } from '../helpers/harness.js';
import { fakeGrant, give, pay } from '../helpers/matching.js';

/**
 * The authorization matrix through HTTP: for representative API endpoints (Bearer tokens) and
 * console pages (signed-in sessions), every role gets the status its job calls for, in its own
 * street (or for its own sponsor) and in another. Each row of each table is one test.
 */

const DAY = 86_400_000;
const PASSWORD = 'correct-horse-battery';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const uniq = () => randomBytes(3).toString('hex');

type Who = Role | 'anonymous';
/** Own street (or own sponsor) vs another street (or another sponsor). */
type Where = 'own' | 'other';
/** A status for every caller, or [own, other] where ownership matters. `login` = 303 to the sign-in page. */
type Status = number | 'login';
/** API tables name every staff role and anonymous callers (a resident cannot hold a token); console tables name everyone. */
type ApiCaller = Exclude<Who, 'resident'>;

interface World {
  own: Awaited<ReturnType<typeof fakeStreet>>;
  other: Awaited<ReturnType<typeof fakeStreet>>;
}

interface Call {
  method: 'get' | 'post';
  path: string;
  body?: Record<string, unknown>;
  /** Whether the write took effect (checked against the status: only a 2xx/303-to-the-page may change anything). */
  done?: () => Promise<boolean>;
  /** For console rows: the sponsor a signed-in sponsor belongs to ("own sponsor"). */
  sponsorId?: number;
}

interface Endpoint<K extends Who = Who> {
  name: string;
  /** Builds the request, creating what it needs; `where` picks the own or the other street/sponsor. */
  call: (w: World, where: Where) => Promise<Call>;
  expect: Record<K, Status | [Status, Status]>;
}

/** The rows of a table: one per caller and (where it matters) per own/other. */
function rowsOf<K extends Who>(e: Endpoint<K>): { who: K; where: Where; status: Status }[] {
  return (Object.entries(e.expect) as [K, Status | [Status, Status]][]).flatMap(([who, s]) =>
    Array.isArray(s) ? [{ who, where: 'own' as Where, status: s[0] }, { who, where: 'other' as Where, status: s[1] }] : [{ who, where: 'own' as Where, status: s }]);
}

const label = <K extends Who>(who: K, where: Where, e: Endpoint<K>) => {
  const pair = Array.isArray(e.expect[who]);
  return pair ? `${who} (${where})` : who;
};
const describeStatus = (s: Status) => (s === 'login' ? '303 to /login' : String(s));

/** Asserts the status (and, for 303, where it goes: the sign-in page or not). */
function expectStatus(res: Response, want: Status, cell: string): void {
  if (want === 'login') {
    expect(res.status, `${cell}: status`).to.equal(303);
    expect(res.headers.location, `${cell}: redirect`).to.match(/^\/login(\?|$)/);
    return;
  }
  expect(res.status, `${cell}: ${res.status} ${res.text?.slice(0, 200)}`).to.equal(want);
  if (want === 303) expect(res.headers.location, `${cell}: redirect`).not.to.match(/^\/login/);
  if (want === 403 && /json/.test(String(res.headers['content-type']))) expect(res.body.error?.code, `${cell}: error code`).to.equal('forbidden');
}

const isDone = (s: Status) => s !== 'login' && ((s >= 200 && s < 300) || s === 303);

// ---------------------------------------------------------------- API (Bearer tokens)

const campaignBody = (streetId: number, over: Record<string, unknown> = {}) => ({
  slug: `c-${uniq()}`, title: '困境儿童居住空间改造', story: '', goal: 5_000_000, street: streetId, status: 'draft',
  starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString(), ...over,
});

const grantBody = () => ({
  sponsor: { name: `赞助方-${uniq()}`, kind: 'foundation' }, budget: 1_000_000, currency: 'CNY', scope: { all: true },
  starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString(), rules: {},
});

const streetOf = (w: World, where: Where) => (where === 'own' ? w.own : w.other).streetId;
const statusOf = async (slug: string) => (await h().db('campaigns').where({ slug }).first('status')).status as string;

/** A paid donation in a street's live campaign. */
async function paidDonation(streetId: number): Promise<string> {
  const campaign = await fakeCampaign({ streetId });
  const gift = await give(campaign.slug, 5000);
  await pay(gift.id);
  return gift.id;
}

const API: Endpoint<ApiCaller>[] = [
  {
    name: 'POST /api/campaigns (a draft)',
    async call(w, where) {
      const body = campaignBody(streetOf(w, where));
      return { method: 'post', path: '/api/campaigns', body, done: async () => Boolean(await h().db('campaigns').where({ slug: body.slug }).first()) };
    },
    expect: { anonymous: 401, association_admin: [201, 201], association_finance: 403, street_officer: [201, 403], social_org: 403, reviewer: 403, auditor: 403, sponsor: 403 },
  },
  {
    name: 'POST /api/campaigns/:slug/transition {to: review}',
    async call(w, where) {
      const c = await fakeCampaign({ status: 'draft', streetId: streetOf(w, where) });
      return { method: 'post', path: `/api/campaigns/${c.slug}/transition`, body: { to: 'review' }, done: async () => (await statusOf(c.slug)) === 'review' };
    },
    expect: { anonymous: 401, association_admin: [200, 200], association_finance: 403, street_officer: [200, 403], social_org: 403, reviewer: 403, auditor: 403, sponsor: 403 },
  },
  {
    name: 'POST /api/campaigns/:slug/transition {to: live} (publishing)',
    async call(w, where) {
      const c = await fakeCampaign({ status: 'draft', streetId: streetOf(w, where) });
      await h().c.campaigns.transition(SYSTEM_PRINCIPAL, c.slug, 'review');
      return { method: 'post', path: `/api/campaigns/${c.slug}/transition`, body: { to: 'live' }, done: async () => (await statusOf(c.slug)) === 'live' };
    },
    expect: { anonymous: 401, association_admin: [200, 200], association_finance: 403, street_officer: [403, 403], social_org: 403, reviewer: 403, auditor: 403, sponsor: 403 },
  },
  {
    name: 'POST /api/grants',
    async call() {
      const body = grantBody();
      return { method: 'post', path: '/api/grants', body, done: async () => Boolean(await h().db('sponsors').where({ name: body.sponsor.name }).first()) };
    },
    expect: { anonymous: 401, association_admin: 201, association_finance: 403, street_officer: 403, social_org: 403, reviewer: 403, auditor: 403, sponsor: 403 },
  },
  {
    name: 'GET /api/ledger/trial-balance',
    call: async () => ({ method: 'get', path: '/api/ledger/trial-balance' }),
    expect: { anonymous: 401, association_admin: 200, association_finance: 200, street_officer: 403, social_org: 403, reviewer: 403, auditor: 200, sponsor: 403 },
  },
  {
    name: 'GET /api/approvals',
    call: async () => ({ method: 'get', path: '/api/approvals' }),
    expect: { anonymous: 401, association_admin: 200, association_finance: 200, street_officer: 403, social_org: 403, reviewer: 403, auditor: 200, sponsor: 403 },
  },
  {
    name: 'GET /api/risk/holds',
    call: async () => ({ method: 'get', path: '/api/risk/holds' }),
    expect: { anonymous: 401, association_admin: 200, association_finance: 200, street_officer: 403, social_org: 403, reviewer: 403, auditor: 200, sponsor: 403 },
  },
  {
    name: 'POST /api/donations/:id/refunds (a paid donation)',
    async call(w, where) {
      const id = await paidDonation(streetOf(w, where));
      return { method: 'post', path: `/api/donations/${id}/refunds`, body: {}, done: async () => Boolean(await h().db('approvals').where({ kind: 'refund', subject_id: id }).first()) };
    },
    expect: { anonymous: 401, association_admin: 202, association_finance: 202, street_officer: [403, 403], social_org: 403, reviewer: 403, auditor: 403, sponsor: 403 },
  },
  {
    name: 'POST /api/organisations',
    async call() {
      const name = `社会组织-${uniq()}`;
      return { method: 'post', path: '/api/organisations', body: { name }, done: async () => Boolean(await h().db('organisations').where({ name }).first()) };
    },
    expect: { anonymous: 401, association_admin: 201, association_finance: 403, street_officer: 403, social_org: 403, reviewer: 403, auditor: 403, sponsor: 403 },
  },
  {
    // README: drafts are shown to admin, finance and auditor only; to anyone else a draft does not exist.
    name: 'GET /api/grants/:id (a draft)',
    async call() {
      const g = await fakeGrant({ activate: false });
      return { method: 'get', path: `/api/grants/${g.id}` };
    },
    expect: { anonymous: 404, association_admin: 200, association_finance: 200, street_officer: 404, social_org: 404, reviewer: 404, auditor: 200, sponsor: 404 },
  },
];

describe('authorization through HTTP', () => {
  let w: World;
  beforeEach(async () => {
    await resetDb();
    w = { own: await fakeStreet(), other: await fakeStreet() };
  });

  describe('API with Bearer tokens', () => {
    for (const e of API) {
      describe(e.name, () => {
        for (const { who, where, status } of rowsOf(e)) {
          it(`when ${label(who, where, e)} calls it, then ${describeStatus(status)}`, async () => {
            const call = await e.call(w, where);
            const token = who === 'anonymous' ? null : await tokenFor(who, who === 'street_officer' ? w.own.streetId : undefined);

            const req = call.method === 'get' ? h().api().get(call.path) : h().api().post(call.path).send(call.body ?? {});
            const res = await (token ? req.set('Authorization', `Bearer ${token}`) : req);

            const cell = `${e.name} × ${label(who, where, e)}`;
            expectStatus(res, status, cell);
            if (call.done) expect(await call.done(), `${cell}: the write took effect`).to.equal(isDone(status));
          });
        }
      });
    }

    it('when a staff member with an API token becomes a resident, then the token is refused (401)', async () => {
      const user = await fakeUser('auditor');
      const { token } = await h().c.auth.issueToken({ userId: user.id, label: 'mine' });
      await h().api().get('/api/approvals').set('Authorization', `Bearer ${token}`).expect(200);

      await h().c.auth.updateUser(user.id, { role: 'resident' });

      await h().api().get('/api/approvals').set('Authorization', `Bearer ${token}`).expect(401);
    });

    it('when a staff member\'s role changes, then their API token acts with the new role at once', async () => {
      const user = await fakeUser('auditor');
      const { token } = await h().c.auth.issueToken({ userId: user.id, label: 'mine' });
      await h().api().get('/api/ledger/trial-balance').set('Authorization', `Bearer ${token}`).expect(200);

      await h().c.auth.updateUser(user.id, { role: 'reviewer' });

      await h().api().get('/api/ledger/trial-balance').set('Authorization', `Bearer ${token}`).expect(403);
    });

    it('when a staff member is disabled, then their API token stops working at once (401)', async () => {
      const user = await fakeUser('auditor');
      const { token } = await h().c.auth.issueToken({ userId: user.id, label: 'mine' });
      await h().api().get('/api/approvals').set('Authorization', `Bearer ${token}`).expect(200);

      await h().c.auth.updateUser(user.id, { disabled: true });

      await h().api().get('/api/approvals').set('Authorization', `Bearer ${token}`).expect(401);
    });
  });

  // ---------------------------------------------------------------- console (sessions)

  /** A browser signed in as a new user of the role (TOTP for admin and finance), or an anonymous one. */
  async function session(who: Who, bind: { sponsorId?: number } = {}) {
    if (who === 'anonymous') {
      const b = browser();
      await b.get('/login');
      return b;
    }
    const mfa = who === 'association_admin' || who === 'association_finance';
    const user = await fakeUser(who, { streetId: who === 'street_officer' ? w.own.streetId : undefined, sponsorId: bind.sponsorId, password: PASSWORD, totpSecret: mfa ? SECRET : undefined });
    return signIn(user.email, PASSWORD, mfa ? () => totp.now(SECRET) : undefined);
  }

  /** Two grants of two sponsors; the signed-in sponsor belongs to the first. */
  async function twoSponsorsGrants() {
    const mine = await fakeGrant({ sponsor: `我方赞助-${uniq()}` });
    const theirs = await fakeGrant({ sponsor: `他方赞助-${uniq()}` });
    return { mine, theirs };
  }

  const STAFF_READERS = { association_admin: 200, association_finance: 200, auditor: 200 } as const;
  const page = (path: string): Endpoint['call'] => async () => ({ method: 'get', path });

  const CONSOLE: Endpoint[] = [
    {
      name: 'GET /console',
      call: page('/console'),
      expect: { anonymous: 'login', resident: 403, association_admin: 200, association_finance: 200, street_officer: 200, social_org: 200, reviewer: 200, auditor: 200, sponsor: 200 },
    },
    {
      name: 'GET /console/campaigns',
      call: page('/console/campaigns'),
      expect: { anonymous: 'login', resident: 403, ...STAFF_READERS, street_officer: 200, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /console/campaigns/:slug (a draft)',
      async call(world, where) {
        const c = await fakeCampaign({ status: 'draft', streetId: streetOf(world, where) });
        return { method: 'get', path: `/console/campaigns/${c.slug}` };
      },
      expect: { anonymous: 'login', resident: 403, association_admin: [200, 200], association_finance: 200, auditor: 200, street_officer: [200, 403], social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /console/grants',
      call: page('/console/grants'),
      expect: { anonymous: 'login', resident: 403, ...STAFF_READERS, street_officer: 403, social_org: 403, reviewer: 403, sponsor: 200 },
    },
    {
      name: 'GET /console/grants/:id (own sponsor vs another sponsor)',
      async call(_world, where) {
        const { mine, theirs } = await twoSponsorsGrants();
        return { method: 'get', path: `/console/grants/${(where === 'own' ? mine : theirs).id}`, sponsorId: mine.sponsor_id };
      },
      expect: { anonymous: 'login', resident: 403, association_admin: [200, 200], association_finance: 200, auditor: 200, street_officer: 404, social_org: 404, reviewer: 404, sponsor: [200, 404] },
    },
    {
      name: 'GET /console/donations',
      call: page('/console/donations'),
      expect: { anonymous: 'login', resident: 403, ...STAFF_READERS, street_officer: 200, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /console/approvals',
      call: page('/console/approvals'),
      expect: { anonymous: 'login', resident: 403, ...STAFF_READERS, street_officer: 403, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /console/risk',
      call: page('/console/risk'),
      expect: { anonymous: 'login', resident: 403, ...STAFF_READERS, street_officer: 403, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /console/geo',
      call: page('/console/geo'),
      expect: { anonymous: 'login', resident: 403, ...STAFF_READERS, street_officer: 200, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /console/users',
      call: page('/console/users'),
      expect: { anonymous: 'login', resident: 403, association_admin: 200, association_finance: 403, auditor: 200, street_officer: 403, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /console/audit',
      call: page('/console/audit'),
      expect: { anonymous: 'login', resident: 403, ...STAFF_READERS, street_officer: 403, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      name: 'GET /admin/queues',
      call: page('/admin/queues'),
      expect: { anonymous: 'login', resident: 403, association_admin: 200, association_finance: 403, auditor: 403, street_officer: 403, social_org: 403, reviewer: 403, sponsor: 403 },
    },
    {
      // A machine endpoint (README: the metrics token, or an admin session): no sign-in redirect, and
      // whoever is not an admin is answered 401 as if unauthenticated (security.test.ts pins this too).
      name: 'GET /metrics',
      call: page('/metrics'),
      expect: { anonymous: 401, resident: 401, association_admin: 200, association_finance: 401, auditor: 401, street_officer: 401, social_org: 401, reviewer: 401, sponsor: 401 },
    },
    {
      name: 'POST /console/campaigns/:slug/transition {to: review}',
      async call(world, where) {
        const c = await fakeCampaign({ status: 'draft', streetId: streetOf(world, where) });
        return { method: 'post', path: `/console/campaigns/${c.slug}/transition`, body: { to: 'review' }, done: async () => (await statusOf(c.slug)) === 'review' };
      },
      expect: { anonymous: 'login', resident: 403, association_admin: [303, 303], association_finance: 403, auditor: 403, street_officer: [303, 403], social_org: 403, reviewer: 403, sponsor: 403 },
    },
  ];

  describe('console pages with a signed-in session', () => {
    for (const e of CONSOLE) {
      describe(e.name, () => {
        for (const { who, where, status } of rowsOf(e)) {
          it(`when ${label(who, where, e)} asks, then ${describeStatus(status)}`, async () => {
            const call = await e.call(w, where);
            const b = await session(who, { sponsorId: who === 'sponsor' ? call.sponsorId : undefined });

            const res = call.method === 'get' ? await b.get(call.path) : await b.post(call.path, Object.fromEntries(Object.entries(call.body ?? {}).map(([k, v]) => [k, String(v)])));

            const cell = `${e.name} × ${label(who, where, e)}`;
            expectStatus(res, status, cell);
            if (status === 'login') expect(res.headers.location, `${cell}: comes back after sign-in`).to.equal(`/login?next=${encodeURIComponent(call.path)}`);
            if (call.done) expect(await call.done(), `${cell}: the write took effect`).to.equal(isDone(status));
          });
        }
      });
    }

    it('when an admin has given the password but not yet the TOTP code, then console pages are not open to them', async () => {
      const admin = await fakeUser('association_admin', { password: PASSWORD, totpSecret: SECRET });
      const b = browser();
      const first = await b.post('/login', { email: admin.email, password: PASSWORD }, '/login');
      expect(first.headers.location).to.match(/^\/login\/totp/);

      const res = await b.get('/console/audit');

      expect(res.status).to.equal(303);
      expect(res.headers.location).to.match(/^\/login/);
    });

    it('when a signed-in street officer is made an admin, then the console asks for a TOTP code before anything else', async () => {
      const user = await fakeUser('street_officer', { streetId: w.own.streetId, password: PASSWORD });
      const b = await signIn(user.email, PASSWORD);
      expect((await b.get('/console')).status).to.equal(200);

      await h().c.auth.updateUser(user.id, { role: 'association_admin' });
      const res = await b.get('/console/audit');

      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal('/login/totp');
    });

    it('when a sponsor lists grants, then it sees its own sponsor\'s grants and not another sponsor\'s', async () => {
      const { mine, theirs } = await twoSponsorsGrants();
      const b = await session('sponsor', { sponsorId: mine.sponsor_id });

      const res = await b.get('/console/grants');

      expect(res.status).to.equal(200);
      expect(res.text).to.include(`/console/grants/${mine.id}"`);
      expect(res.text).not.to.include(`/console/grants/${theirs.id}"`);
    });

    it('when a sponsor\'s grant is older than twenty other sponsors\' grants, then the sponsor still finds it in its grant list', async () => {
      const mine = await fakeGrant({ sponsor: `我方赞助-${uniq()}` });
      for (let i = 0; i < 20; i++) await fakeGrant({ sponsor: `他方赞助-${i}-${uniq()}`, activate: false });
      const b = await session('sponsor', { sponsorId: mine.sponsor_id });

      const res = await b.get('/console/grants');

      expect(res.status).to.equal(200);
      expect(res.text, 'the sponsor\'s only grant is on its first page').to.include(`/console/grants/${mine.id}"`);
    });

    it('when a street officer lists campaigns, then only its own street\'s campaigns (drafts included) are there, even when it asks for another street', async () => {
      const mine = await fakeCampaign({ status: 'draft', streetId: w.own.streetId, title: '本街道的草稿' });
      const theirs = await fakeCampaign({ status: 'live', streetId: w.other.streetId, title: '别的街道项目' });
      const b = await session('street_officer');

      const all = await b.get('/console/campaigns');
      const asked = await b.get(`/console/campaigns?street=${w.other.streetId}`);

      expect(all.status).to.equal(200);
      expect(all.text).to.include(mine.slug);
      expect(all.text).not.to.include(theirs.slug);
      expect(asked.text).not.to.include(theirs.slug);
    });

    it('when a signed-in street officer is disabled, then the next console request sends them to sign in', async () => {
      const user = await fakeUser('street_officer', { streetId: w.own.streetId, password: PASSWORD });
      const b = await signIn(user.email, PASSWORD);
      expect((await b.get('/console')).status).to.equal(200);

      await h().c.auth.updateUser(user.id, { disabled: true });
      const res = await b.get('/console');

      expect(res.status).to.equal(303);
      expect(res.headers.location).to.match(/^\/login/);
    });
  });
});
