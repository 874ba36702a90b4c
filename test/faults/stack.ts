import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import Stripe from 'stripe';
import { loadConfig } from '../../server/config.js';
import { createContainer, type Container } from '../../server/container.js';
import { createDb } from '../../server/db/knex.js';
import { prepareDatabase } from '../../server/db/migrate.js';
import { createLogger } from '../../server/lib/logger.js';
import type { StripeEvent } from './fixtures.js';
import { Http, type Res } from './http.js';
import { cleanupAll, PgCluster, RedisServer, scratchDir, ServiceProcess, sparePort, waitUntil } from './infra.js';
import { SEED } from './random.js';

/**
 * The suite's PostgreSQL cluster and Redis (started once; the only holder of that state) and a
 * scenario's stack on them: a fresh database cloned from the migrated template, the real web and
 * worker processes, signed webhook deliveries, donations, settling, and probes of /healthz and
 * of the BullMQ job schedulers.
 */

// ------------------------------------------------------------------ the suite's PostgreSQL and Redis

const TEMPLATE_DB = 'faults_template';
let infra: { pg: PgCluster; redis: RedisServer; startedMs: number } | undefined;

/** Starts the suite's cluster and Redis once, and migrates the template database. */
export async function startInfra() {
  if (infra) return infra;
  const t0 = performance.now();
  const cluster = new PgCluster('pg');
  await cluster.start();
  const redis = new RedisServer('redis');
  await redis.start();
  const db = createDb(cluster.url(TEMPLATE_DB), 2);
  try {
    await prepareDatabase(cluster.url(TEMPLATE_DB), db);
    if (process.env.FAULT_PG_STATEMENTS === '1') await db.raw('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  } finally {
    await db.destroy();
  }
  infra = { pg: cluster, redis, startedMs: performance.now() - t0 };
  process.stdout.write(`\n  fault suite: PostgreSQL on 127.0.0.1:${cluster.port} (${cluster.dir}), Redis on 127.0.0.1:${redis.port}, template migrated in ${(infra.startedMs / 1000).toFixed(1)} s, seed ${SEED}\n`);
  return infra;
}

/** Stops and removes the suite's cluster and Redis (and anything else still registered). */
export async function stopInfra(): Promise<void> {
  if (infra) {
    await infra.redis.destroy().catch(() => undefined);
    infra.pg.destroy();
    infra = undefined;
  }
  cleanupAll();
}

// ------------------------------------------------------------------ a scenario's stack

export interface StackOptions {
  /** Short name: the database is `faults_<name>`, logs are `<name>-web.log`, `<name>-worker.log`. */
  name: string;
  /** Web processes (stateless, behind the load driver's round-robin); 1 by default. */
  webs?: number;
  /** Environment for both processes (overrides the defaults below). */
  env?: Record<string, string>;
  web?: Record<string, string>;
  worker?: Record<string, string>;
  maxSockets?: number;
}

/**
 * One scenario's service: a fresh database cloned from the migrated template, an emptied Redis,
 * and the real web and worker processes started separately against them.
 */
export class Stack {
  readonly db: Knex;
  /** The web processes (`web` is the first). */
  readonly webs: ServiceProcess[];
  readonly worker: ServiceProcess;
  readonly http: Http;
  readonly adminToken = `fault-admin-${randomBytes(12).toString('hex')}`;
  readonly secret = `whsec_fault_${randomBytes(16).toString('hex')}`;
  readonly env: Record<string, string>;
  private fixtureC?: Container;
  /** Loads driving this stack, stopped by `destroy()` if the scenario failed half-way. */
  readonly loads: { abort(): void }[] = [];
  private fixtureDb?: Knex;
  readonly t0 = performance.now();

  private constructor(readonly name: string, readonly dbName: string, readonly pg: PgCluster, readonly redis: RedisServer, readonly ports: number[], opts: StackOptions) {
    const port = ports[0];
    const dataDir = path.join(scratchDir(), `${name}-data`);
    mkdirSync(dataDir, { recursive: true });
    this.env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      TMPDIR: process.env.TMPDIR ?? '/tmp',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: pg.url(dbName),
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'faults',
      SEED_DEMO: 'false',
      BOOTSTRAP_ADMIN_TOKEN: this.adminToken,
      STRIPE_WEBHOOK_SECRET: this.secret,
      LOG_LEVEL: 'warn',
      DONATION_RATE_LIMIT_PER_MINUTE: '1000000',
      EVENT_SWEEP_INTERVAL_MS: '2000',
      EVENT_SWEEP_GRACE_MS: '3000',
      WORKER_CONCURRENCY: '8',
      DB_POOL_MAX: '12',
      RECONCILE_SETTLEMENT_DAYS: '0',
      DATA_DIR: dataDir,
      IDENTITY_SECRET: 'fault-suite-identity-secret',
      SESSION_SECRET: 'fault-suite-session-secret',
      ...opts.env,
    };
    this.webs = ports.map((p, i) => new ServiceProcess(`${name}-web${i ? i + 1 : ''}`, { ...this.env, ROLE: 'web', PORT: String(p), ...opts.web }));
    this.worker = new ServiceProcess(`${name}-worker`, { ...this.env, ROLE: 'worker', ...opts.worker });
    this.http = new Http(ports.map((p) => `http://127.0.0.1:${p}`), opts.maxSockets ?? 256);
    this.db = createDb(pg.url(dbName), 6);
  }

  /** A fresh database (from the template) and an empty Redis; the processes are not started yet. */
  static async create(opts: StackOptions): Promise<Stack> {
    const { pg: cluster, redis } = await startInfra();
    // A scenario that failed half-way through an outage may have left one of them down.
    if (!cluster.running) await cluster.start();
    if (!redis.running) await redis.start();
    await redis.flushAll();
    const dbName = `faults_${opts.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${dbName}" TEMPLATE "${TEMPLATE_DB}"`);
    } finally {
      await admin.end();
    }
    const ports = [];
    for (let i = 0; i < (opts.webs ?? 1); i++) ports.push(await sparePort(Number(process.env.FAULT_WEB_PORT ?? 53000)));
    return new Stack(opts.name, dbName, cluster, redis, ports, opts);
  }

  get baseUrl(): string {
    return this.http.base;
  }

  /** The first web process. */
  get web(): ServiceProcess {
    return this.webs[0];
  }

  /** Log counters of every web process together. */
  get webCounts() {
    return this.webs.reduce((a, w) => ({ errors: a.errors + w.counts.errors, deadlocks: a.deadlocks + w.counts.deadlocks }), { errors: 0, deadlocks: 0 });
  }

  /** An in-process container on the scenario's database and Redis, for fixtures (as test/helpers do). */
  async container(): Promise<Container> {
    if (!this.fixtureC) {
      const config = loadConfig({ ...this.env, ROLE: 'web', LOG_LEVEL: 'silent' });
      this.fixtureDb = createDb(this.env.DATABASE_URL, 4);
      this.fixtureC = await createContainer(config, createLogger('silent'), this.fixtureDb);
    }
    return this.fixtureC;
  }

  async closeContainer(): Promise<void> {
    if (this.fixtureC) await this.fixtureC.close().catch(() => undefined);
    if (this.fixtureDb) await this.fixtureDb.destroy().catch(() => undefined);
    this.fixtureC = undefined;
    this.fixtureDb = undefined;
  }

  /** Starts the worker and the web process (each on its own, in parallel) and waits for /healthz. */
  async start(): Promise<number> {
    const t = performance.now();
    await Promise.all([...this.webs.map((w) => w.start()), this.worker.start()]);
    for (let i = 0; i < this.webs.length; i++) await waitUntil(async () => (await this.http.get('/healthz')).status === 200, 'web /healthz', 30_000, 100);
    return (performance.now() - t) / 1000;
  }

  /** SIGTERM to both processes (graceful shutdown), e.g. before reading PostgreSQL's statistics. */
  async stopProcesses(): Promise<void> {
    await Promise.all([...this.webs.map((w) => w.stop()), this.worker.stop()]);
  }

  /** Stops both processes, closes the suite's connections and drops the database (kept with FAULT_KEEP=1). */
  async destroy(): Promise<void> {
    for (const l of this.loads) l.abort();
    await Promise.all([...this.webs.map((w) => w.close()), this.worker.close()]);
    await this.closeContainer();
    this.http.close();
    await this.db.destroy().catch(() => undefined);
    if (process.env.FAULT_KEEP !== '1' && this.pg.port) {
      const admin = new pg.Client({ connectionString: this.pg.url('postgres') });
      try {
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`);
      } catch {
        /* the cluster may be down: its removal cleans up */
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
  }

  elapsed(): string {
    return `${((performance.now() - this.t0) / 1000).toFixed(1)} s`;
  }

  // -------------------------------------------------------------- webhooks and donations

  /** One delivery of a signed event to POST /webhooks/stripe; returns the status. */
  async deliver(evt: StripeEvent): Promise<Res> {
    const payload = JSON.stringify(evt);
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: this.secret });
    return this.http.request('POST', '/webhooks/stripe', { raw: payload, headers: { 'stripe-signature': header }, label: 'POST /webhooks/stripe' });
  }

  /**
   * Gives through the public API (a donor's retry with the same Idempotency-Key on 503 or no
   * answer, up to `retryMs`). Returns the donation, or undefined when it never got a 201.
   */
  async give(slug: string, amount: number, donor: Record<string, unknown> = {}, opts: { retryMs?: number; key?: string } = {}): Promise<{ id: string; amount: number; paymentRef: string; reserved: number; attempts: number; ms: number } | undefined> {
    const key = opts.key ?? randomUUID();
    const deadline = Date.now() + (opts.retryMs ?? 0);
    for (let attempt = 1, wait = 500; ; attempt++, wait = Math.min(wait * 2, 4000)) {
      const res = await this.http.request('POST', `/api/campaigns/${slug}/donations`, { json: { amount, currency: 'CNY', donor }, headers: { 'idempotency-key': key }, label: 'POST donations' });
      if (res.status === 201) return { id: res.body.id, amount, paymentRef: res.body.payment.payment_intent, reserved: res.body.match?.reserved ?? 0, attempts: attempt, ms: res.ms };
      if (res.status !== 503 && res.status !== 0 && !(res.status >= 500)) throw new Error(`donation refused: ${res.status} ${res.text.slice(0, 300)}`);
      if (Date.now() > deadline) return undefined;
      await sleep(wait);
    }
  }

  /** The sandbox's charge ids of donations (their `payment_intent.succeeded` names the charge). */
  async chargeIds(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 5000) {
      const rows: { donation_id: string; charge_id: string }[] = await this.db('sandbox_payments').whereIn('donation_id', ids.slice(i, i + 5000)).select('donation_id', 'charge_id');
      for (const r of rows) out.set(r.donation_id, r.charge_id);
    }
    return out;
  }

  /**
   * Pays a donation through the sandbox's test-mode checkout, as a donor's browser does
   * (GET the page for its CSRF token and cookies, POST the form). The sandbox records the
   * payment and emits `payment_intent.succeeded` itself.
   */
  async checkout(donationId: string): Promise<number> {
    const page = await this.http.request('GET', `/sandbox/checkout/${donationId}`, { headers: { accept: 'text/html' }, label: 'GET /sandbox/checkout' });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    if (page.status !== 200 || !token) return page.status || -1;
    const cookie = cookiesOf(page.headers);
    const res = await this.http.request('POST', `/sandbox/checkout/${donationId}`, { form: { outcome: 'succeed', _csrf: token }, headers: { cookie, accept: 'text/html' }, label: 'POST /sandbox/checkout' });
    return res.status;
  }

  // -------------------------------------------------------------- settling

  /**
   * Waits until every stored event is processed and every paid donation has its fee booked.
   * Reports when the events and when the fees were done, in seconds from the call.
   */
  async settle(what: string, timeoutMs: number, extra?: () => Promise<boolean>): Promise<{ seconds: number; ok: boolean; left: { events: number; fees: number }; eventsAt?: number; feesAt?: number }> {
    const t = performance.now();
    let left = { events: -1, fees: -1 };
    let eventsAt: number | undefined;
    let feesAt: number | undefined;
    const done = async () => {
      left = await this.backlog();
      const now = (performance.now() - t) / 1000;
      if (left.events === 0) eventsAt ??= now;
      if (left.fees === 0) feesAt ??= now;
      return left.events === 0 && left.fees === 0 && (!extra || (await extra()));
    };
    let ok = true;
    try {
      await waitUntil(done, what, timeoutMs, 500);
    } catch {
      ok = false;
    }
    return { seconds: (performance.now() - t) / 1000, ok, left, eventsAt, feesAt };
  }

  async backlog(): Promise<{ events: number; fees: number }> {
    const [{ events }] = await this.db('processor_events').whereNull('processed_at').count({ events: '*' });
    const [{ fees }] = await this.db('donations').whereNotNull('succeeded_at').whereNull('fee_minor').count({ fees: '*' });
    return { events: Number(events), fees: Number(fees) };
  }
}

function cookiesOf(headers: http.IncomingHttpHeaders): string {
  const set = headers['set-cookie'] ?? [];
  return set.map((c) => c.split(';')[0]).join('; ');
}

/** Polls GET /healthz every second while running; keeps what it saw. */
export class HealthProbe {
  readonly seen: Record<string, number> = {};
  private running = true;
  private loop: Promise<void>;
  constructor(stack: Stack, label: string) {
    this.loop = (async () => {
      while (this.running) {
        const res = await stack.http.request('GET', '/healthz', { label: `healthz ${label}`, timeoutMs: 5000 });
        const key = `${res.status} db:${res.body?.db ?? '?'} redis:${res.body?.redis ?? '?'}`;
        this.seen[key] = (this.seen[key] ?? 0) + 1;
        await sleep(1000);
      }
    })();
  }
  async stop(): Promise<Record<string, number>> {
    this.running = false;
    await this.loop;
    return this.seen;
  }
}

/** The BullMQ job schedulers in the scenario's Redis (ids, every queue). */
export async function schedulerIds(stack: Stack): Promise<string[]> {
  const connection = new Redis(stack.env.REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  connection.on('error', () => undefined);
  try {
    await connection.connect();
    const ids: string[] = [];
    for (const name of ['payments', 'matching', 'maintenance']) {
      const q = new Queue(name, { connection, prefix: `${stack.env.REDIS_PREFIX}-bull` });
      ids.push(...(await q.getJobSchedulers()).map((s) => `${name}/${s.key}`));
      await q.close();
    }
    return ids;
  } catch {
    return [];
  } finally {
    connection.disconnect();
  }
}

/** Seconds until /healthz answers 200, or undefined. */
export async function waitHealthy(stack: Stack, timeoutMs: number): Promise<number | undefined> {
  const t = performance.now();
  while (performance.now() - t < timeoutMs) {
    const res = await stack.http.request('GET', '/healthz', { label: 'healthz recovery', timeoutMs: 5000 });
    if (res.status === 200) return (performance.now() - t) / 1000;
    await sleep(250);
  }
  return undefined;
}
