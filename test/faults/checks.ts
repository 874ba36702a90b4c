import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import pg from 'pg';
import { checkInvariants } from '../../server/modules/ledger/index.js';
import { statuses, yuan, type Verdict } from './figures.js';
import { waitUntil } from './infra.js';
import type { Stack } from './stack.js';

/**
 * The money and health checks a scenario ends with: raised and matched four ways, nothing paid or
 * booked twice, pools within budget, the ledger invariants and trial balance, deadlocks, and the
 * CPU and pg_stat_statements figures.
 */

// ------------------------------------------------------------------ checks

export interface CampaignMoney {
  slug: string;
  id: number;
  /** What the suite's own model says was raised (net of refunds and disputes). */
  expected?: number;
  db: number;
  ledger: number;
  api: number | null;
  matchLedger: number;
  matchAllocations: number;
  apiMatched: number | null;
}

/** Raised per campaign four ways: the suite's model, the donations table, the ledger and GET /api/campaigns/:slug. */
export async function campaignMoney(stack: Stack, campaigns: { id: number; slug: string }[], expected?: Map<string, number>): Promise<CampaignMoney[]> {
  const out: CampaignMoney[] = [];
  for (const c of campaigns) {
    const [{ raised }] = (await stack.db.raw(`SELECT coalesce(sum(amount_minor - refunded_minor - disputed_minor) FILTER (WHERE succeeded_at IS NOT NULL), 0)::bigint AS raised FROM donations WHERE campaign_id = ?`, [c.id])).rows;
    const balance = async (code: string) => Number((await stack.db('ledger_accounts').where({ code }).first('balance'))?.balance ?? 0);
    const [{ live }] = (await stack.db.raw(
      `SELECT coalesce(sum(m.committed_minor - m.clawed_back_minor), 0)::bigint AS live FROM match_allocations m JOIN donations d ON d.id = m.donation_id WHERE d.campaign_id = ? AND m.release_id IS NULL`, [c.id])).rows;
    out.push({
      slug: c.slug, id: c.id, expected: expected?.get(c.slug), db: Number(raised),
      ledger: await balance(`campaign:${c.id}:donations:CNY`), api: null,
      matchLedger: await balance(`campaign:${c.id}:match:CNY`), matchAllocations: Number(live), apiMatched: null,
    });
  }
  return out;
}

/**
 * Money checks with the API included: the API's totals come from a cache that is refreshed after
 * commit, so they are polled until they agree (or `timeoutMs`). Returns the rows and the mismatches.
 */
export async function checkMoney(stack: Stack, campaigns: { id: number; slug: string }[], expected?: Map<string, number>, timeoutMs = 20_000): Promise<{ rows: CampaignMoney[]; mismatches: string[]; apiSeconds: number }> {
  const t = performance.now();
  let rows: CampaignMoney[] = [];
  let mismatches: string[] = [];
  const check = async () => {
    rows = await campaignMoney(stack, campaigns, expected);
    mismatches = [];
    for (const r of rows) {
      const res = await stack.http.get(`/api/campaigns/${r.slug}`);
      r.api = res.status === 200 ? Number(res.body.raised) : null;
      r.apiMatched = res.status === 200 ? Number(res.body.matched) : null;
      if (r.expected !== undefined && r.expected !== r.db) mismatches.push(`${r.slug}: model ${r.expected} ≠ donations ${r.db}`);
      if (r.db !== r.ledger) mismatches.push(`${r.slug}: donations ${r.db} ≠ ledger ${r.ledger}`);
      if (r.api !== r.db) mismatches.push(`${r.slug}: API raised ${r.api} ≠ donations ${r.db}`);
      if (r.matchLedger !== r.matchAllocations) mismatches.push(`${r.slug}: match ledger ${r.matchLedger} ≠ allocations ${r.matchAllocations}`);
      if (r.apiMatched !== r.matchLedger) mismatches.push(`${r.slug}: API matched ${r.apiMatched} ≠ match ledger ${r.matchLedger}`);
    }
    return mismatches.length === 0;
  };
  await waitUntil(check, 'money to agree', timeoutMs, 500).catch(() => undefined);
  return { rows, mismatches, apiSeconds: (performance.now() - t) / 1000 };
}

