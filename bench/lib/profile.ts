/**
 * Where a benchmark phase spends its time: SQL statements the service's knex pool sends, CPU of
 * this Node process against CPU of the PostgreSQL backends serving this database, and what those
 * backends are doing when sampled (on CPU, waiting for a lock, waiting for Node, …).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';

/** Anything that answers SQL the way a pg Client does. */
interface Queryable {
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Counts statements sent through `db` (BEGIN and COMMIT included) by leading verb (or the function
 * a `SELECT * FROM f(…)` calls), and by statement text (first 70 characters), until `stop()`.
 */
export function countQueries(db: Knex): { stop(): { byVerb: Record<string, number>; bySql: Record<string, number> } } {
  const byVerb: Record<string, number> = {};
  const bySql: Record<string, number> = {};
  const listener = (q: { sql?: string }) => {
    const sql = q.sql ?? '';
    const verb = /^\s*select\s+\*\s+from\s+(\w+)\(/i.exec(sql)?.[1] ?? /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? '?';
    byVerb[verb] = (byVerb[verb] ?? 0) + 1;
    const text = sql.replace(/\s+/g, ' ').trim().slice(0, 70);
    bySql[text] = (bySql[text] ?? 0) + 1;
  };
  db.on('query', listener);
  return {
    stop() {
      db.removeListener('query', listener);
      return { byVerb, bySql: Object.fromEntries(Object.entries(bySql).sort((a, b) => b[1] - a[1])) };
    },
  };
}

const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of a process in seconds, or 0 once it is gone. */
function procSeconds(pid: number): number {
  try {
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICK;
  } catch {
    return 0;
  }
}

/** Whole-machine jiffies from /proc/stat: busy (not idle or iowait), steal, total. */
function machineTicks(): { busy: number; steal: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], steal: f[7], total };
}

const backendPids = async (probe: Queryable): Promise<number[]> =>
  (await probe.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)).rows.map((r) => Number(r.pid));

export interface CpuUse {
  /** This Node process, % of one core. */
  node_pct: number;
  /** PostgreSQL backends connected to this database (the probe excluded), % of one core. */
  pg_backends_pct: number;
  /** Whole machine (every process, other databases included), % of all cores. */
  machine_busy_pct: number;
  /** Time the hypervisor gave to others, % of all cores. */
  steal_pct: number;
}

/** Starts measuring CPU; `stop()` returns each side's share over the interval. */
export async function cpuMeter(probe: Queryable): Promise<{ stop(): Promise<CpuUse> }> {
  const t0 = performance.now();
  const node0 = process.cpuUsage();
  const m0 = machineTicks();
  const pg0 = new Map((await backendPids(probe)).map((pid) => [pid, procSeconds(pid)]));
  return {
    async stop() {
      const wall = (performance.now() - t0) / 1000;
      const node = process.cpuUsage(node0);
      const m1 = machineTicks();
      let pg = 0;
      for (const pid of new Set([...pg0.keys(), ...(await backendPids(probe))])) pg += Math.max(0, procSeconds(pid) - (pg0.get(pid) ?? 0));
      const dt = m1.total - m0.total || 1;
      const r = (x: number) => Math.round(x * 10) / 10;
      return {
        node_pct: r(((node.user + node.system) / 1e6 / wall) * 100),
        pg_backends_pct: r((pg / wall) * 100),
        machine_busy_pct: r(((m1.busy - m0.busy) / dt) * 100),
        steal_pct: r(((m1.steal - m0.steal) / dt) * 100),
      };
    },
  };
}

/**
 * Samples pg_stat_activity for this database every `everyMs` and tallies what each client
 * backend is doing: `cpu` (active, no wait event), `Lock:transactionid` (waiting for another
 * transaction's row lock), `idle in transaction` (waiting for Node inside a transaction),
 * `idle` (waiting for Node between transactions), and so on. Returns shares in %.
 */
export function waitSampler(probe: Queryable, everyMs = 50): { stop(): Promise<{ samples: number; shares: Record<string, number> }> } {
  const tally: Record<string, number> = {};
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await probe.query(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
          WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      for (const r of rows) {
        const key = r.state === 'active' ? (r.wait_event_type ? `${r.wait_event_type}:${r.wait_event}` : 'cpu') : String(r.state);
        tally[key] = (tally[key] ?? 0) + 1;
        n++;
      }
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const shares = Object.fromEntries(Object.entries(tally).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((v / (n || 1)) * 1000) / 10]));
      return { samples: n, shares };
    },
  };
}

export type FunctionStats = Record<string, { calls: number; total_ms: number; self_ms: number }>;

/** pg_stat_user_functions for this database (filled only with track_functions = 'pl'). */
export async function functionStats(probe: Queryable): Promise<FunctionStats> {
  const { rows } = await probe.query('SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions');
  return Object.fromEntries(rows.map((r) => [String(r.funcname), { calls: Number(r.calls), total_ms: Number(r.total_time), self_ms: Number(r.self_time) }]));
}

/** Per-call and per-unit-of-work time of each PL/pgSQL function between two snapshots, busiest first. */
export function functionDelta(before: FunctionStats, after: FunctionStats, units: number) {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return Object.entries(after)
    .map(([name, a]) => {
      const b = before[name] ?? { calls: 0, total_ms: 0, self_ms: 0 };
      const calls = a.calls - b.calls;
      return { name, calls_per_op: r(calls / Math.max(1, units)), total_ms_per_op: r((a.total_ms - b.total_ms) / Math.max(1, units)), self_ms_per_op: r((a.self_ms - b.self_ms) / Math.max(1, units)) };
    })
    .filter((f) => f.calls_per_op > 0)
    .sort((x, y) => y.self_ms_per_op - x.self_ms_per_op);
}

/** Wall time a unit of work spends in each of its steps, summed (ms) with the number of units. */
export class StepTimer {
  readonly ms: Record<string, number> = {};
  units = 0;
  add(step: string, since: number): number {
    const now = performance.now();
    this.ms[step] = (this.ms[step] ?? 0) + (now - since);
    return now;
  }
  /** Mean ms per unit of each step. */
  means(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.ms).map(([k, v]) => [k, Math.round((v / Math.max(1, this.units)) * 100) / 100]));
  }
}
