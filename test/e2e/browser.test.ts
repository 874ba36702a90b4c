import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { translate } from '../../server/lib/i18n.js';
import { format } from '../../server/lib/money.js';
import { totp } from '../../server/modules/auth/index.js';
import { cstLocal, MOBILE, useChromium } from '../helpers/chromium.js';
import { waitFor } from '../helpers/db.js';
import { fakeCampaign, fakeStreet, fakeUser } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { give, pay } from '../helpers/matching.js';

/**
 * Browser end-to-end journeys: Debian's Chromium driven by playwright-core against the running
 * service (sandbox provider), clicking and typing through the rendered pages. Only fixtures and
 * users are made directly; everything else goes through the pages as a person would.
 */

const PASSWORD = 'correct-horse-battery';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** The little of the DOM the in-page checks touch (the project compiles without lib "dom"). */
type InPage = { document: { querySelector(selector: string): { textContent: string | null } | null }; __notReloaded?: boolean };

const zh = (key: string, params?: Record<string, string | number>) => translate('zh-CN', key, params);

/** Six digits that are not a code the secret accepts now (nor one step either side). */
function wrongCode(secret: string): string {
  let n = Number(totp.now(secret));
  for (;;) {
    n = (n + 123_457) % 1_000_000;
    const code = String(n).padStart(6, '0');
    if (!totp.check(secret, code)) return code;
  }
}

/** The fen a `¥1,234.56` figure shows. */
function fenOf(text: string): number {
  const m = /^¥([\d,]+)\.(\d{2})$/.exec(text.trim());
  if (!m) throw new Error(`not a money figure: ${JSON.stringify(text)}`);
  return Number(m[1].replace(/,/g, '')) * 100 + Number(m[2]);
}