/** Donations paid more than once, journals of a payment posted twice, fees booked twice. */
export async function doubles(db: Knex): Promise<{ donationJournals: number; feeJournals: number; paidWithoutJournal: number; refundDupes: number; disputeDupes: number }> {
  const one = async (sql: string) => Number((await db.raw(sql)).rows[0].n);
  return {
    donationJournals: await one(`SELECT count(*) AS n FROM (SELECT donation_id FROM ledger_journals WHERE kind = 'donation' GROUP BY donation_id HAVING count(*) > 1) x`),
    feeJournals: await one(`SELECT count(*) AS n FROM (SELECT donation_id FROM ledger_journals WHERE kind = 'processor_fee' GROUP BY donation_id HAVING count(*) > 1) x`),
    paidWithoutJournal: await one(`SELECT count(*) AS n FROM donations d WHERE d.succeeded_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_journals j WHERE j.donation_id = d.id AND j.kind = 'donation')`),
    refundDupes: await one(`SELECT count(*) AS n FROM (SELECT refs->>'refund_id' FROM ledger_journals WHERE kind = 'refund' GROUP BY refs->>'refund_id' HAVING count(*) > 1) x`),
    disputeDupes: await one(`SELECT count(*) AS n FROM (SELECT refs->>'dispute_id' FROM ledger_journals WHERE kind = 'dispute' GROUP BY refs->>'dispute_id' HAVING count(*) > 1) x`),
  };
}

/** Every grant's budget against what is committed and reserved (allocations), and its pool shards. */
export async function pools(db: Knex): Promise<{ id: number; budget: number; committed: number; reserved: number; shardsNegative: number; over: boolean }[]> {
  const { rows } = await db.raw(`
    SELECT g.id, g.budget_minor AS budget,
           coalesce(sum(m.committed_minor - m.clawed_back_minor) FILTER (WHERE m.status IN ('committed', 'clawed_back')), 0)::bigint AS committed,
           coalesce(sum(m.reserved_minor) FILTER (WHERE m.status IN ('reserved', 'held')), 0)::bigint AS reserved,
           (SELECT count(*) FROM grant_pool_shards s JOIN ledger_accounts a ON a.id = s.account_id WHERE s.grant_id = g.id AND a.balance < 0)::int AS shards_negative
      FROM grants g LEFT JOIN match_allocations m ON m.grant_id = g.id
     GROUP BY g.id ORDER BY g.id`);
  return rows.map((r: any) => ({ id: r.id, budget: Number(r.budget), committed: Number(r.committed), reserved: Number(r.reserved), shardsNegative: r.shards_negative, over: Number(r.committed) + Number(r.reserved) > Number(r.budget) }));
}

/** The SQL invariants (server/modules/ledger/invariants.ts) that fail, by name. */
export async function failedInvariants(db: Knex): Promise<{ failed: string[]; total: number }> {
  const results = await checkInvariants(db);
  return { failed: results.filter((r) => !r.ok).map((r) => `${r.name} (${JSON.stringify(r.violations.slice(0, 3))})`), total: results.length };
}

/** GET /api/ledger/trial-balance as an admin: balanced, and its totals. */
export async function trialBalance(stack: Stack): Promise<{ status: number; balanced: boolean; debits: number; credits: number; checks: string }> {
  const res = await stack.http.request('GET', '/api/ledger/trial-balance', { token: stack.adminToken, timeoutMs: 120_000 });
  if (res.status !== 200) return { status: res.status, balanced: false, debits: 0, credits: 0, checks: res.text.slice(0, 200) };
  const cny = (res.body.totals as { currency: string; debits: number; credits: number }[]).find((t) => t.currency === 'CNY') ?? { debits: 0, credits: 0 };
  const checks = res.body.checks as { ok: boolean }[];
  return { status: 200, balanced: res.body.balanced === true, debits: cny.debits, credits: cny.credits, checks: `${checks.filter((c) => c.ok).length}/${checks.length}` };
}

