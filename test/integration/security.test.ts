import { expect } from 'chai';
import express from 'express';
import supertest from 'supertest';
import { errorHandler } from '../../server/http/middleware/error-handler.js';
import { donationRateLimit } from '../../server/http/middleware/rate-limit.js';
import { i18n } from '../../server/http/middleware/i18n.js';
import { totp } from '../../server/modules/auth/index.js';
import { resetDb, waitFor } from '../helpers/db.js';
import { fakeCampaign, fakeUser, tokenFor } from '../helpers/factories.js';
import { browser, csrfOf, signIn } from '../helpers/forms.js';
import { h } from '../helpers/harness.js';
import { expectSettledLedgerHealthy } from '../helpers/ledger.js';
import { fakeGrant, give, pay } from '../helpers/matching.js';

const PASSWORD = 'correct-horse-battery';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const sid = (res: { headers: Record<string, unknown> }) => String(res.headers['set-cookie'] ?? '').match(/shanhui\.sid=([^;]+)/)?.[1];

describe('security', () => {
  beforeEach(resetDb);

  describe('four eyes', () => {
    afterEach(expectSettledLedgerHealthy);

    it('when finance asks for a refund, then the same person cannot approve it; a second person can, and only then money moves', async () => {
      const c = await fakeCampaign();
      const d = await give(c.slug, 5000);
      await pay(d.id);
      const [asker, other] = [await tokenFor('association_finance'), await tokenFor('association_finance')];
      const asked = await h().api().post(`/api/donations/${d.id}/refunds`).set('Authorization', `Bearer ${asker}`).send({}).expect(202);
      expect(asked.body).to.include({ status: 'pending_approval', amount: 5000 });
      const self = await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${asker}`).send({}).expect(403);
      expect(self.body.error.message).to.match(/四眼|four eyes/i);
      expect((await h().db('sandbox_payments').where({ donation_id: d.id }).first()).refunds).to.deep.equal([]);
      const again = await h().api().post(`/api/donations/${d.id}/refunds`).set('Authorization', `Bearer ${other}`).send({}).expect(409);
      expect(again.body.error.code).to.equal('approval_pending');
      await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${other}`).send({}).expect(200);
      await waitFor(async () => (await h().db('donations').where({ id: d.id }).first()).status === 'refunded', 'refunded');
    });

    it('when an approval is rejected, then nothing is carried out', async () => {
      const c = await fakeCampaign();
      const d = await give(c.slug, 5000);
      await pay(d.id);
      const [asker, other] = [await tokenFor('association_finance'), await tokenFor('association_admin')];
      const asked = await h().api().post(`/api/donations/${d.id}/refunds`).set('Authorization', `Bearer ${asker}`).send({ amount: 1000 }).expect(202);
      const res = await h().api().post(`/api/approvals/${asked.body.approval_id}/reject`).set('Authorization', `Bearer ${other}`).send({ note: '重复申请' }).expect(200);
      expect(res.body).to.include({ status: 'rejected', note: '重复申请' });
      await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${other}`).send({}).expect(409);
      expect((await h().db('sandbox_payments').where({ donation_id: d.id }).first()).refunds).to.deep.equal([]);
    });

    it('when an adjusting journal is requested, then it posts only after a second person approves', async () => {
      const c = await fakeCampaign();
      const d = await give(c.slug, 5000);
      await pay(d.id);
      const [asker, other] = [await tokenFor('association_finance'), await tokenFor('association_finance')];
      const fund = (await h().db('ledger_accounts').where('code', 'like', 'fund:%:pool:donations:CNY').first('code')).code;
      const body = { debit: `campaign:${c.id}:donations:CNY`, credit: fund, amount: 1200, memo: '调往购买服务资金池' };
      const asked = await h().api().post('/api/ledger/adjustments').set('Authorization', `Bearer ${asker}`).send(body).expect(202);
      expect(await h().db('ledger_journals').where({ kind: 'adjustment' })).to.have.length(0);
      await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${asker}`).send({}).expect(403);
      await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${other}`).send({}).expect(200);
      const [j] = await h().db('ledger_journals').where({ kind: 'adjustment' });
      expect(j.memo).to.equal('调往购买服务资金池');
      const bad = await h().api().post('/api/ledger/adjustments').set('Authorization', `Bearer ${asker}`).send({ ...body, credit: 'fund:999:pool:donations:CNY' }).expect(400);
      expect(bad.body.error.fields).to.have.property('credit');
    });

    it('when someone writes a self-approval straight into the database, then the CHECK refuses it', async () => {
      const u = await fakeUser('association_finance');
      const [a] = await h().db('approvals').insert({ kind: 'refund', subject_type: 'donation', subject_id: 'x', requested_by: u.id }).returning('id');
      let err: unknown;
      try {
        await h().db('approvals').where({ id: a.id }).update({ status: 'approved', decided_by: u.id, decided_at: new Date() });
      } catch (e) {
        err = e;
      }
      expect((err as { constraint?: string })?.constraint).to.equal('approvals_four_eyes');
    });
  });

  describe('sign-in', () => {
    it('when the password is wrong five times, then the account is locked even for the right password, and a 429 page says so', async () => {
      const u = await fakeUser('street_officer', { password: PASSWORD });
      for (let i = 0; i < 5; i++) expect((await browser().post('/login', { email: u.email, password: 'wrong-password-1' }, '/login')).status).to.equal(401);
      const locked = await browser().post('/login', { email: u.email, password: PASSWORD }, '/login');
      expect(locked.status).to.equal(429);
      expect(locked.text).to.match(/分钟后再试/);
      const other = await fakeUser('street_officer', { password: PASSWORD });
      expect((await browser().post('/login', { email: other.email, password: PASSWORD }, '/login')).status, 'other accounts are unaffected').to.equal(303);
      const keys = await h().c.redis.keys(`${h().config.REDIS_PREFIX}:login:*`);
      await h().c.redis.del(...keys);
    });

    it('when someone signs in, then the session id is new (no fixation) and the old one is worthless', async () => {
      const u = await fakeUser('street_officer', { password: PASSWORD });
      const b = browser();
      await b.get('/login');
      const first = await b.post('/login', { email: u.email, password: 'not-the-password' }, '/login');
      const before = sid(first);
      const ok = await b.post('/login', { email: u.email, password: PASSWORD }, '/login');
      const after = sid(ok);
      expect(after).to.be.a('string');
      expect(after).to.not.equal(before);
      const planted = await supertest(h().url).get('/console').set('Cookie', `shanhui.sid=${before ?? 'planted-by-attacker'}`);
      expect(planted.status, 'a pre-login session id does not sign anyone in').to.equal(303);
      expect((await b.get('/console')).status).to.equal(200);
      await b.post('/logout', {}, '/console');
      expect((await b.get('/console')).status, 'signed out').to.equal(303);
    });

    it('when an admin signs in, then the console waits for a TOTP code; a wrong code is refused and the right one lets them in', async () => {
      const u = await fakeUser('association_admin', { password: PASSWORD, totpSecret: SECRET });
      const b = browser();
      const first = await b.post('/login', { email: u.email, password: PASSWORD }, '/login');
      expect(first.headers.location).to.match(/^\/login\/totp/);
      expect((await b.get('/console')).status, 'no console before the second factor').to.equal(303);
      const wrong = String((Number(totp.now(SECRET)) + 1) % 1_000_000).padStart(6, '0');
      expect((await b.post('/login/totp', { code: wrong }, '/login/totp')).status).to.equal(422);
      const code = totp.now(SECRET);
      expect((await b.post('/login/totp', { code }, '/login/totp')).status).to.equal(303);
      expect((await b.get('/console')).status).to.equal(200);
      const replay = browser();
      await replay.post('/login', { email: u.email, password: PASSWORD }, '/login');
      expect((await replay.post('/login/totp', { code }, '/login/totp')).status, 'a code works once').to.equal(422);
    });

    it('when an admin without TOTP signs in, then they must enrol first; the secret shown is saved once a code matches', async () => {
      const u = await fakeUser('association_finance', { password: PASSWORD });
      const b = browser();
      await b.post('/login', { email: u.email, password: PASSWORD }, '/login');
      const page = await b.get('/login/totp');
      const secret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(page.text)?.[1];
      expect(secret, 'the enrolment shows a secret and a QR code').to.be.a('string');
      expect(page.text).to.include('<svg');
      expect((await b.post('/login/totp', { code: totp.now(secret!) })).status).to.equal(303);
      const saved = await h().db('users').where({ id: u.id }).first();
      expect(saved.totp_secret).to.equal(secret);
      expect(saved.totp_enabled_at).to.not.equal(null);
    });

    it('when an invitation link is used, then it creates the user once; a second use is refused', async () => {
      const admin = await fakeUser('association_admin');
      const token = await h().c.auth.invite(admin.id, { email: 'new.officer@example.com', displayName: '新干事', role: 'street_officer', street_id: (await fakeCampaign()).street_id });
      const b = browser();
      expect((await b.get(`/invite/${token}`)).status).to.equal(200);
      expect((await b.post(`/invite/${token}`, { password: 'short', confirm: 'short' })).status).to.equal(422);
      expect((await b.post(`/invite/${token}`, { password: PASSWORD, confirm: PASSWORD }, `/invite/${token}`)).status).to.equal(303);
      expect((await browser().get(`/invite/${token}`)).status).to.equal(410);
      expect((await signIn('new.officer@example.com', PASSWORD).then((x) => x.get('/console'))).status).to.equal(200);
    });
  });

  describe('CSRF', () => {
    it('when a form is posted without its token or with another browser’s token, then 403 and nothing happens', async () => {
      const c = await fakeCampaign();
      const none = await supertest(h().url).post(`/campaigns/${c.slug}/donate`).type('form').send({ amount_preset: '5000' });
      expect(none.status).to.equal(403);
      const victim = browser();
      const page = await victim.get(`/campaigns/${c.slug}/donate`);
      const stolen = csrfOf(page.text);
      const attacker = browser();
      await attacker.get('/campaigns');
      const forged = await attacker.agent.post(`/campaigns/${c.slug}/donate`).type('form').send({ amount_preset: '5000', _csrf: stolen });
      expect(forged.status).to.equal(403);
      const loginNoToken = await supertest(h().url).post('/login').type('form').send({ email: 'x@example.com', password: 'whatever-long' });
      expect(loginNoToken.status).to.equal(403);
      expect(Number((await h().db('donations').count({ n: '*' }))[0].n)).to.equal(0);
      expect((await victim.post(`/campaigns/${c.slug}/donate`, { amount_preset: '5000' })).status, 'the right browser with its token succeeds').to.equal(303);
    });
  });

  describe('operations', () => {
    it('when one address starts more donations than allowed in a minute, then 429 with Retry-After', async () => {
      const app = express().use(i18n()).post('/api/d', donationRateLimit({ redis: h().c.redis, prefix: `rl-test-${Date.now()}`, perMinute: 3 }), (_req, res) => res.status(201).json({ ok: true })).use(errorHandler);
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await supertest(app).post('/api/d')).status);
      expect(statuses).to.deep.equal([201, 201, 201, 429, 429]);
      const res = await supertest(app).post('/api/d');
      expect(res.body.error.code).to.equal('rate_limited');
      expect(Number(res.headers['retry-after'])).to.be.within(1, 60);
    });

    it('when /metrics is asked for, then only the metrics token or an admin session gets Prometheus text', async () => {
      await h().api().get('/metrics').expect(401);
      await h().api().get('/metrics').set('Authorization', 'Bearer not-the-metrics-token-value').expect(401);
      const officer = await signIn((await fakeUser('street_officer', { password: PASSWORD })).email, PASSWORD);
      expect((await officer.get('/metrics')).status).to.equal(401);
      const admin = await signIn((await fakeUser('association_admin', { password: PASSWORD, totpSecret: SECRET })).email, PASSWORD, () => totp.now(SECRET));
      const res = await admin.get('/metrics');
      expect(res.status).to.equal(200);
      expect(res.text).to.include('shanhui_http_request_duration_seconds');
      expect(res.text).to.include('shanhui_queue_jobs');
      expect((await admin.get('/admin/queues')).status).to.equal(200);
      expect((await officer.get('/admin/queues')).status).to.equal(403);
    });
  });

  describe('residents', () => {
    it('when a resident registers and gives while signed in, then /me lists the gift with its match', async () => {
      const c = await fakeCampaign();
      await fakeGrant({ campaigns: [c.slug] });
      const b = browser();
      expect((await b.post('/register', { email: 'xiaochen@example.com', display_name: '小陈', password: PASSWORD, confirm: PASSWORD }, '/register')).status).to.equal(303);
      const gift = await b.post(`/campaigns/${c.slug}/donate`, { amount_preset: '5000', anonymous: 'on' }, `/campaigns/${c.slug}/donate`);
      const id = gift.headers.location.split('/').pop()!;
      await pay(id);
      const me = await b.get('/me');
      expect(me.status).to.equal(200);
      expect(me.text).to.include(c.title);
      expect(me.text).to.include('¥50.00');
      const row = await h().db('donations').where({ id }).first();
      expect(row.user_id).to.be.a('number');
      expect((await b.get('/console')).status, 'a resident has no console').to.equal(403);
      expect((await browser().post('/register', { email: 'XiaoChen@example.com', display_name: '另一个', password: PASSWORD, confirm: PASSWORD }, '/register')).status).to.equal(409);
    });
  });
});