describe('browser end-to-end (Chromium)', function () {
  this.timeout(60_000);

  const { expectedFailures, newContext, newPage, expectNoProblems, expectTranslated, screenshot, signInThroughForm, submitWith } = useChromium();

  /** Resolves once the page's socket.io client has sent its `subscribe` (so no live update is missed). */
  function subscribed(page: Page, room: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no socket.io subscribe to ${room} on ${page.url()}`)), 15_000);
      page.on('websocket', (ws) => {
        ws.on('framesent', (f) => {
          const payload = typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8');
          if (payload.includes('"subscribe"') && payload.includes(room)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    });
  }

  /** From anywhere in the console, the campaigns list via the console navigation. */
  async function openConsoleCampaigns(page: Page) {
    await page.locator('nav.console-nav').getByRole('link', { name: zh('console.campaigns'), exact: true }).click();
    await page.waitForURL(/\/console\/campaigns(\?|$)/);
  }

  const badge = (page: Page) => page.locator('#campaign .badge').first();

  it('a street officer creates a campaign and submits it for review, an admin passes TOTP and publishes it, and the public page shows it live', async () => {
    const { streetId } = await fakeStreet({ name: '石坪桥街道' });
    const officer = await fakeUser('street_officer', { streetId, password: PASSWORD });
    const admin = await fakeUser('association_admin', { password: PASSWORD, totpSecret: SECRET });
    const slug = `desk-${Date.now().toString(36)}`;
    const title = '困境儿童书桌计划';
    const story = '为石坪桥街道 20 户困境儿童家庭添置书桌和台灯。';

    // The officer: a wrong password first, then the right one.
    const officerPage = await newPage(await newContext(), 'officer');
    expectedFailures.push({ status: 401, url: '/login' });
    await signInThroughForm(officerPage, officer.email, 'not-the-password');
    expect(await officerPage.locator('.errors[role="alert"]').innerText()).to.equal(zh('auth.bad_credentials'));
    expect(new URL(officerPage.url()).pathname).to.equal('/login');
    expect(await officerPage.getByLabel(zh('auth.email')).inputValue()).to.equal(officer.email);
    await expectTranslated(officerPage);
    await screenshot(officerPage, '1-login-wrong-password');

    await officerPage.getByLabel(zh('auth.password'), { exact: true }).fill(PASSWORD);
    await officerPage.getByRole('button', { name: zh('auth.login'), exact: true }).click();
    await officerPage.waitForURL(/\/console$/);
    expect(await officerPage.locator('h1').innerText()).to.equal(zh('console.dashboard'));
    expect(await officerPage.locator('nav.console-nav').innerText()).to.include(zh('roles.street_officer'));
    await expectTranslated(officerPage);

    // New campaign through the console form.
    await openConsoleCampaigns(officerPage);
    await officerPage.getByRole('link', { name: zh('console.campaign_new') }).click();
    await officerPage.waitForURL(/\/console\/campaigns\/new$/);
    await expectTranslated(officerPage);
    await officerPage.getByLabel(zh('console.slug')).fill(slug);
    await officerPage.getByLabel(zh('console.title')).fill(title);
    await officerPage.getByLabel(zh('campaigns.story')).fill(story);
    await officerPage.getByLabel(zh('console.goal_yuan')).fill('20000');
    expect(await officerPage.getByLabel(zh('console.street')).locator('option:checked').innerText()).to.equal('石坪桥街道');
    await officerPage.getByLabel(zh('console.starts_at')).fill(cstLocal(-60_000));
    await officerPage.getByLabel(zh('console.ends_at')).fill(cstLocal(30 * 86_400_000));
    await officerPage.getByRole('button', { name: zh('console.save_draft') }).click();

    await officerPage.waitForURL(new RegExp(`/console/campaigns/${slug}$`));
    expect(await officerPage.locator('.flash-ok').innerText()).to.equal(zh('console.saved'));
    expect(await officerPage.locator('#campaign h1').innerText()).to.include(title);
    expect(await badge(officerPage).innerText()).to.equal(zh('campaigns.status.draft'));
    expect(await officerPage.locator('#campaign [data-role="raised"]').innerText()).to.equal('¥0.00');
    expect(await officerPage.getByRole('button', { name: zh('console.publish') }).count(), 'an officer cannot publish').to.equal(0);

    await submitWith(officerPage, officerPage.getByRole('button', { name: zh('console.submit_review') }));
    expect(new URL(officerPage.url()).pathname).to.equal(`/console/campaigns/${slug}`);
    expect(await badge(officerPage).innerText()).to.equal(zh('campaigns.status.review'));
    expect(await officerPage.getByRole('button', { name: zh('console.publish') }).count(), 'still no publish button for the officer').to.equal(0);
    await expectTranslated(officerPage);
    await screenshot(officerPage, '1-officer-submitted');

    // The admin, in another browser profile: password, then a wrong TOTP code, then the right one.
    const adminPage = await newPage(await newContext(), 'admin');
    await signInThroughForm(adminPage, admin.email, PASSWORD);
    await adminPage.waitForURL(/\/login\/totp\?/);
    expect(await adminPage.locator('h1').innerText()).to.equal(zh('auth.totp_title'));
    await expectTranslated(adminPage);

    expectedFailures.push({ status: 422, url: '/login/totp' });
    await adminPage.getByLabel(zh('auth.totp_code')).fill(wrongCode(SECRET));
    await adminPage.getByRole('button', { name: zh('auth.verify') }).click();
    expect(await adminPage.locator('.field-error').innerText()).to.equal(zh('validation.totp'));
    expect(new URL(adminPage.url()).pathname).to.equal('/login/totp');
    expect(await adminPage.locator('nav.console-nav').count(), 'not signed in after a wrong code').to.equal(0);
    await screenshot(adminPage, '1-totp-wrong-code');

    await adminPage.getByLabel(zh('auth.totp_code')).fill(totp.now(SECRET));
    await adminPage.getByRole('button', { name: zh('auth.verify') }).click();
    await adminPage.waitForURL(/\/console$/);
    expect(await adminPage.locator('nav.console-nav').innerText()).to.include(zh('roles.association_admin'));
    await expectTranslated(adminPage);

    await openConsoleCampaigns(adminPage);
    const row = adminPage.locator('table.table tbody tr', { hasText: title });
    expect(await row.innerText()).to.include(zh('campaigns.status.review'));
    await row.getByRole('link', { name: title }).click();
    await adminPage.waitForURL(new RegExp(`/console/campaigns/${slug}$`));
    expect(await badge(adminPage).innerText()).to.equal(zh('campaigns.status.review'));
    await submitWith(adminPage, adminPage.getByRole('button', { name: zh('console.publish') }));
    expect(new URL(adminPage.url()).pathname).to.equal(`/console/campaigns/${slug}`);
    expect(await badge(adminPage).innerText()).to.equal(zh('campaigns.status.live'));
    expect(await adminPage.locator('.flash-ok').innerText()).to.equal(zh('console.saved'));
    await expectTranslated(adminPage);
    await screenshot(adminPage, '1-admin-published');

    // Anyone: the public page is live and takes donations.
    const visitor = await newPage(await newContext(), 'visitor');
    await visitor.goto(`/campaigns/${slug}`);
    expect(await visitor.locator('#campaign h1').innerText()).to.equal(title);
    expect(await badge(visitor).innerText()).to.equal(zh('campaigns.status.live'));
    expect(await visitor.locator('.story').innerText()).to.equal(story);
    expect(await visitor.getByRole('link', { name: zh('campaigns.donate') }).isVisible()).to.equal(true);
    expect(await visitor.locator('.test-banner').innerText()).to.equal(zh('test_mode.banner'));
    await expectTranslated(visitor);
    await screenshot(visitor, '1-public-live');

    expectNoProblems();
  });

  it('a resident gives ¥88.88 on a phone through the sandbox checkout while another open campaign page moves its totals live', async () => {
    const campaign = await fakeCampaign({ title: '长者爱心餐桌', story: '为社区独居老人提供午餐。', goal: 2_000_000 });
    // Someone gave ¥50 before (a fixture), so the live total must add to what was there.
    const earlier = await give(campaign.slug, 5000, { name: '王阿姨' });
    await pay(earlier.id);
    await waitFor(async () => (await h().api().get(`/api/campaigns/${campaign.slug}`)).body.raised === 5000, 'totals include the earlier gift');

    const context = await newContext(MOBILE);
    const watcher = await newPage(context, 'watcher');
    const watching = subscribed(watcher, campaign.slug);
    await watcher.goto(`/campaigns/${campaign.slug}`);
    await watching;
    const raisedBefore = await watcher.locator('[data-role="raised"]').innerText();
    const donorsBefore = Number(await watcher.locator('[data-role="donors"]').innerText());
    expect(raisedBefore).to.equal(format(5000));
    expect(donorsBefore).to.equal(1);
    const expectedRaised = format(fenOf(raisedBefore) + 8888);
    await watcher.evaluate(() => { (globalThis as unknown as InPage).__notReloaded = true; });
    let watcherNavigations = 0;
    watcher.on('framenavigated', (f) => { if (f === watcher.mainFrame()) watcherNavigations += 1; });

    // The donor, in a second tab of the same phone.
    const donor = await newPage(context, 'donor');
    await donor.goto(`/campaigns/${campaign.slug}/donate`);
    expect(await donor.locator('h1').innerText()).to.equal(zh('donate.title'));
    await expectTranslated(donor);
    const other = donor.getByLabel(zh('donate.other'));
    await other.click();
    await other.pressSequentially('¥88.88');
    await donor.getByLabel(zh('donate.anonymous')).uncheck();
    await donor.getByLabel(zh('donate.name')).fill('李阿姨');
    await donor.getByLabel(zh('donate.message')).fill('祝老人们身体健康');
    await donor.getByRole('button', { name: zh('donate.submit') }).click();

    await donor.waitForURL(/\/sandbox\/checkout\/[0-9a-f-]{36}$/);
    expect(await donor.locator('h1').innerText()).to.equal(zh('sandbox.title'));
    expect(await donor.locator('.test-banner').innerText()).to.equal(zh('test_mode.banner'));
    expect(await donor.locator('.sandbox').innerText()).to.include(zh('sandbox.explain'));
    expect(await donor.locator('.sandbox strong').first().innerText()).to.equal('¥88.88');
    await expectTranslated(donor);
    await donor.getByRole('button', { name: zh('sandbox.succeed') }).click();

    await donor.waitForURL(/\/donations\/[0-9a-f-]{36}\/thanks$/);
    expect(await donor.locator('h1').innerText()).to.equal(zh('thanks.title'));
    await donor.waitForFunction((text) => (globalThis as unknown as InPage).document.querySelector('[data-role="status"]')?.textContent?.trim() === text, zh('thanks.status.succeeded'), { timeout: 20_000 });
    expect(await donor.locator('.thanks').innerText()).to.include('¥88.88');
    await expectTranslated(donor);
    await screenshot(donor, '2-thanks-mobile');

    // Meanwhile the watcher's page moved without a reload.
    await watcher.waitForFunction((text) => (globalThis as unknown as InPage).document.querySelector('[data-role="raised"]')?.textContent === text, expectedRaised, { timeout: 20_000 });
    await watcher.waitForFunction((n) => (globalThis as unknown as InPage).document.querySelector('[data-role="donors"]')?.textContent === n, String(donorsBefore + 1), { timeout: 20_000 });
    await watcher.waitForFunction(() => /李阿姨/.test((globalThis as unknown as InPage).document.querySelector('[data-role="recent"]')?.textContent ?? ''), undefined, { timeout: 20_000 });
    expect(await watcher.locator('[data-role="recent"]').innerText()).to.include('¥88.88');
    expect(await watcher.evaluate(() => (globalThis as unknown as InPage).__notReloaded), 'watcher page was not reloaded').to.equal(true);
    expect(watcherNavigations, 'watcher page navigations').to.equal(0);
    await watcher.bringToFront();
    await expectTranslated(watcher);
    await screenshot(watcher, '2-watcher-mobile');

    expectNoProblems();
  });

  it('an open campaign page keeps the latest totals when an older reading reaches it after a newer one', async () => {
    const campaign = await fakeCampaign({ title: '社区图书角' });
    const page = await newPage(await newContext(MOBILE), 'late-reading');
    const watching = subscribed(page, campaign.slug);
    await page.goto(`/campaigns/${campaign.slug}`);
    await watching;
    const renderedAsOf = Number(await page.locator('#campaign').getAttribute('data-totals-as-of'));
    expect(renderedAsOf, 'the page carries the stamp of the reading it shows').to.be.above(0);
    const room = h().c.publisher.emitter.to(`campaign:${campaign.slug}`);
    const totals = (raised: number, asOf: number) => ({ slug: campaign.slug, raised, matched: 0, donors: 1, match_remaining: 0, as_of: asOf });
    const raised = () => page.locator('[data-role="raised"]').first().innerText();

    room.emit('campaign:totals', totals(7777, renderedAsOf + 60_000_000));
    await page.waitForFunction((text) => (globalThis as unknown as InPage).document.querySelector('[data-role="raised"]')?.textContent === text, format(7777), { timeout: 10_000 });
    // An older reading, then a marker on the same connection: once the marker shows, the older reading has arrived too.
    room.emit('campaign:totals', totals(1, renderedAsOf + 1));
    room.emit('campaign:donations', { slug: campaign.slug, donations: [{ display_name: '顺序标记', anonymous: false, amount: 100, message: null, at: new Date().toISOString() }] });
    await page.waitForFunction(() => /顺序标记/.test((globalThis as unknown as InPage).document.querySelector('[data-role="recent"]')?.textContent ?? ''), undefined, { timeout: 10_000 });
    expect(await raised()).to.equal(format(7777));

    room.emit('campaign:totals', totals(8888, renderedAsOf + 120_000_000));
    await page.waitForFunction((text) => (globalThis as unknown as InPage).document.querySelector('[data-role="raised"]')?.textContent === text, format(8888), { timeout: 10_000 });
    expectNoProblems();
  });

  it('the icon every page makes the browser fetch exists (else each browser logs a 404 console error)', async () => {
    const context = await newContext();
    const page = await newPage(context, 'visitor');
    await page.goto('/');
    // With no <link rel="icon">, browsers fetch /favicon.ico from the site root.
    const link = page.locator('link[rel~="icon"]');
    const declared = (await link.count()) > 0 ? await link.first().getAttribute('href') : null;
    const href = new URL(declared ?? '/favicon.ico', page.url());
    if (href.protocol === 'data:') return;
    const res = await context.request.get(href.toString());
    expect(res.status(), `GET ${href.pathname} (${declared ? 'declared by <link rel="icon">' : 'no <link rel="icon">, so the browser default'})`).to.be.below(400);
  });

  it('every field of the sign-in and new-campaign forms is laid out like its neighbours (full width, styled)', async () => {
    const { streetId } = await fakeStreet();
    const officer = await fakeUser('street_officer', { streetId, password: PASSWORD });
    const page = await newPage(await newContext(), 'officer');

    /** Each visible field of the page's `form.stack` whose width differs from the form's widest field. */
    async function oddFields(): Promise<string[]> {
      const fields = page.locator('form.stack').last().locator('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea');
      const rows: { name: string; width: number }[] = [];
      for (let i = 0; i < (await fields.count()); i++) {
        const box = await fields.nth(i).boundingBox();
        if (box) rows.push({ name: `${await fields.nth(i).getAttribute('name')} (${(await fields.nth(i).getAttribute('type')) ?? 'text'})`, width: Math.round(box.width) });
      }
      const widest = Math.max(...rows.map((r) => r.width));
      return rows.filter((r) => r.width < widest - 2).map((r) => `${r.name}: ${r.width}px of ${widest}px`);
    }

    await page.goto('/login');
    const login = await oddFields();
    await signInThroughForm(page, officer.email, PASSWORD);
    await page.waitForURL(/\/console$/);
    await page.goto('/console/campaigns/new');
    const campaignForm = await oddFields();
    expect({ '/login': login, '/console/campaigns/new': campaignForm }).to.deep.equal({ '/login': [], '/console/campaigns/new': [] });
    expectNoProblems();
  });

  it('the donate form shows the amount error in the browser and keeps what was typed', async () => {
    const campaign = await fakeCampaign({ title: '社区微心愿' });
    const page = await newPage(await newContext(MOBILE), 'donor');
    await page.goto(`/campaigns/${campaign.slug}/donate`);

    expectedFailures.push({ status: 422, url: `/campaigns/${campaign.slug}/donate` });
    await page.getByLabel(zh('donate.other')).fill('abc');
    await page.getByLabel(zh('donate.anonymous')).uncheck();
    await page.getByLabel(zh('donate.name')).fill('张先生');
    await page.getByLabel(zh('donate.email')).fill('zhang@example.com');
    await page.getByLabel(zh('donate.message')).fill('一点心意');
    await submitWith(page, page.getByRole('button', { name: zh('donate.submit') }));

    expect(new URL(page.url()).pathname).to.equal(`/campaigns/${campaign.slug}/donate`);
    expect(await page.locator('.errors[role="alert"]').innerText()).to.include(zh('donate.errors_title'));
    expect(await page.locator('fieldset.invalid .field-error').innerText()).to.equal(zh('validation.amount_format'));
    expect(await page.getByLabel(zh('donate.other')).inputValue()).to.equal('abc');
    expect(await page.getByLabel(zh('donate.name')).inputValue()).to.equal('张先生');
    expect(await page.getByLabel(zh('donate.email')).inputValue()).to.equal('zhang@example.com');
    expect(await page.getByLabel(zh('donate.message')).inputValue()).to.equal('一点心意');
    expect(await page.getByLabel(zh('donate.anonymous')).isChecked()).to.equal(false);
    expect(Number((await h().db('donations').count({ n: '*' }))[0].n), 'no donation from a bad form').to.equal(0);
    await expectTranslated(page);
    await screenshot(page, '3-donate-errors-mobile');

    // Correcting the amount goes through to the checkout.
    const other = page.getByLabel(zh('donate.other'));
    await other.fill('');
    await other.pressSequentially('20');
    await page.getByRole('button', { name: zh('donate.submit') }).click();
    await page.waitForURL(/\/sandbox\/checkout\/[0-9a-f-]{36}$/);
    expect(await page.locator('.sandbox strong').first().innerText()).to.equal('¥20.00');

    expectNoProblems();
  });
});
