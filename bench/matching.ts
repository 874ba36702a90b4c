/**
 * `npm run bench:matching`: donations per second with matching from one hot pool, single pool row
 * against the sharded pool, each donation written alone against group-committed batches, with
 * pgbench's TPC-B-like TPS from the same run as the anchor.
 *
 * Unit of work ("tx"): the reservation step of `donations.create`: `matching.prepare` (the cached
 * list of grants, outside the transaction), then the donation writer: the pending donation is
 * inserted and its match reserved (`match_reserve_batch`), either in a transaction of its own
 * (`alone`: DONATION_BATCH_MAX = 1) or together with the donations that arrived meanwhile
 * (`batched`: the service's DONATION_BATCH_MAX and DONATION_BATCH_IN_FLIGHT). In order:
 *   1. exhaustion, per writing, strategy (1 row, BENCH_SHARDS rows) and round: a ¥1,000 pool
 *      (partial_last_match) hit by BENCH_EXHAUST_N reservations of ¥1–¥50 at concurrency C must
 *      end exactly spent (Σ reserved = 100,000 fen, every shard 0) with a balanced ledger, no
 *      client errors and no deadlocks;
 *   2. timed phases, BENCH_SECONDS each at concurrency BENCH_C, each on fresh campaigns
 *      (BENCH_CAMPAIGNS, round-robin, closed afterwards) and a fresh 1:1 all-campaigns grant whose
 *      budget never runs out (closed afterwards):
 *        baseline      no grant (reserve finds none);
 *        single row    pool_shards 1: the pool row is the hot row;
 *        sharded       pool_shards BENCH_SHARDS;
 *        … +email      each gift with a unique email (identities, risk checks, donor-day counter);
 *        … full create the whole `donations.create` (idempotency reads, sandbox payment, expiry job,
 *                      live updates);
 *   3. the trial balance of the whole run.
 * The service (ROLE all) runs in this process. pgbench runs before it starts and after it stops;
 * the mean of the two is the anchor every ratio divides by.
 *
 * Env: BENCH_C (64), BENCH_SECONDS (10), BENCH_SHARDS (16), BENCH_CAMPAIGNS (8),
 * BENCH_EXHAUST_N (2000), BENCH_EXHAUST_ROUNDS (3 per strategy), BENCH_DB_POOL_MAX (C + 8),
 * BENCH_TRACK_FUNCTIONS (0; 1 adds PL/pgSQL time per function), BENCH_LOG_LEVEL (silent),
 * BENCH_PHASES (all; e.g. `5,6` runs only those phases).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startService } from '../server/boot.js';
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/lib/logger.js';
import { trialBalance } from '../server/modules/ledger/index.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { drive, type LoadResult } from './lib/load.js';
import { activeGrant, batchesFor, closeCampaigns, createCampaigns, createStreets, deadlocks, flushBackendStats, poolFigures, randomAmount, reserveOne, type Writing } from './lib/matching-fixtures.js';
import { runPgbench } from './lib/pgbench.js';
import { countQueries, cpuMeter, functionDelta, functionStats, StepTimer, waitSampler } from './lib/profile.js';
import { envInt, flushRedisDb, recreateDatabase, sleep, writeResult } from './lib/setup.js';

const C = envInt('BENCH_C', 64);
const SECONDS = envInt('BENCH_SECONDS', 10);
const SHARDS = envInt('BENCH_SHARDS', 16);
const CAMPAIGNS = envInt('BENCH_CAMPAIGNS', 8);
const EXHAUST_N = envInt('BENCH_EXHAUST_N', 2000);
const EXHAUST_ROUNDS = envInt('BENCH_EXHAUST_ROUNDS', 3, 0);
// Above C, so the service's own reads (live updates, grant lists) never queue behind C open transactions.
const DB_POOL_MAX = envInt('BENCH_DB_POOL_MAX', C + 8);
// Opt-in: PL/pgSQL time per function (track_functions = 'pl' on the bench database; adds ~3 s per phase).
const TRACK_FUNCTIONS = process.env.BENCH_TRACK_FUNCTIONS === '1';
const EXHAUST_BUDGET = 100_000;
const NEVER_RUNS_OUT = 10_000_000_000;
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/shanhui_bench_matching';
const REDIS_URL = 'redis://127.0.0.1:6379/12';

const wallStart = performance.now();
const problems: string[] = [];

const pgbench = async (when: string) => runPgbench().catch((err: Error) => {
  problems.push(`pgbench (${when}) failed: ${err.message.split('\n')[0]}`);
  return undefined;
});
// The anchor runs twice, before the service starts and after it stops; the mean is the yardstick.
const pgbBefore = await pgbench('before');

await recreateDatabase(DATABASE_URL);
// The bench's own connection for checks and sampling, outside the service's pool.
const probe = new pg.Client({ connectionString: DATABASE_URL });
await probe.connect();
if (TRACK_FUNCTIONS) await probe.query(`ALTER DATABASE shanhui_bench_matching SET track_functions = 'pl'`);
await flushRedisDb(REDIS_URL);
const logLevel = process.env.BENCH_LOG_LEVEL || 'silent';
const config = loadConfig({
  DATABASE_URL, REDIS_URL, REDIS_PREFIX: 'shanhui-bench-matching', LOG_LEVEL: logLevel, SEED_DEMO: 'false', ROLE: 'all', PORT: '0', HOST: '127.0.0.1',
  EVENT_SWEEP_INTERVAL_MS: '3600000', MATCH_RESERVATION_TTL_MS: '3600000', DB_POOL_MAX: String(DB_POOL_MAX),
});
const service = await startService(config, createLogger(logLevel));
const c = service.container;
const db = c.db;
const redis = new Redis(REDIS_URL);
const machine = await machineInfo(probe, redis);
redis.disconnect();
const streets = await createStreets(c, CAMPAIGNS);
const deadlocksAtStart = await deadlocks(probe);
await sleep(1000); // let the job schedulers' first runs finish

// ── Exhaustion first, while the database is small (the trial balance's checks grow with it):
// a ¥1,000 pool, EXHAUST_N reservations at concurrency C, per strategy and round.
async function exhaust(shards: number, writing: Writing, round: number) {
  const campaigns = await createCampaigns(c, streets, `x${shards}-${writing[0]}${round}`);
  const batches = batchesFor(c, writing, C);
  const grant = await activeGrant(c, { budget: EXHAUST_BUDGET, shards, partial: true });
  await flushBackendStats(db, DB_POOL_MAX);
  const before = await deadlocks(probe);
  const load: LoadResult = await drive({ concurrency: C, n: EXHAUST_N }, (i) => reserveOne(c, batches, campaigns[i % campaigns.length], randomAmount(), null));
  await flushBackendStats(db, DB_POOL_MAX);
  const deadlockDelta = (await deadlocks(probe)) - before;
  const pool = await poolFigures(probe, grant.id);
  const tb = await trialBalance(db);
  const failedChecks = tb.checks.filter((x) => !x.ok).map((x) => x.name);
  const fails = [
    pool.reserved_total !== EXHAUST_BUDGET && `Σ reserved ${pool.reserved_total} ≠ ${EXHAUST_BUDGET}`,
    pool.shard_balances.some((b) => b !== 0) && `shard balances ${JSON.stringify(pool.shard_balances)} not all 0`,
    pool.unopened_budget !== 0 && `unopened budget ${pool.unopened_budget} ≠ 0`,
    pool.allocations.total !== load.ok && `${pool.allocations.total} allocations for ${load.ok} donations`,
    load.errors > 0 && `${load.errors} client errors (${load.first_error})`,
    deadlockDelta !== 0 && `${deadlockDelta} deadlocks`,
    !tb.balanced && `trial balance not balanced (failed checks: ${failedChecks.join(', ') || 'debits ≠ credits'})`,
  ].filter((x): x is string => Boolean(x));
  problems.push(...fails.map((f) => `exhaustion, ${shards} shard(s), ${writing}, round ${round}: ${f}`));
  await c.grants.close(grant.id);
  await closeCampaigns(db, campaigns);
  return { shards, writing, round, n: EXHAUST_N, concurrency: C, ...load, pool, deadlocks: deadlockDelta, ledger: { balanced: tb.balanced, checks: tb.checks.length, failed_checks: failedChecks }, passed: fails.length === 0 };
}
const exhaustion = [];
for (const writing of ['alone', 'batched'] as const) for (const shards of [1, SHARDS]) for (let r = 1; r <= EXHAUST_ROUNDS; r++) exhaustion.push(await exhaust(shards, writing, r));

// ── Timed phases: BENCH_SECONDS each at concurrency C.
interface Phase { name: string; path: 'tx' | 'full'; writing: Writing; shards: number | null; email?: boolean }
const PHASES: Phase[] = [
  { name: 'baseline (no grant), alone', path: 'tx', writing: 'alone', shards: null },
  { name: 'baseline (no grant), batched', path: 'tx', writing: 'batched', shards: null },
  { name: 'single row, alone', path: 'tx', writing: 'alone', shards: 1 },
  { name: `sharded ×${SHARDS}, alone`, path: 'tx', writing: 'alone', shards: SHARDS },
  { name: 'single row, batched', path: 'tx', writing: 'batched', shards: 1 },
  { name: `sharded ×${SHARDS}, batched`, path: 'tx', writing: 'batched', shards: SHARDS },
  { name: 'single row +email, batched', path: 'tx', writing: 'batched', shards: 1, email: true },
  { name: `sharded ×${SHARDS} +email, batched`, path: 'tx', writing: 'batched', shards: SHARDS, email: true },
  { name: 'single row, full create', path: 'full', writing: 'batched', shards: 1 },
  { name: `sharded ×${SHARDS}, full create`, path: 'full', writing: 'batched', shards: SHARDS },
];

async function timed(p: Phase, k: number) {
  const campaigns = await createCampaigns(c, streets, `p${k}`);
  const grant = p.shards ? await activeGrant(c, { budget: NEVER_RUNS_OUT, shards: p.shards }) : null;
  const steps = new StepTimer();
  const batches = batchesFor(c, p.writing, C);
  const unit = p.path === 'full'
    ? (i: number) => c.donations.create(campaigns[i % campaigns.length].slug, { amount: randomAmount(), currency: 'CNY', donor: {} }, `p${k}-${i}`)
    : (i: number) => reserveOne(c, batches, campaigns[i % campaigns.length], randomAmount(), p.email ? `donor-${randomUUID()}@bench.example` : null, steps);
  const fn0 = TRACK_FUNCTIONS ? (await flushBackendStats(db, DB_POOL_MAX), await functionStats(probe)) : null;
  const queries = countQueries(db);
  const cpu = await cpuMeter(probe);
  const waits = waitSampler(probe);
  const load = await drive({ concurrency: C, seconds: SECONDS }, unit);
  const [cpuUse, waitShares, { byVerb, bySql }] = [await cpu.stop(), await waits.stop(), queries.stop()];
  const functions = fn0 ? (await flushBackendStats(db, DB_POOL_MAX), functionDelta(fn0, await functionStats(probe), load.ok)) : null;
  const statements = Object.values(byVerb).reduce((a, b) => a + b, 0);
  let matched: number | null = null;
  if (grant) {
    matched = (await poolFigures(probe, grant.id)).allocations.full;
    if (matched !== load.ok) problems.push(`${p.name}: ${matched} full matches for ${load.ok} donations`);
    await c.grants.close(grant.id);
  }
  await closeCampaigns(db, campaigns);
  if (load.errors) problems.push(`${p.name}: ${load.errors} errors (${load.first_error})`);
  return { ...p, concurrency: C, ...load, matched, statements_per_op: Math.round((statements / Math.max(1, load.ok + load.errors)) * 10) / 10, by_verb: byVerb, by_sql: bySql, steps_ms: p.path === 'tx' ? steps.means() : null, cpu: cpuUse, waits: waitShares, functions };
}

// BENCH_PHASES=3,6 runs only those phases (1-based), e.g. to explore one setting.
const only = (process.env.BENCH_PHASES ?? '').split(',').filter(Boolean).map(Number);
const phases = [];
for (const [k, p] of PHASES.entries()) if (!only.length || only.includes(k + 1)) phases.push(await timed(p, k + 1));

// ── The whole run's ledger, then stop the service (its backends exit, flushing their statistics).
const tTb = performance.now();
const tbFinal = await trialBalance(db);
const finalLedger = { balanced: tbFinal.balanced, failed_checks: tbFinal.checks.filter((x) => !x.ok).map((x) => x.name), seconds: Math.round(performance.now() - tTb) / 1000 };
if (!tbFinal.balanced) problems.push(`final trial balance not balanced (failed checks: ${finalLedger.failed_checks.join(', ') || 'debits ≠ credits'})`);
await service.stop();
const deadlocksRun = (await deadlocks(probe)) - deadlocksAtStart;
if (deadlocksRun) problems.push(`${deadlocksRun} deadlocks over the whole run`);
await probe.end();
const pgbAfter = await pgbench('after');
const anchorRuns = [pgbBefore, pgbAfter].filter((x) => x !== undefined);
const anchor = anchorRuns.length ? Math.round((anchorRuns.reduce((a, x) => a + x.tps, 0) / anchorRuns.length) * 10) / 10 : null;
const ratio = (tps: number) => (anchor ? Math.round((tps / anchor) * 1000) / 1000 : null);
const wallS = Math.round(performance.now() - wallStart) / 1000;
const result = {
  benchmark: 'matching', machine,
  settings: { track_functions: TRACK_FUNCTIONS, concurrency: C, seconds: SECONDS, shards: SHARDS, campaigns: CAMPAIGNS, exhaust_n: EXHAUST_N, exhaust_rounds: EXHAUST_ROUNDS, exhaust_budget: EXHAUST_BUDGET, db_pool_max: DB_POOL_MAX, log_level: logLevel },
  phases: phases.map((p) => ({ ...p, ratio: ratio(p.tps) })),
  exhaustion,
  final_ledger: finalLedger,
  deadlocks_whole_run: deadlocksRun,
  pgbench: { before: pgbBefore ?? null, after: pgbAfter ?? null, anchor_tps: anchor },
  wall_s: wallS,
  ok: problems.length === 0, problems,
};

// ── Report.
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const pad = (s: string | number, n: number) => String(s).padStart(n);
const waitsLine = (w: Record<string, number>) => Object.entries(w).slice(0, 4).map(([k, v]) => `${k} ${v}%`).join(', ');
const lines = [
  '',
  '善汇 bench:matching',
  `  machine    ${machineLine(machine)}`,
  `  settings   C=${C} ${SECONDS} s per phase, ${CAMPAIGNS} campaigns per phase (round-robin), gifts ¥1–¥50, ratio 1:1, db_pool_max=${DB_POOL_MAX}`,
  `  pgbench    ${anchor ?? 'n/a'} tps anchor = mean of ${pgbBefore?.tps.toFixed(1) ?? 'n/a'} (before) and ${pgbAfter?.tps.toFixed(1) ?? 'n/a'} (after); TPC-B-like, -s 10, ${pgbAfter?.command ?? pgbBefore?.command ?? ''}`,
  '',
  `  ${'phase'.padEnd(36)}${pad('TPS', 8)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('errors', 8)}${pad('stmts', 7)}${pad('×pgbench', 10)}`,
  ...phases.map((p) => `  ${p.name.padEnd(36)}${pad(f1(p.tps), 8)}${pad(f1(p.latency_ms.p50), 9)}${pad(f1(p.latency_ms.p99), 9)}${pad(p.errors, 8)}${pad(p.statements_per_op, 7)}${pad(ratio(p.tps)?.toFixed(3) ?? 'n/a', 10)}`),
  '',
  '  where the time goes (CPU: % of one core; machine: % of all cores; waits: pg_stat_activity samples of this database\'s backends)',
  ...phases.map((p) => `  ${p.name.padEnd(36)} node ${f1(p.cpu.node_pct)}% · pg ${f1(p.cpu.pg_backends_pct)}% · machine ${f1(p.cpu.machine_busy_pct)}% (steal ${f1(p.cpu.steal_pct)}%) · ${waitsLine(p.waits.shares)}`),
  ...phases.map((p) => `  ${p.name.padEnd(36)} sql ${JSON.stringify(p.by_verb)}${p.steps_ms ? ` · ms per step ${JSON.stringify(p.steps_ms)}` : ''}`),
  ...phases.filter((p) => p.functions).map((p) => `  ${p.name.padEnd(36)} plpgsql ms/op (self) ${p.functions!.map((f) => `${f.name} ${f.self_ms_per_op}`).join(', ')}`),
  '',
  '  exhaustion (¥1,000 pool, partial_last_match; each gift alone, or batched)',
  ...exhaustion.map((x) => `  ${`${x.shards} shard(s) ${x.writing} #${x.round}`.padEnd(24)} ${x.passed ? 'ok  ' : 'FAIL'} ${x.ok + x.errors}/${x.n} in ${f1(x.seconds)} s (${f1(x.tps)}/s, p99 ${f1(x.latency_ms.p99)} ms) · Σ reserved ${x.pool.reserved_total}/${EXHAUST_BUDGET} · allocations full ${x.pool.allocations.full}, partial ${x.pool.allocations.partial}, zero ${x.pool.allocations.zero} · shards ${JSON.stringify(x.pool.shard_balances)} · errors ${x.errors} · deadlocks ${x.deadlocks} · ledger ${x.ledger.balanced ? 'balanced' : 'NOT BALANCED'} (${x.ledger.checks - x.ledger.failed_checks.length}/${x.ledger.checks} checks)`),
  `  ledger     whole run: ${finalLedger.balanced ? 'balanced' : 'NOT BALANCED'}, ${tbFinal.checks.length - finalLedger.failed_checks.length}/${tbFinal.checks.length} checks (trial balance took ${finalLedger.seconds.toFixed(1)} s)`,
  `  deadlocks over the whole run (pg_stat_database, after the pool closed): ${deadlocksRun}`,
  `  wall       ${wallS.toFixed(1)} s`,
  ...(problems.length ? ['', 'FAILED:', ...problems.map((p) => `  - ${p}`)] : []),
];
console.log(lines.join('\n'));
console.log(`  json       ${await writeResult('matching', result)}\n`);
process.exit(problems.length ? 1 : 0);
