import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
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

  it('when a variable is invalid, then it exits at once naming the variable', async () => {
    const p = start({ PORT: 'not-a-port' });
    proc = p;
    const code = await p.exited;
    expect(code).to.not.equal(0);
    expect(p.output()).to.match(/PORT/);
  });
});
