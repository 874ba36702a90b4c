/**
 * `npm run bench:reconcile`: reconcile BENCH_N sandbox balance transactions spread over
 * BENCH_PAYOUTS payouts against the ledger, and time it against the anchor: a plain `COPY` of the
 * same transactions into a table and a `JOIN` with the donations, in the same run.
 *
 * Fixture (untimed): one street, fund and campaign made through the service; BENCH_N paid
 * donations (¥1–¥500, fee 0.6 %, each with its charge) and the processor's side, the sandbox's
 * payouts and balance transactions, written with set-based SQL (this is the processor's data and
 * the donation rows it refers to; no ledger row is written by the fixture). BENCH_BAD of the
 * transactions, spread over the payouts, carry a discrepancy (an amount 1 fen off, or a charge
 * the ledger has never seen). A payout carries consecutive charges, as a processor pays out a
 * day's charges and as the sandbox writes a payout's transactions together; BENCH_LAYOUT=interleaved
 * deals the charges out round-robin instead (every payout then touches every page of both tables).
 *
 * Timed: every payout reconciled through the service's reconciler (pages of the processor's
 * transactions copied in, set-based matching, exceptions, fee and payout journals), BENCH_PARALLEL
 * payouts at a time. Then checked: every good transaction matched, exactly the bad ones
 * excepted, one payout journal each, the trial balance's payout check passing.
 *
 * Env: BENCH_N (1,000,000), BENCH_PAYOUTS (100), BENCH_BAD (20), BENCH_PARALLEL (2),
 * BENCH_LAYOUT (consecutive | interleaved), BENCH_LOG_LEVEL (silent).
 */
import { unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startService } from '../server/boot.js';
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/lib/logger.js';
import { SYSTEM_PRINCIPAL } from '../server/modules/auth/index.js';
import { geoRepo } from '../server/modules/geo/index.js';
import { writeTransactionPages } from '../server/modules/donations/index.js';
import { checkInvariants } from '../server/modules/ledger/index.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { BENCH_AGREEMENT, envInt, flushRedisDb, recreateDatabase, writeResult } from './lib/setup.js';

const N = envInt('BENCH_N', 1_000_000);
const PAYOUTS = envInt('BENCH_PAYOUTS', 100);
const BAD = envInt('BENCH_BAD', 20, 0);
const PARALLEL = envInt('BENCH_PARALLEL', 2);
const LAYOUT = process.env.BENCH_LAYOUT || 'consecutive';
if (LAYOUT !== 'consecutive' && LAYOUT !== 'interleaved') throw new Error(`BENCH_LAYOUT must be consecutive or interleaved, not ${LAYOUT}`);
const INTERLEAVED = LAYOUT === 'interleaved';
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/shanhui_bench_reconcile';
const REDIS_URL = 'redis://127.0.0.1:6379/11';
const DAY = 86_400_000;
const seconds = (t0: number) => Math.round(performance.now() - t0) / 1000;

const wallStart = performance.now();
await recreateDatabase(DATABASE_URL);
await flushRedisDb(REDIS_URL);
const logLevel = process.env.BENCH_LOG_LEVEL || 'silent';
const config = loadConfig({ DATABASE_URL, REDIS_URL, REDIS_PREFIX: 'shanhui-bench-reconcile', LOG_LEVEL: logLevel, SEED_DEMO: 'false', ROLE: 'web', PORT: '0', HOST: '127.0.0.1', DB_POOL_MAX: String(PARALLEL + 4) });
const service = await startService(config, createLogger(logLevel), { listen: false });
const c = service.container;
const probe = new pg.Client({ connectionString: DATABASE_URL });
await probe.connect();
const redis = new Redis(REDIS_URL);
const machine = await machineInfo(probe, redis);
redis.disconnect();