/** Deadlocks on the scenario's database: PostgreSQL's counter, its log, and the service's logs. */
export async function deadlocks(stack: Stack): Promise<{ pgStat: number; pgLog: number; serviceLogs: number }> {
  const admin = new pg.Client({ connectionString: stack.pg.url('postgres') });
  let pgStat = -1;
  try {
    await admin.connect();
    pgStat = Number((await admin.query('SELECT deadlocks FROM pg_stat_database WHERE datname = $1', [stack.dbName])).rows[0]?.deadlocks ?? 0);
  } catch {
    /* reported as -1 */
  } finally {
    await admin.end().catch(() => undefined);
  }
  const pgLog = stack.pg.logCount('deadlock detected', stack.dbName);
  return { pgStat, pgLog, serviceLogs: stack.webCounts.deadlocks + stack.worker.counts.deadlocks };
}

/**
 * The checks every money scenario ends with, after the load has stopped and the backlog settled:
 * money four ways, nothing paid or booked twice, no pool over budget, every ledger invariant, the
 * trial balance, no 5xx other than 503, no deadlock, no process that died by itself.
 * Returns figure rows.
 */
export async function standardChecks(stack: Stack, v: Verdict, opts: { campaigns: { id: number; slug: string }[]; expected?: Map<string, number>; allow503?: boolean }): Promise<[string, unknown][]> {
  const rows: [string, unknown][] = [];
  const money = await checkMoney(stack, opts.campaigns, opts.expected);
  const raised = money.rows.reduce((s, r) => s + r.db, 0);
  const matched = money.rows.reduce((s, r) => s + r.matchLedger, 0);
  rows.push(['raised (model = donations = ledger = API)', `${yuan(raised)} over ${money.rows.length} campaigns; matched ${yuan(matched)}`]);
  v.check('money: model = donations = ledger = API, per campaign (raised and matched)', money.mismatches.length === 0, money.mismatches.slice(0, 6).join('; '));

  const d = await doubles(stack.db);
  rows.push(['paid/booked twice', d]);
  v.check('each donation paid once (one donation journal), each fee, refund and dispute booked once', d.donationJournals === 0 && d.feeJournals === 0 && d.paidWithoutJournal === 0 && d.refundDupes === 0 && d.disputeDupes === 0, d);

  const p = await pools(stack.db);
  rows.push(['pools (budget / committed / reserved)', p.map((g) => `#${g.id} ${g.budget}/${g.committed}/${g.reserved}`).join(', ')]);
  v.check('no pool over budget (committed + reserved ≤ budget), no shard negative', p.every((g) => !g.over && g.shardsNegative === 0), p.filter((g) => g.over || g.shardsNegative));

  const lag = (await stack.db.raw(`SELECT count(*)::int AS n,
      round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)))::numeric, 2) AS p50,
      round((percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)))::numeric, 2) AS p95,
      round(max(extract(epoch FROM processed_at - received_at))::numeric, 2) AS max FROM processor_events WHERE processed_at IS NOT NULL`)).rows[0];
  rows.push(['event stored → applied', `${lag.n} events: p50 ${lag.p50} s, p95 ${lag.p95} s, max ${lag.max} s`]);

  const inv = await failedInvariants(stack.db);
  rows.push(['ledger invariants', `${inv.total - inv.failed.length}/${inv.total} hold`]);
  v.check('every ledger invariant holds', inv.failed.length === 0, inv.failed.join('; '));

  const tb = await trialBalance(stack);
  rows.push(['trial balance (API)', tb.status === 200 ? `${tb.balanced ? 'balanced' : 'NOT balanced'}: debits ${yuan(tb.debits)} = credits ${yuan(tb.credits)}, checks ${tb.checks}` : `HTTP ${tb.status}`]);
  v.check('GET /api/ledger/trial-balance: balanced', tb.balanced && tb.debits === tb.credits, tb);

  const totals = stack.http.totals();
  rows.push(['HTTP statuses (all phases)', statuses(totals)]);
  v.check('no 5xx other than 503', stack.http.serverErrorCount === 0, stack.http.serverErrors.slice(0, 5).join(' | '));
  if (!opts.allow503) v.check('no 503 (no fault was injected that would justify one)', !totals['503'], totals);

  const exits = [...stack.webs.flatMap((w) => w.unexpectedExits.map((e) => `${w.name} ${e}`)), ...stack.worker.unexpectedExits.map((e) => `worker ${e}`)];
  v.check('no process died by itself', exits.length === 0, exits);
  rows.push(['log lines at error (web / worker)', `${stack.webCounts.errors} / ${stack.worker.counts.errors}`]);
  const unhandled = [...stack.webs.flatMap((w) => w.unhandledSamples.map((x) => `${w.name}: ${x}`)), ...stack.worker.unhandledSamples.map((x) => `worker: ${x}`)];
  unhandled.slice(0, 4).forEach((u, i) => rows.push([`unhandled ${i + 1}`, u]));
  return rows;
}

