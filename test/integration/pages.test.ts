import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Response } from 'supertest';
import { translate } from '../../server/lib/i18n.js';
import { format } from '../../server/lib/money.js';
import { resetDb, waitFor } from '../helpers/db.js';
import { fakeCampaign } from '../helpers/factories.js';
import { browser } from '../helpers/forms.js';
import { h } from '../helpers/harness.js';

/** The server-rendered pages, through HTTP against the running service (sandbox provider). */

const zh = (key: string, params?: Record<string, string | number>) => translate('zh-CN', key, params);
const en = (key: string, params?: Record<string, string | number>) => translate('en', key, params);

/** EJS's `<%= %>` escaping, to build the exact markup a page must contain. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

async function countRows(table: string): Promise<number> {
  const [{ n }] = await h().db(table).count({ n: '*' });
  return Number(n);
}

/** Creates a donation through the API and pays it through the sandbox; resolves once succeeded. */
async function paidDonation(slug: string, body: Record<string, unknown>): Promise<string> {
  const res = await h().api().post(`/api/campaigns/${slug}/donations`).set('Idempotency-Key', randomUUID()).send({ currency: 'CNY', ...body }).expect(201);
  const id = res.body.id as string;
  await h().c.sandbox!.complete(id, 'succeed');
  await waitFor(async () => (await h().db('donations').where({ id }).first('status'))?.status === 'succeeded', `donation ${id} succeeded`);
  return id;
}

/** Polls a page until `ok(text)` holds (live totals reach the Redis cache within one coalescing window). */
async function pageWhen(path: string, ok: (text: string) => boolean, what: string): Promise<string> {
  return waitFor(async () => {
    const res = await h().api().get(path);
    return res.status === 200 && ok(res.text) ? res.text : undefined;
  }, what, 5000);
}

/** The public "recent donations" list of a campaign page. */
function recentList(html: string): string {
  const m = /<ul class="recent"[^>]*>([\s\S]*?)<\/ul>/.exec(html);
  expect(m, 'recent donations list').to.not.equal(null);
  return m![1];
}

const raisedFigure = (html: string) => /<strong data-role="raised">([^<]*)<\/strong>/.exec(html)?.[1];
const donorsFigure = (html: string) => /<strong data-role="donors">([^<]*)<\/strong>/.exec(html)?.[1];

/** POSTs the donate form as a browser would. */
function submitForm(slug: string, fields: Record<string, string>, query = '') {
  return browser().post(`/campaigns/${slug}/donate${query}`, fields, `/campaigns/${slug}/donate${query}`);
}

/** Awaits a response and asserts its status, returning it. */
async function expectStatus(pending: Promise<Response>, status: number): Promise<Response> {
  const res = await pending;
  expect(res.status, res.text?.slice(0, 300)).to.equal(status);
  return res;
}

/** Chooses success or failure on the sandbox checkout page, as the donor's browser would. */
function sandboxCheckout(id: string, outcome: 'succeed' | 'fail') {
  return browser().post(`/sandbox/checkout/${id}`, { outcome }, `/sandbox/checkout/${id}`);
}