// ── Fixture: a street, its fund and a campaign through the service; then the data, set-based.
let t = performance.now();
const campaign = await c.db.transaction(async (trx) => {
  const district = await geoRepo.insertDistrict(trx, { code: 'bench-district', name: '压测区' });
  const street = await geoRepo.insertStreet(trx, { district_id: district, code: 'bench-street', name: '压测街道' });
  await c.funds.create(trx, { streetId: street, code: 'bench-fund', name: '压测街道慈善基金', agreement: BENCH_AGREEMENT });
  return street;
}).then((street) => c.campaigns.create(SYSTEM_PRINCIPAL, {
  slug: 'bench-reconcile', title: '压测对账', story: '', goal: 10_000_000_000, currency: 'CNY', street, starts_at: new Date(Date.now() - 30 * DAY), ends_at: new Date(Date.now() + 30 * DAY), status: 'live',
}, (k) => k));
await probe.query('ALTER TABLE donations SET (autovacuum_enabled = false)');
await probe.query(
  `INSERT INTO donations (id, campaign_id, amount_minor, currency, status, fee_minor, anonymous, idempotency_key, request_fingerprint, provider, charge_ref, succeeded_at, created_at)
   SELECT gen_random_uuid(), $1, a.amount, 'CNY', 'succeeded', (a.amount * 60 + 5000) / 10000, true, 'bench-' || g, 'bench', 'sandbox', 'ch_bench_' || g, now() - interval '2 days', now() - interval '2 days'
     FROM generate_series(1, $2) g, LATERAL (SELECT 100 + (g::bigint * 7919) % 49901 AS amount) a`,
  [campaign.id, N],
);
await probe.query(`INSERT INTO sandbox_payouts (id, amount_minor, currency, created_at) SELECT 'po_bench_' || p, 0, 'CNY', now() - interval '1 day' FROM generate_series(1, $1) p`, [PAYOUTS]);
await probe.query(
  `INSERT INTO sandbox_balance_transactions (id, payout_id, type, category, source, amount_minor, fee_minor, net_minor, currency, created_at)
   SELECT 'txn_bench_' || g, 'po_bench_' || p.n, 'charge', 'charge',
          CASE WHEN b.unknown THEN 'ch_bench_unknown_' || g ELSE 'ch_bench_' || g END,
          d.amount_minor + CASE WHEN b.off THEN 1 ELSE 0 END, d.fee_minor,
          d.amount_minor + CASE WHEN b.off THEN 1 ELSE 0 END - d.fee_minor, 'CNY', d.succeeded_at
     FROM generate_series(1, $1) g JOIN donations d ON d.charge_ref = 'ch_bench_' || g,
          LATERAL (SELECT CASE WHEN $4 THEN 1 + g % $2 ELSE 1 + (g - 1) * $2 / $1 END AS n) p,
          LATERAL (SELECT $3 > 0 AND g % ($1 / greatest($3, 1)) = 0 AND g / ($1 / greatest($3, 1)) <= $3 AS bad) k,
          LATERAL (SELECT k.bad AND (g / ($1 / greatest($3, 1))) % 2 = 1 AS unknown, k.bad AND (g / ($1 / greatest($3, 1))) % 2 = 0 AS off) b
    ORDER BY p.n, g`,
  [N, PAYOUTS, BAD, INTERLEAVED],
);
await probe.query(
  `WITH s AS (SELECT payout_id, sum(net_minor) AS net FROM sandbox_balance_transactions GROUP BY payout_id)
   UPDATE sandbox_payouts p SET amount_minor = s.net FROM s WHERE s.payout_id = p.id`,
);
await probe.query(
  `INSERT INTO sandbox_balance_transactions (id, payout_id, type, category, source, amount_minor, fee_minor, net_minor, currency, created_at)
   SELECT 'txn_bench_payout_' || id, id, 'payout', 'payout', id, -amount_minor, 0, -amount_minor, 'CNY', now() FROM sandbox_payouts`,
);
// The pages the sandbox answers with, written as it writes them when it makes a payout.
await writeTransactionPages(c.db, (await probe.query('SELECT id FROM sandbox_payouts')).rows.map((p) => p.id as string));
for (const table of ['donations', 'sandbox_balance_transactions', 'sandbox_balance_transaction_pages', 'sandbox_payouts']) await probe.query(`VACUUM ANALYZE ${table}`);
// The fixture's writes are flushed before any clock starts, so no checkpoint of them lands in a timed part.
await probe.query('CHECKPOINT');
const fixtureS = seconds(t);

// ── Anchor: a plain COPY of the same transactions into a table, and a JOIN with the donations.
// Run three times and the median taken, so that one slow moment of a shared machine does not
// flatter the ratio.
const file = `/tmp/shanhui-bench-reconcile-${process.pid}.copy`;
await probe.query(`COPY (SELECT id, payout_id, type, source, amount_minor, fee_minor, net_minor, currency FROM sandbox_balance_transactions) TO '${file}'`);
async function anchorOnce() {
  const t0 = performance.now();
  await probe.query('CREATE TEMP TABLE anchor (id text, payout_id text, type text, source text, amount bigint, fee bigint, net bigint, currency text)');
  await probe.query(`COPY anchor FROM '${file}'`);
  const row = (await probe.query(
    `SELECT count(*) FILTER (WHERE a.amount = d.amount_minor AND a.fee = d.fee_minor AND a.currency = d.currency)::int AS matched, count(*)::int AS joined
       FROM anchor a JOIN donations d ON d.charge_ref = a.source WHERE a.type = 'charge'`,
  )).rows[0];
  const s = seconds(t0);
  await probe.query(`DROP TABLE anchor`);
  return { s, joined: row.joined as number, matched: row.matched as number };
}
const anchors = [await anchorOnce(), await anchorOnce(), await anchorOnce()];
const anchorRuns = anchors.map((a) => a.s);
const anchorS = [...anchorRuns].sort((a, b) => a - b)[1];
const joined = anchors[0];
await unlink(file);