/** CPU seconds used by the web processes, the worker and PostgreSQL's backends of the scenario (read before they stop), and the suite. */
export async function cpuFigure(stack: Stack, suiteStart: NodeJS.CpuUsage): Promise<[string, unknown]> {
  const web = stack.webs.reduce((s, w) => s + w.cpuSeconds(), 0);
  const worker = stack.worker.cpuSeconds();
  const suite = process.cpuUsage(suiteStart);
  let pgCpu = 0;
  try {
    const { rows } = await stack.db.raw(`SELECT pid FROM pg_stat_activity WHERE datname = ?`, [stack.dbName]);
    for (const r of rows as { pid: number }[]) {
      try {
        const f = readFileSync(`/proc/${r.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        pgCpu += (Number(f[11]) + Number(f[12])) / 100;
      } catch {
        /* gone */
      }
    }
  } catch {
    /* no figure */
  }
  return ['CPU seconds (web / worker / live pg backends / suite)', `${web.toFixed(0)} / ${worker.toFixed(0)} / ${pgCpu.toFixed(0)} / ${((suite.user + suite.system) / 1e6).toFixed(0)}`];
}

/** Deadlock figures and check; call after the processes have stopped (their statistics are then flushed). */
export async function deadlockCheck(stack: Stack, v: Verdict): Promise<[string, unknown]> {
  const dl = await deadlocks(stack);
  v.check('0 deadlocks (pg_stat_database, PostgreSQL log, service logs)', dl.pgStat === 0 && dl.pgLog === 0 && dl.serviceLogs === 0, dl);
  return ['deadlocks (pg_stat / pg log / service logs)', `${dl.pgStat} / ${dl.pgLog} / ${dl.serviceLogs}`];
}

/** With FAULT_PG_STATEMENTS=1: the scenario database's costliest statements (pg_stat_statements), for the figures. */
export async function topStatements(stack: Stack, n = 8): Promise<[string, unknown][]> {
  if (process.env.FAULT_PG_STATEMENTS !== '1') return [];
  const res = await stack.db.raw(`
    SELECT round((s.total_exec_time / 1000)::numeric, 1) AS seconds, s.calls, round(s.mean_exec_time::numeric, 2) AS mean_ms, regexp_replace(left(s.query, 160), '\\s+', ' ', 'g') AS query
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ? ORDER BY s.total_exec_time DESC LIMIT ?`, [stack.dbName, n]);
  return res.rows.map((r: { seconds: number; calls: number; mean_ms: number; query: string }, i: number): [string, unknown] => [`pg statement ${i + 1}`, `${r.seconds} s in ${r.calls} calls (${r.mean_ms} ms): ${r.query}`]);
}
