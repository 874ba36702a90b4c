import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import Stripe from 'stripe';
import { TEST_ENV } from '../helpers/env.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DB_URL = TEST_ENV.DATABASE_URL.replace(/\/[^/]+$/, '/shanhui_start_test');

async function dropDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: DB_URL.replace(/\/[^/]+$/, '/postgres') });
  await client.connect();
  await client.query('DROP DATABASE IF EXISTS shanhui_start_test WITH (FORCE)');
  await client.end();
}

/** Runs `server/main.ts` as `npm start` does and collects its output. */
function start(extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_ENV, DATABASE_URL: DB_URL, REDIS_PREFIX: 'shanhui-start-test', SEED_DEMO: 'true', LOG_LEVEL: 'warn', STRIPE_SECRET_KEY: '', BOOTSTRAP_ADMIN_TOKEN: '', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const ready = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!/Admin API token: (\S+)/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url: /Open:\s+(\S+)/.exec(out)![1], token: /Admin API token: (\S+)/.exec(out)![1] };
  };
  return { child, ready, exited, output: () => out };
}

describe('npm start (server/main.ts)', function () {
  this.timeout(120_000);
  let proc: { child: ChildProcess; exited: Promise<number | null> } | undefined;
  before(dropDatabase);
  afterEach(() => {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('when started on a fresh machine, then it creates and seeds the database, serves, prints URL and token, and stops cleanly on SIGTERM', async () => {
    const p = start();
    proc = p;
    const { url, token } = await p.ready();
    expect(token).to.match(/^sh_/);
    const health = await (await fetch(`${url}/healthz`)).json();
    expect(health).to.deep.equal({ status: 'ok', db: 'ok', redis: 'ok' });
    const campaigns = (await (await fetch(`${url}/api/campaigns?status=live`)).json()) as { street: { id: number }; status: string }[];
    expect(campaigns.length).to.be.at.least(2);
    const client = new pg.Client({ connectionString: DB_URL });
    await client.connect();
    const streets = await client.query('SELECT count(*)::int AS n, count(f.id)::int AS funds FROM streets s LEFT JOIN community_funds f ON f.street_id = s.id');
    await client.end();
    expect(streets.rows[0].n).to.be.at.least(3);
    expect(streets.rows[0].funds).to.equal(streets.rows[0].n);
    const tb = await fetch(`${url}/api/ledger/trial-balance`, { headers: { Authorization: `Bearer ${token}` } });
    expect(tb.status).to.equal(200);
    expect(((await tb.json()) as { balanced: boolean }).balanced).to.equal(true);
    // Purchase of services at every public stage, a project with a paid tranche, its next one awaiting approval.
    const calls = (await (await fetch(`${url}/api/calls`)).json()) as { id: number; status: string }[];
    expect([...new Set(calls.map((c) => c.status))].sort()).to.deep.equal(['awarded', 'notice', 'open', 'review']);
    const awarded = calls.find((c) => c.status === 'awarded')!;
    const project = await (await fetch(`${url}/calls/${awarded.id}`)).text();
    const contractId = /href="\/projects\/(\d+)"/.exec(project)![1];
    const contract = (await (await fetch(`${url}/api/contracts/${contractId}`)).json()) as { tranches: { status: string }[] };
    expect(contract.tranches.map((t) => t.status)).to.deep.equal(['paid', 'requested', 'planned']);

    p.child.kill('SIGTERM');
    expect(await p.exited).to.equal(0);
  });

  it('when started again on the same database with a fixed token, then it does not reseed, the token works, and SIGINT stops it', async () => {
    const p = start({ BOOTSTRAP_ADMIN_TOKEN: 'fixed-admin-token-for-the-test' });
    proc = p;
    const { url, token } = await p.ready();
    expect(token).to.equal('fixed-admin-token-for-the-test');
    const campaigns = (await (await fetch(`${url}/api/campaigns`)).json()) as unknown[];
    expect(campaigns.length).to.equal(3);
    const tb = await fetch(`${url}/api/ledger/trial-balance`, { headers: { Authorization: `Bearer ${token}` } });
    expect(((await tb.json()) as { balanced: boolean }).balanced).to.equal(true);
    p.child.kill('SIGINT');
    expect(await p.exited).to.equal(0);
  });

  describe('in production', () => {
    const PRODUCTION = { NODE_ENV: 'production', SESSION_SECRET: 'start-test-session-secret', IDENTITY_SECRET: 'start-test-identity-secret', SEED_DEMO: '' };
    const STRIPE = { STRIPE_SECRET_KEY: 'sk_live_start', STRIPE_WEBHOOK_SECRET: 'whsec_start_test', STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: '9', STRIPE_API_PROTOCOL: 'http' };
    const query = async (sql: string) => {
      const client = new pg.Client({ connectionString: DB_URL });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };

    it('when a database still has the demo users with their published password, then production refuses to start naming them, until `npm run retire-demo-accounts` disables them', async () => {
      const p = start({ ...PRODUCTION, ...STRIPE });
      proc = p;
      expect(await p.exited).to.equal(78);
      expect(p.output()).to.match(/Refusing to start in production: \d+ account\(s\)[\s\S]*admin@demo\.shanhui\.local[\s\S]*npm run retire-demo-accounts/);
      const retire = spawn(process.execPath, ['--import', 'tsx', 'server/db/retire-demo-accounts.ts'], { cwd: ROOT, env: { ...process.env, ...TEST_ENV, DATABASE_URL: DB_URL, ...PRODUCTION, ...STRIPE }, stdio: 'ignore' });
      expect(await new Promise((r) => retire.on('exit', r))).to.equal(0);
      const again = start({ ...PRODUCTION, ...STRIPE, BOOTSTRAP_ADMIN_TOKEN: 'fixed-admin-token-for-the-test' });
      proc = again;
      const { url } = await again.ready();
      const login = await fetch(`${url}/login`);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1];
      const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const tried = await fetch(`${url}/login`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ email: 'admin@demo.shanhui.local', password: 'shanhui-demo-2026', _csrf: csrf }) });
      expect(tried.status, 'the disabled demo admin cannot sign in').to.equal(401);
      again.child.kill('SIGTERM');
      expect(await again.exited).to.equal(0);
    });

    it('when production starts on an empty database, then no demo data or demo user appears', async () => {
      await dropDatabase();
      const p = start({ ...PRODUCTION, ...STRIPE, BOOTSTRAP_ADMIN_TOKEN: 'fixed-admin-token-for-the-test' });
      proc = p;
      const { url } = await p.ready();
      expect(p.output(), p.output()).to.not.match(/shanhui-demo-2026|TEST MODE/);
      expect(await (await fetch(`${url}/api/campaigns`)).json()).to.deep.equal([]);
      expect(await query(`SELECT email FROM users WHERE email LIKE '%@demo.shanhui.local'`)).to.deep.equal([]);
      p.child.kill('SIGTERM');
      expect(await p.exited).to.equal(0);
    });

    it('when production is told to run the sandbox and seed the demo, then it says so loudly, uses its own password and no published TOTP key, and its webhook secret is its own', async () => {
      await dropDatabase();
      const p = start({ ...PRODUCTION, ALLOW_SANDBOX_IN_PRODUCTION: 'true', SEED_DEMO: 'true', SEED_DEMO_PASSWORD: 'a-private-demo-password', BOOTSTRAP_ADMIN_TOKEN: 'fixed-admin-token-for-the-test' });
      proc = p;
      const { url } = await p.ready();
      expect(p.output()).to.match(/!!! PRODUCTION IS RUNNING THE SANDBOX PAYMENT PROVIDER/);
      expect(p.output()).to.not.match(/shanhui-demo-2026/);
      expect(await (await fetch(`${url}/campaigns`)).text()).to.match(/class="test-banner test-banner-production" role="alert">警告：本正式环境正在使用沙盒模拟支付/);
      const admins = await query(`SELECT totp_secret FROM users WHERE email = 'admin@demo.shanhui.local'`);
      expect(admins).to.deep.equal([{ totp_secret: null }]);
      const [{ value }] = await query(`SELECT value FROM installation_secrets WHERE name = 'sandbox_webhook_secret'`);
      expect(value).to.match(/^whsec_[\w-]{40,}$/);
      const payload = JSON.stringify({ id: 'evt_forged_1', object: 'event', type: 'payment_intent.succeeded', created: 1, data: { object: { id: 'pi_x', object: 'payment_intent', amount: 300000, currency: 'cny', metadata: {} } } });
      const forged = await fetch(`${url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_shanhui_sandbox_test_mode' }) }, body: payload });
      expect(forged.status, 'the old constant secret signs nothing').to.equal(400);
      p.child.kill('SIGTERM');
      expect(await p.exited).to.equal(0);
    });
  });

  it('when a variable is invalid, then it exits at once naming the variable', async () => {
    const p = start({ PORT: 'not-a-port' });
    proc = p;
    const code = await p.exited;
    expect(code).to.not.equal(0);
    expect(p.output()).to.match(/PORT/);
  });
});