// ── Timed: every payout through the reconciler, PARALLEL at a time.
const ids = (await probe.query('SELECT id FROM sandbox_payouts ORDER BY id')).rows.map((r) => r.id as string);
const perPayout: number[] = [];
const steps = { copy: 0, settle: 0 };
t = performance.now();
let next = 0;
await Promise.all(Array.from({ length: PARALLEL }, async () => {
  while (next < ids.length) {
    const id = ids[next++];
    const t0 = performance.now();
    const out = await c.reconciliation.reconcile(id);
    perPayout.push(performance.now() - t0);
    steps.copy += out.ms?.copy ?? 0;
    steps.settle += out.ms?.settle ?? 0;
  }
}));
const reconcileS = seconds(t);

// ── Checks.
const r = (await probe.query(
  `SELECT (SELECT count(*) FROM payout_item_states WHERE status = 'matched')::int AS matched,
          (SELECT count(*) FROM payout_item_states WHERE status = 'exception')::int AS excepted,
          (SELECT count(*) FROM reconciliation_exceptions)::int AS exceptions,
          (SELECT count(*) FROM payouts WHERE reconciliation <> 'pending')::int AS reconciled,
          (SELECT count(*) FROM ledger_journals WHERE kind = 'payout')::int AS payout_journals`,
)).rows[0];
const payoutCheck = (await checkInvariants(c.db)).find((x) => x.name === 'payouts_have_journal')!;
const problems = [
  r.matched !== N - BAD && `${r.matched} matched, expected ${N - BAD}`,
  r.excepted !== BAD && `${r.excepted} items excepted, expected ${BAD}`,
  r.reconciled !== PAYOUTS && `${r.reconciled} payouts reconciled, expected ${PAYOUTS}`,
  r.payout_journals !== PAYOUTS && `${r.payout_journals} payout journals, expected ${PAYOUTS}`,
  !payoutCheck.ok && 'payouts_have_journal failed',
].filter((x): x is string => Boolean(x));
await probe.end();
await service.stop();

const sorted = [...perPayout].sort((a, b) => a - b);
const ratio = Math.round((reconcileS / anchorS) * 100) / 100;
const result = {
  benchmark: 'reconcile', machine, settings: { n: N, payouts: PAYOUTS, bad: BAD, parallel: PARALLEL, layout: LAYOUT },
  fixture_s: fixtureS, anchor: { seconds: anchorS, runs: anchorRuns, joined: joined.joined, matched: joined.matched }, reconcile: { seconds: reconcileS, per_second: Math.round(N / reconcileS), payout_ms_p50: Math.round(sorted[Math.floor(sorted.length / 2)]), payout_ms_max: Math.round(sorted[sorted.length - 1]), copy_ms_total: steps.copy, settle_ms_total: steps.settle },
  ratio, checks: r, goal: { max_seconds: 60, max_ratio: 3, met: reconcileS <= 60 && ratio <= 3 }, wall_s: seconds(wallStart), ok: problems.length === 0, problems,
};
console.log([
  '',
  '善汇 bench:reconcile',
  `  machine    ${machineLine(machine)}`,
  `  settings   ${N.toLocaleString('en')} balance transactions over ${PAYOUTS} payouts, ${BAD} with a discrepancy, ${PARALLEL} payouts at a time, ${LAYOUT} charges per payout`,
  `  fixture    ${fixtureS.toFixed(1)} s (untimed)`,
  `  anchor     COPY + JOIN: ${anchorS.toFixed(2)} s, the median of ${anchorRuns.map((s) => s.toFixed(2)).join(' / ')} (${joined.joined.toLocaleString('en')} joined, ${joined.matched.toLocaleString('en')} equal)`,
  `  reconcile  ${reconcileS.toFixed(2)} s → ${result.reconcile.per_second.toLocaleString('en')} transactions/s · per payout p50 ${result.reconcile.payout_ms_p50} ms, max ${result.reconcile.payout_ms_max} ms · summed over payouts: copy in ${(steps.copy / 1000).toFixed(1)} s, match and post ${(steps.settle / 1000).toFixed(1)} s`,
  `  ratio      ${ratio}× the anchor (goal ≤ 3×, ≤ 60 s: ${result.goal.met ? 'met' : 'NOT met'})`,
  `  checks     matched ${r.matched.toLocaleString('en')}, excepted ${r.excepted} (${r.exceptions} exceptions), payouts ${r.reconciled}/${PAYOUTS}, payout journals ${r.payout_journals}`,
  `  wall       ${result.wall_s.toFixed(1)} s`,
  ...(problems.length ? ['', 'FAILED:', ...problems.map((p) => `  - ${p}`)] : []),
].join('\n'));
console.log(`  json       ${await writeResult('reconcile', result)}\n`);
process.exit(problems.length ? 1 : 0);