describe('pages', () => {
  beforeEach(resetDb);

  describe('campaign list and campaign page', () => {
    it('when a live campaign has paid donations, then the list and its page show raised and goal in ¥ with two decimals, the donor count and the test-mode banner', async () => {
      const c = await fakeCampaign({ title: '困境儿童书桌', goal: 1_234_567 });
      await Promise.all([paidDonation(c.slug, { amount: 5000 }), paidDonation(c.slug, { amount: 1234 })]);

      const list = await pageWhen('/campaigns', (t) => raisedFigure(t) === '¥62.34', 'list shows ¥62.34');
      expect(list).to.include('困境儿童书桌');
      expect(list).to.include(`href="/campaigns/${c.slug}"`);
      expect(list).to.include('¥12,345.67');
      expect(donorsFigure(list)).to.equal('2');
      expect(list).to.include(`<div class="test-banner" role="status">${zh('test_mode.banner')}</div>`);

      const root = await h().api().get('/').expect(200);
      expect(raisedFigure(root.text)).to.equal('¥62.34');

      const page = await h().api().get(`/campaigns/${c.slug}`).expect(200).expect('Content-Type', /text\/html/);
      expect(raisedFigure(page.text)).to.equal('¥62.34');
      expect(page.text).to.include(`${zh('campaigns.goal')} ¥12,345.67`);
      expect(donorsFigure(page.text)).to.equal('2');
      expect(page.text).to.include(zh('test_mode.banner'));
      const recent = recentList(page.text);
      expect(recent).to.include('<span>¥50.00</span>');
      expect(recent).to.include('<span>¥12.34</span>');
    });

    it('when a campaign has no donations, then its page shows ¥0.00 raised and 0 donors', async () => {
      const c = await fakeCampaign({ goal: 500_000 });
      const page = await h().api().get(`/campaigns/${c.slug}`).expect(200);
      expect(raisedFigure(page.text)).to.equal('¥0.00');
      expect(donorsFigure(page.text)).to.equal('0');
      expect(page.text).to.include('¥5,000.00');
      expect(recentList(page.text)).to.include(zh('campaigns.recent_empty'));
    });
  });

  describe('language', () => {
    it('when ?lang=en is given, then the page is English and a lang cookie remembers it', async () => {
      const c = await fakeCampaign();
      const res = await h().api().get(`/campaigns/${c.slug}?lang=en`).expect(200);
      expect(res.text).to.include('<html lang="en">');
      expect(res.text).to.include(`>${en('campaigns.donate')}</a>`);
      expect(en('campaigns.donate')).to.equal('Donate');
      expect(res.text).to.not.include(zh('campaigns.donate'));
      expect(res.headers['content-language']).to.equal('en');
      const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      expect(cookies.some((v) => /^lang=en;/.test(v)), cookies.join(' | ')).to.equal(true);

      const again = await h().api().get(`/campaigns/${c.slug}`).set('Cookie', 'lang=en').expect(200);
      expect(again.text).to.include('<html lang="en">');
      expect(again.text).to.include(`>Donate</a>`);
    });

    it('when the browser sends Accept-Language en-US,en;q=0.9, then the page is English', async () => {
      const c = await fakeCampaign();
      const res = await h().api().get(`/campaigns/${c.slug}`).set('Accept-Language', 'en-US,en;q=0.9').expect(200);
      expect(res.text).to.include('<html lang="en">');
      expect(res.text).to.include('>Donate</a>');
      expect(res.text).to.include(en('test_mode.banner'));
    });

    it('when no language is asked for, then the page is zh-CN', async () => {
      const c = await fakeCampaign();
      const res = await h().api().get(`/campaigns/${c.slug}`).expect(200);
      expect(res.text).to.include('<html lang="zh-CN">');
      expect(res.text).to.include(`>${zh('campaigns.donate')}</a>`);
      expect(res.text).to.not.include('>Donate</a>');
      expect(res.headers['content-language']).to.equal('zh-CN');
      expect(String(res.headers['set-cookie'] ?? '')).to.not.include('lang=');
    });
  });

  describe('donate form', () => {
    it('when the donate form is opened, then it renders with presets and a fresh idempotency key', async () => {
      const c = await fakeCampaign();
      const res = await h().api().get(`/campaigns/${c.slug}/donate`).expect(200);
      expect(res.text).to.include(`action="/campaigns/${c.slug}/donate"`);
      expect(res.text).to.match(new RegExp(`name="idempotency_key" value="${UUID}"`));
      expect(res.text).to.include('value="5000" checked');
      expect(res.text).to.include('¥50.00');
      expect(res.text).to.include(zh('donate.submit'));
    });

    const max = () => format(h().config.DONATION_MAX_AMOUNT);
    const badAmounts: { typed: string; message: () => string }[] = [
      { typed: 'abc', message: () => zh('validation.amount_format') },
      { typed: '0', message: () => zh('validation.amount_min', { min_money: '¥1.00' }) },
      { typed: '-5', message: () => zh('validation.amount_format') },
      { typed: '1.234', message: () => zh('validation.amount_format') },
      { typed: '99999999', message: () => zh('validation.amount_max', { max_money: max() }) },
    ];
    for (const bad of badAmounts) {
      it(`when the typed amount is '${bad.typed}', then the form comes back 422 with an amount error and the values, and nothing is stored`, async () => {
        const c = await fakeCampaign();
        const res = await submitForm(c.slug, { amount_yuan: bad.typed, name: '王阿姨', message: '加油', idempotency_key: randomUUID() });
        expect(res.status).to.equal(422);
        expect(res.text).to.include(`<p class="field-error">${esc(bad.message())}</p>`);
        expect(res.text).to.include(`name="amount_yuan" value="${esc(bad.typed)}"`);
        expect(res.text).to.include('name="name" value="王阿姨"');
        expect(res.text).to.include('rows="3">加油</textarea>');
        expect(await countRows('donations')).to.equal(0);
        expect(await countRows('sandbox_payments')).to.equal(0);
      });
    }

    it('when the typed amount is invalid in English, then the error is in English', async () => {
      const c = await fakeCampaign();
      const res = await submitForm(c.slug, { amount_yuan: 'abc' }, '?lang=en');
      expect(res.status).to.equal(422);
      expect(res.text).to.include(`<p class="field-error">${esc(en('validation.amount_format'))}</p>`);
    });

    it('when the name contains a script tag, then the form comes back 422 with a name error and the name escaped, and nothing is stored', async () => {
      const c = await fakeCampaign();
      const name = '<script>alert(1)</script>';
      const res = await submitForm(c.slug, { amount_preset: '5000', name, email: 'a@example.com', idempotency_key: randomUUID() });
      expect(res.status).to.equal(422);
      expect(res.text).to.include(`<span class="field-error">${esc(zh('validation.no_markup'))}</span>`);
      expect(res.text).to.not.include('<script>alert(1)</script>');
      expect(res.text).to.include('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
      expect(res.text).to.include('name="email" value="a@example.com"');
      expect(res.text).to.include('value="5000" checked');
      expect(await countRows('donations')).to.equal(0);
    });

    it('when the message contains an img onerror payload, then the form comes back 422 with a message error and the message escaped, and nothing is stored', async () => {
      const c = await fakeCampaign();
      const message = '<img src=x onerror=alert(1)>';
      const res = await submitForm(c.slug, { amount_yuan: '20', message, idempotency_key: randomUUID() });
      expect(res.status).to.equal(422);
      expect(res.text).to.include(`<span class="field-error">${esc(zh('validation.no_markup'))}</span>`);
      expect(res.text).to.not.include('<img src=x');
      expect(res.text).to.include('rows="3">&lt;img src=x onerror=alert(1)&gt;</textarea>');
      expect(res.text).to.include('name="amount_yuan" value="20"');
      expect(await countRows('donations')).to.equal(0);
    });

    it('when the message is too long or a field is repeated, then the right field is named and the other values come back', async () => {
      const c = await fakeCampaign();
      const long = await submitForm(c.slug, { amount_preset: '5000', name: '小王', message: '长'.repeat(1001), idempotency_key: randomUUID() });
      expect(long.status).to.equal(422);
      expect(long.text).to.include(`<span class="field-error">${esc(zh('validation.too_long', { max: 200 }))}</span>`);
      expect(long.text).to.include('name="name" value="小王"');
      expect(long.text).to.include('value="5000" checked');
      expect(long.text).to.not.include(`<p class="field-error">${esc(zh('validation.amount_format'))}</p>`);
      const repeated = await browser().post(`/campaigns/${c.slug}/donate`, 'amount_preset=5000&name=a&name=b&message=%3Cb%3E', `/campaigns/${c.slug}/donate`);
      expect(repeated.status).to.equal(422);
      expect(repeated.text).to.include('name="name" value="a"');
      expect(repeated.text).to.include(`<span class="field-error">${esc(zh('validation.no_markup'))}</span>`);
      expect(await countRows('donations')).to.equal(0);
    });

    it('when a valid form is posted and the sandbox payment succeeds, then the donor lands on a thank-you page that reports success and the campaign total moves', async () => {
      const c = await fakeCampaign({ goal: 1_000_000 });
      const res = await expectStatus(submitForm(c.slug, { amount_yuan: '88.88', anonymous: 'on', idempotency_key: randomUUID() }), 303);
      const m = new RegExp(`^/sandbox/checkout/(${UUID})$`).exec(res.headers.location);
      expect(m, res.headers.location).to.not.equal(null);
      const id = m![1];
      const stored = await h().db('donations').where({ id }).first();
      expect(stored).to.include({ amount_minor: 8888, status: 'pending', anonymous: true });

      const checkout = await h().api().get(`/sandbox/checkout/${id}`).expect(200);
      expect(checkout.text).to.include(zh('test_mode.banner'));
      expect(checkout.text).to.include(zh('sandbox.title'));
      expect(checkout.text).to.include(zh('sandbox.explain'));
      expect(checkout.text).to.include('<strong>¥88.88</strong>');

      const paid = await expectStatus(sandboxCheckout(id, 'succeed'), 303);
      expect(paid.headers.location).to.equal(`/donations/${id}/thanks`);
      await waitFor(async () => (await h().db('donations').where({ id }).first('status'))?.status === 'succeeded', 'donation succeeded');

      const thanks = await h().api().get(`/donations/${id}/thanks`).expect(200);
      const status = /<p class="status status-(\w+)" data-role="status"[^>]*>([^<]*)<\/p>/.exec(thanks.text);
      expect(status?.[1]).to.equal('succeeded');
      expect(status?.[2]).to.equal(zh('thanks.status.succeeded'));
      expect(thanks.text).to.include('<strong>¥88.88</strong>');

      const page = await pageWhen(`/campaigns/${c.slug}`, (t) => raisedFigure(t) === '¥88.88', 'campaign shows ¥88.88');
      expect(donorsFigure(page)).to.equal('1');
    });

    it('when the same form is submitted twice with one idempotency key, then one donation is stored and both go to the same checkout', async () => {
      const c = await fakeCampaign();
      const fields = { amount_preset: '1000', idempotency_key: randomUUID() };
      const first = await expectStatus(submitForm(c.slug, fields), 303);
      const second = await expectStatus(submitForm(c.slug, fields), 303);
      expect(second.headers.location).to.equal(first.headers.location);
      expect(await countRows('donations')).to.equal(1);
    });
  });

  describe('donor names and privacy', () => {
    it('when a donor name stored in the database contains markup, then the campaign page shows it escaped', async () => {
      const c = await fakeCampaign();
      await h().db('donations').insert({
        campaign_id: c.id, amount_minor: 1000, currency: 'CNY', status: 'succeeded', succeeded_at: new Date(),
        donor_name: '<b>x</b>', anonymous: false, message: '<i>hi</i>',
        idempotency_key: `direct-${randomUUID()}`, request_fingerprint: 'direct', provider: 'sandbox',
      });
      const page = await h().api().get(`/campaigns/${c.slug}`).expect(200);
      expect(page.text).to.not.include('<b>x</b>');
      expect(page.text).to.not.include('<i>hi</i>');
      const recent = recentList(page.text);
      expect(recent).to.include('<strong>&lt;b&gt;x&lt;/b&gt;</strong>');
      expect(recent).to.include('<q>&lt;i&gt;hi&lt;/i&gt;</q>');
    });

    it('when a donor gives anonymously with a name, email and phone, then the pages and the API show only 爱心人士 / Caring donor', async () => {
      const c = await fakeCampaign();
      const secret = { name: '张三丰', email: 'secret.donor@example.com', phone: '13800138000' };
      const res = await expectStatus(submitForm(c.slug, { amount_preset: '5000', anonymous: 'on', ...secret, message: '一点心意', idempotency_key: randomUUID() }), 303);
      const id = res.headers.location.split('/').pop()!;
      expect(await h().db('donations').where({ id }).first()).to.include({ donor_email: secret.email, donor_phone: secret.phone, anonymous: true });
      await expectStatus(sandboxCheckout(id, 'succeed'), 303);
      await waitFor(async () => (await h().db('donations').where({ id }).first('status'))?.status === 'succeeded', 'donation succeeded');

      const zhPage = await h().api().get(`/campaigns/${c.slug}`).expect(200);
      expect(recentList(zhPage.text)).to.include(`<strong>${zh('donor.anonymous')}</strong> <span>¥50.00</span>`);
      expect(zh('donor.anonymous')).to.equal('爱心人士');
      const enPage = await h().api().get(`/campaigns/${c.slug}?lang=en`).expect(200);
      expect(recentList(enPage.text)).to.include('<strong>Caring donor</strong> <span>¥50.00</span>');

      const api = await h().api().get(`/api/donations/${id}`).expect(200);
      expect(api.body.donor).to.deep.equal({ display_name: '爱心人士', anonymous: true });
      const thanks = await h().api().get(`/donations/${id}/thanks`).expect(200);
      for (const body of [zhPage.text, enPage.text, JSON.stringify(api.body), thanks.text]) {
        for (const value of Object.values(secret)) expect(body).to.not.include(value);
      }
    });

    it('when a named donor leaves an email and phone, then the name is public but the contact details never are', async () => {
      const c = await fakeCampaign();
      const id = await paidDonation(c.slug, { amount: 2000, donor: { name: 'Named Donor', email: 'named.donor@example.com', phone: '+86 139 0000 1111', anonymous: false } });
      const page = await h().api().get(`/campaigns/${c.slug}`).expect(200);
      expect(recentList(page.text)).to.include('<strong>Named Donor</strong> <span>¥20.00</span>');
      const api = await h().api().get(`/api/donations/${id}`).expect(200);
      expect(api.body.donor).to.deep.equal({ display_name: 'Named Donor', anonymous: false });
      for (const body of [page.text, JSON.stringify(api.body)]) {
        expect(body).to.not.include('named.donor@example.com');
        expect(body).to.not.include('139 0000 1111');
      }
    });
  });

  describe('not found', () => {
    it('when a campaign does not exist, then the page is an HTML 404', async () => {
      const res = await h().api().get('/campaigns/no-such-campaign').set('Accept', 'text/html').expect(404).expect('Content-Type', /text\/html/);
      expect(res.text).to.include('<h1>404</h1>');
      expect(res.text).to.include(zh('errors.not_found'));
      expect(res.text).to.include('<html lang="zh-CN">');
    });

    it('when a campaign is a draft, then its public page is a 404 too', async () => {
      const c = await fakeCampaign({ status: 'draft' });
      await h().api().get(`/campaigns/${c.slug}`).expect(404).expect('Content-Type', /text\/html/);
    });

    it('when a campaign does not exist under /api, then the answer is JSON {error:{code:"not_found",message}}', async () => {
      const res = await h().api().get('/api/campaigns/no-such-campaign').set('Accept', 'text/html').expect(404).expect('Content-Type', /json/);
      expect(res.body.error.code).to.equal('not_found');
      expect(res.body.error.message).to.be.a('string').and.not.equal('');
      const donation = await h().api().get(`/api/donations/${randomUUID()}`).expect(404).expect('Content-Type', /json/);
      expect(donation.body.error.code).to.equal('not_found');
    });
  });

  describe('content security', () => {
    /** Every <script> element of a page, as [attributes, body]. */
    const scripts = (html: string) => [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)].map((m) => ({ attrs: m[1], body: m[2] }));

    function expectNoInlineScript(res: Response, what: string) {
      const found = scripts(res.text);
      expect((res.text.match(/<script\b/gi) ?? []).length, `${what}: every <script> is closed`).to.equal(found.length);
      for (const s of found) {
        expect(s.attrs, `${what}: <script${s.attrs}>`).to.match(/\ssrc="[^"]+"/);
        expect(s.body.trim(), `${what}: script body`).to.equal('');
      }
      const csp = res.headers['content-security-policy'];
      expect(csp, `${what}: CSP header`).to.be.a('string');
      expect(csp).to.match(/script-src 'self'/);
      expect(csp).to.not.include('unsafe-inline');
      return found.length;
    }

    it('when any page is rendered, then it has no inline script and its CSP forbids unsafe-inline', async () => {
      const c = await fakeCampaign();
      const form = await expectStatus(submitForm(c.slug, { amount_preset: '5000', idempotency_key: randomUUID() }), 303);
      const id = form.headers.location.split('/').pop()!;
      const pages: [string, Response][] = [
        ['list', await h().api().get('/campaigns').expect(200)],
        ['campaign', await h().api().get(`/campaigns/${c.slug}`).expect(200)],
        ['donate form', await h().api().get(`/campaigns/${c.slug}/donate`).expect(200)],
        ['donate form errors', await expectStatus(submitForm(c.slug, { amount_yuan: 'x', name: '<script>alert(1)</script>' }), 422)],
        ['sandbox checkout', await h().api().get(`/sandbox/checkout/${id}`).expect(200)],
        ['thanks', await h().api().get(`/donations/${id}/thanks`).expect(200)],
        ['404', await h().api().get('/nowhere').expect(404)],
      ];
      const counts = Object.fromEntries(pages.map(([what, res]) => [what, expectNoInlineScript(res, what)]));
      // The live pages do load scripts, so the scan above did look at real <script> tags.
      expect(counts.campaign).to.be.greaterThan(0);
      expect(counts.thanks).to.be.greaterThan(0);
    });
  });
});
