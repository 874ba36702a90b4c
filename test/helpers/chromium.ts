import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { dictionaries, translate } from '../../server/lib/i18n.js';
import { resetDb } from './db.js';
import { h } from './harness.js';

/**
 * Debian's Chromium driven by playwright-core, for the browser journeys: one browser per suite,
 * fresh profiles per test, every console error and uncaught exception recorded as a problem.
 * `useChromium()` registers the suite's hooks and returns what the tests drive pages with.
 */

const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = path.resolve(import.meta.dirname, '../e2e/out');
export const MOBILE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

const zh = (key: string, params?: Record<string, string | number>) => translate('zh-CN', key, params);

/** Text that looks like an untranslated key (`console.publish`, `campaigns.status.review`): a gap shows as its key. */
const KEY_PREFIXES = [...new Set(Object.keys(dictionaries()['zh-CN']).map((k) => k.split('.')[0]))];
const RAW_KEY = new RegExp(`(?<![\\w@.-])(?:${KEY_PREFIXES.join('|')})\\.[a-z_]+(?:\\.[a-z_]+)*(?![\\w@-])`);

/** A datetime-local value (`YYYY-MM-DDTHH:MM`) in China Standard Time, `offsetMs` from now. */
export const cstLocal = (offsetMs: number) => new Date(Date.now() + offsetMs + 8 * 3_600_000).toISOString().slice(0, 16);

export function useChromium() {
  let browser: Browser | undefined;
  let contexts: BrowserContext[] = [];
  /** Console errors, uncaught page errors and CSP reports seen in the current test, one line each. */
  const problems: string[] = [];
  /** Responses the test provokes on purpose (a wrong password is a 401): `status url-substring`. */
  const expectedFailures: { status: number; url: string }[] = [];

  before(async function () {
    this.timeout(60_000);
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: the browser tests need Debian's chromium package (apt-get install -y chromium; .ci/run installs it). \`npx playwright install\` is not used.`);
    }
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    browser = undefined;
  });

  beforeEach(resetDb);
  beforeEach(() => {
    problems.length = 0;
    expectedFailures.length = 0;
  });

  afterEach(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    contexts = [];
  });

  return {
    problems,
    expectedFailures,

    /** A fresh browser profile (cookies, storage) speaking zh-CN, against the service. */
    async newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
      if (!browser) throw new Error('Chromium did not start');
      const context = await browser.newContext({ baseURL: h().url, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options });
      context.setDefaultTimeout(15_000);
      contexts.push(context);
      return context;
    },

    /** A new tab that records its console errors and uncaught exceptions as `problems`. */
    async newPage(context: BrowserContext, name: string): Promise<Page> {
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const where = msg.location().url;
        const status = /the server responded with a status of (\d+)/.exec(msg.text());
        if (status && expectedFailures.some((f) => f.status === Number(status[1]) && where.includes(f.url))) return;
        // Chromium asks for /favicon.ico once per browser, so its 404 lands in whichever test runs
        // first; a test of its own checks it, deterministically.
        if (status && new URL(where || page.url()).pathname === '/favicon.ico') return;
        problems.push(`[${name}] console.error ${msg.text()} (${where || page.url()})`);
      });
      page.on('pageerror', (err) => problems.push(`[${name}] uncaught ${err.name}: ${err.message} (${page.url()})`));
      return page;
    },

    /** Every page visited rendered without console errors. */
    expectNoProblems() {
      expect(problems, `browser console problems:\n${problems.join('\n')}`).to.deep.equal([]);
    },

    /** The page's visible text shows no raw translation key. */
    async expectTranslated(page: Page) {
      const text = await page.locator('body').innerText();
      const m = RAW_KEY.exec(text);
      expect(m?.[0], `untranslated key on ${page.url()}`).to.equal(undefined);
    },

    async screenshot(page: Page, name: string) {
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    },

    /** Signs in through /login (the TOTP page follows when the role needs a second factor). */
    async signInThroughForm(page: Page, email: string, password: string) {
      await page.goto('/login');
      await page.getByLabel(zh('auth.email')).fill(email);
      await page.getByLabel(zh('auth.password'), { exact: true }).fill(password);
      await page.getByRole('button', { name: zh('auth.login'), exact: true }).click();
    },

    /** Clicks a button that submits a form and waits for the page it leads to (even at the same URL). */
    async submitWith(page: Page, button: ReturnType<Page['getByRole']>) {
      const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
      await button.click();
      await navigated;
      await page.waitForLoadState();
    },
  };
}
