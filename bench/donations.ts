/**
 * `npm run bench:donations`: how fast signed `payment_intent.succeeded` webhooks turn pending
 * donations into confirmed ones, end to end through the real service (HTTP intake → stored
 * event → BullMQ job → one transaction locking event, donation and campaign account → ledger).
 *
 * N donations are pre-created (untimed), their webhooks pre-signed, then POSTed at concurrency
 * C to /webhooks/stripe; the clock stops when PostgreSQL counts N succeeded donations. Then the
 * fee jobs drain, the trial balance is checked, the service stops, and pgbench's TPC-B-like run
 * on the same server gives a yardstick: confirmed/s ÷ pgbench TPS compares runs across machines.
 * Client, web server and workers share one process (and here two cores), as `ROLE=all` runs.
 * Signatures are made before the clock starts and Stripe accepts them for 5 minutes, so very
 * large N must still be sent within that window.
 *
 * Env: BENCH_N (2000), BENCH_C (16), BENCH_WORKER_CONCURRENCY (16), BENCH_CAMPAIGNS (4),
 * BENCH_LOG_LEVEL (silent; e.g. warn to see the service's own warnings on stdout).
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import Stripe from 'stripe';
import { startService } from '../server/boot.js';
import { loadConfig } from '../server/config.js';
import { scale } from '../server/lib/money.js';
import { createLogger } from '../server/lib/logger.js';
import { SYSTEM_PRINCIPAL } from '../server/modules/auth/index.js';
import { SANDBOX_FEE_BASIS_POINTS } from '../server/modules/donations/providers/sandbox.provider.js';
import { geoRepo } from '../server/modules/geo/index.js';
import { trialBalance } from '../server/modules/ledger/index.js';
import { keepAliveAgent, post } from './lib/http.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { runPgbench } from './lib/pgbench.js';
import { runPool } from './lib/pool.js';
import { BENCH_AGREEMENT, envInt, flushRedisDb, recreateDatabase, sleep, writeResult } from './lib/setup.js';
import { summarize } from './lib/stats.js';

const N = envInt('BENCH_N', 2000);
const C = envInt('BENCH_C', 16);
const WORKERS = envInt('BENCH_WORKER_CONCURRENCY', 16);
const CAMPAIGNS = envInt('BENCH_CAMPAIGNS', 4);
const DB_POOL_MAX = 24;
const CONFIRM_TIMEOUT_MS = 120_000;
const DRAIN_TIMEOUT_MS = 60_000;
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/shanhui_bench';
const REDIS_URL = 'redis://127.0.0.1:6379/14';
const DAY = 86_400_000;

const wallStart = performance.now();
const secs = (ms: number) => Math.round(ms) / 1000;
const problems: string[] = [];

await recreateDatabase(DATABASE_URL);
await flushRedisDb(REDIS_URL);
const logLevel = process.env.BENCH_LOG_LEVEL || 'silent';
const config = loadConfig({
  DATABASE_URL, REDIS_URL, REDIS_PREFIX: 'shanhui-bench', LOG_LEVEL: logLevel, SEED_DEMO: 'false', PORT: '0', HOST: '127.0.0.1',
  EVENT_SWEEP_INTERVAL_MS: '3600000', WORKER_CONCURRENCY: String(WORKERS), DB_POOL_MAX: String(DB_POOL_MAX),
});
const service = await startService(config, createLogger(logLevel));
const c = service.container;
const db = c.db;
const url = new URL('/webhooks/stripe', `http://127.0.0.1:${(service.http!.address() as AddressInfo).port}`);
// The bench's own connections, so polling never takes a connection from the service's pool.
const probe = new pg.Client({ connectionString: DATABASE_URL });
await probe.connect();
const redis = new Redis(REDIS_URL);
const machine = await machineInfo(probe, redis);
const count = async (where: string) => Number((await probe.query(`SELECT count(*)::int AS n FROM donations WHERE ${where}`)).rows[0].n);

// ── Geography and campaigns (as test/helpers/factories.ts builds them): one street each.
const campaigns = await db.transaction(async (trx) => {
  const districtId = await geoRepo.insertDistrict(trx, { code: 'bench-district', name: '压测区' });
  const streets: number[] = [];
  for (let i = 1; i <= CAMPAIGNS; i++) {
    const streetId = await geoRepo.insertStreet(trx, { district_id: districtId, code: `bench-street-${i}`, name: `压测街道${i}` });
    await geoRepo.insertCommunity(trx, { street_id: streetId, code: `bench-street-${i}-c1`, name: `压测社区${i}` });
    await c.funds.create(trx, { streetId, code: `bench-street-${i}-fund`, name: `压测街道${i}慈善基金`, agreement: BENCH_AGREEMENT });
    streets.push(streetId);
  }
  return streets;
}).then((streets) => Promise.all(streets.map((street, i) => c.campaigns.create(SYSTEM_PRINCIPAL, {
  slug: `bench-${i + 1}`, title: `压测项目 ${i + 1}`, story: '', goal: 1_000_000_000, currency: 'CNY', street,
  starts_at: new Date(Date.now() - DAY), ends_at: new Date(Date.now() + 30 * DAY), status: 'live',
}, (k) => k))));

// ── Pre-create N pending donations (untimed). The sandbox payment is marked paid with its fee,
// as the sandbox checkout does before it emits the event, so fee jobs find the fee at once.
const tPre = performance.now();
const donations = await runPool(Array.from({ length: N }, (_, i) => i), 16, async (i) => {
  const campaign = campaigns[i % campaigns.length];
  const amount = 1000 + (i % 20) * 500; // ¥10 … ¥105
  const { donation } = await c.donations.create(campaign.slug, { amount, currency: 'CNY', donor: {} }, `bench-${i}`);
  await db('sandbox_payments').where({ payment_ref: donation.payment_ref }).update({ status: 'succeeded', fee_minor: scale(amount, SANDBOX_FEE_BASIS_POINTS, 10_000), updated_at: db.fn.now() });
  return { id: donation.id, amount, payment_ref: donation.payment_ref! };
});
const precreateS = secs(performance.now() - tPre);
const created = Math.floor(Date.now() / 1000);
const deliveries = donations.map((d, i) => {
  const payload = JSON.stringify({
    id: `evt_bench_${String(i).padStart(6, '0')}_${d.id.slice(0, 8)}`, object: 'event', created, type: 'payment_intent.succeeded',
    data: { object: { id: d.payment_ref, object: 'payment_intent', amount: d.amount, amount_received: d.amount, currency: 'cny', status: 'succeeded', metadata: { donation_id: d.id } } },
  });
  return { payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret: c.webhookSecret }) };
});

// ── The timed part: fire the webhooks at concurrency C; poll PostgreSQL until all N succeeded.
const agent = keepAliveAgent(C);
const queries: Record<string, number> = {};
db.on('query', (q: { sql?: string }) => {
  const verb = /^\s*(\w+)/.exec(q.sql ?? '')?.[1]?.toLowerCase() ?? '?';
  queries[verb] = (queries[verb] ?? 0) + 1;
});
const t0 = performance.now();
let sendingDone = false;
const confirmed = (async () => {
  for (;;) {
    const n = await count(`status = 'succeeded'`);
    if (n >= N) return { at: performance.now(), n };
    if (performance.now() - t0 > CONFIRM_TIMEOUT_MS) return { at: Number.NaN, n };
    await sleep(sendingDone ? 10 : 25);
  }
})();
const acks = await runPool(deliveries, C, (d) => post(url, d.payload, { 'Stripe-Signature': d.signature }, agent));
const ackedAt = performance.now();
sendingDone = true;
const done = await confirmed;
agent.destroy();
const non200 = acks.filter((a) => a.status !== 200);
if (non200.length) problems.push(`${non200.length} webhooks not acknowledged with 200 (first: ${non200[0].status} ${non200[0].body.slice(0, 200)})`);
if (!(done.n >= N)) problems.push(`only ${done.n}/${N} donations succeeded within ${CONFIRM_TIMEOUT_MS / 1000} s`);
const confirmS = (done.at - t0) / 1000;
const ack = summarize(acks.map((a) => a.ms));

// ── Fee jobs drain, then the ledger must balance with every invariant holding.
const tDrain = performance.now();
for (;;) {
  const [unbooked, q] = await Promise.all([count('succeeded_at IS NOT NULL AND fee_minor IS NULL'), c.queues.payments.getJobCounts('waiting', 'active', 'delayed', 'prioritized')]);
  if (unbooked === 0 && Object.values(q).every((n) => n === 0)) break;
  if (performance.now() - tDrain > DRAIN_TIMEOUT_MS) {
    problems.push(`fee jobs not drained after ${DRAIN_TIMEOUT_MS / 1000} s: ${unbooked} fees unbooked, queue ${JSON.stringify(q)}`);
    break;
  }
  await sleep(50);
}
const drainS = secs(performance.now() - tDrain);
db.removeAllListeners('query');
const perDonation = Object.values(queries).reduce((a, b) => a + b, 0) / N;
const tb = await trialBalance(db);
const failedChecks = tb.checks.filter((x) => !x.ok).map((x) => x.name);
if (!tb.balanced) problems.push(`trial balance not balanced; failed checks: ${failedChecks.join(', ') || '(none: debits ≠ credits)'}`);
const journals = Object.fromEntries((await probe.query(`SELECT kind, count(*)::int AS n FROM ledger_journals GROUP BY kind ORDER BY kind`)).rows.map((r) => [r.kind, r.n]));
const outcomes = Object.fromEntries((await probe.query(`SELECT coalesce(outcome, '(unprocessed)') AS o, count(*)::int AS n FROM processor_events GROUP BY 1 ORDER BY 1`)).rows.map((r) => [r.o, r.n]));
const jobs = await c.queues.payments.getJobs(['completed', 'failed'], 0, -1);
const retried = jobs.filter((j) => j.attemptsMade > 1 || j.failedReason).map((j) => `${j.name}:${j.failedReason ?? ''}`);
if (journals.donation !== N) problems.push(`${journals.donation ?? 0} donation journals, expected ${N}`);
if (journals.processor_fee !== N) problems.push(`${journals.processor_fee ?? 0} processor_fee journals, expected ${N}`);
const raised = (await probe.query(`SELECT c.slug, count(*)::int AS donations, sum(d.amount_minor)::bigint AS raised FROM donations d JOIN campaigns c ON c.id = d.campaign_id WHERE d.status = 'succeeded' GROUP BY c.slug ORDER BY c.slug`)).rows;

await probe.end();
redis.disconnect();
await service.stop();

// ── Yardstick: pgbench on the same server, with the service stopped.
const pgb = await runPgbench().catch((err: Error) => {
  problems.push(`pgbench failed: ${err.message.split('\n')[0]}`);
  return undefined;
});
const rate = N / confirmS;
const wallS = secs(performance.now() - wallStart);

const result = {
  benchmark: 'donations', machine,
  settings: { n: N, concurrency: C, worker_concurrency: WORKERS, db_pool_max: DB_POOL_MAX, campaigns: campaigns.map((x) => x.slug), log_level: logLevel },
  precreate_s: precreateS,
  confirmed: { donations: done.n, seconds: Math.round(confirmS * 1000) / 1000, per_second: Math.round(rate * 10) / 10 },
  acks: { all_sent_s: secs(ackedAt - t0), non_200: non200.length, latency_ms: ack },
  fees: { drain_s: drainS },
  ledger: { balanced: tb.balanced, checks: tb.checks.length, failed_checks: failedChecks, journals },
  events: { outcomes, jobs_retried_or_failed: retried.length },
  service_sql: { per_donation: Math.round(perDonation * 10) / 10, by_verb: queries },
  per_campaign: raised,
  pgbench: pgb ?? null,
  ratio: pgb ? Math.round((rate / pgb.tps) * 10_000) / 10_000 : null,
  wall_s: wallS,
  ok: problems.length === 0, problems,
};

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const lines = [
  '',
  `善汇 bench:donations`,
  `  machine    ${machineLine(machine)}`,
  `  settings   N=${N} C=${C} worker_concurrency=${WORKERS} db_pool_max=${DB_POOL_MAX}`,
  `  campaigns  ${raised.map((r) => `${r.slug} (${r.donations})`).join(', ')}, round-robin; hot rows: their campaign:<id>:donations:CNY accounts`,
  `  pre-create ${N} donations in ${precreateS.toFixed(1)} s (untimed)`,
  `  confirmed  ${done.n}/${N} in ${f1(confirmS)} s → ${f1(rate)} donations/s`,
  `  acks       p50 ${f1(ack.p50)} ms · p99 ${f1(ack.p99)} ms · max ${f1(ack.max)} ms · all sent in ${secs(ackedAt - t0).toFixed(1)} s · non-200: ${non200.length}`,
  `  fees       drained ${drainS.toFixed(1)} s after the last confirmation`,
  `  ledger     ${tb.balanced ? 'balanced' : 'NOT BALANCED'}, ${tb.checks.length - failedChecks.length}/${tb.checks.length} invariant checks passed; journals ${JSON.stringify(journals)}`,
  `  events     outcomes ${JSON.stringify(outcomes)}; jobs retried or failed: ${retried.length}${retried.length ? ` (e.g. ${retried[0]})` : ''}`,
  `  sql        ${perDonation.toFixed(1)} statements per donation from the service's pool, webhook to fee booked ${JSON.stringify(queries)}`,
  `  pgbench    ${pgb ? `${pgb.tps.toFixed(1)} tps (TPC-B-like, -s 10; ${pgb.command})` : 'n/a'}`,
  `  ratio      ${result.ratio ?? 'n/a'} confirmed donations/s per pgbench tps`,
  `  wall       ${wallS.toFixed(1)} s`,
  ...(problems.length ? ['', 'FAILED:', ...problems.map((p) => `  - ${p}`)] : []),
];
console.log(lines.join('\n'));
console.log(`  json       ${await writeResult('donations', result)}\n`);
process.exit(problems.length ? 1 : 0);
