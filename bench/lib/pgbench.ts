import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { recreateDatabase } from './setup.js';

const run = promisify(execFile);

export interface PgbenchOptions {
  host: string;
  user: string;
  database: string;
  scale: number;
  clients: number;
  threads: number;
  seconds: number;
}

export const PGBENCH_DEFAULTS: PgbenchOptions = { host: '127.0.0.1', user: 'postgres', database: 'shanhui_pgbench', scale: 10, clients: 8, threads: 2, seconds: 15 };

export interface PgbenchResult {
  tps: number;
  command: string;
  init_s: number;
}

/**
 * pgbench's built-in TPC-B-like script against a fresh database of its own on the same server:
 * the database is dropped and recreated, initialised at `scale`, then run for `seconds`.
 * Gives a yardstick for how fast this machine's PostgreSQL commits small write transactions.
 */
export async function runPgbench(opts: Partial<PgbenchOptions> = {}): Promise<PgbenchResult> {
  const o = { ...PGBENCH_DEFAULTS, ...opts };
  const conn = ['-h', o.host, '-U', o.user];
  await recreateDatabase(`postgres://${o.user}@${o.host}:5432/${o.database}`);
  const t0 = performance.now();
  await run('pgbench', ['-i', '-s', String(o.scale), '-q', ...conn, o.database], { maxBuffer: 16 << 20 });
  const init_s = (performance.now() - t0) / 1000;
  const args = ['-c', String(o.clients), '-j', String(o.threads), '-T', String(o.seconds), '-n', ...conn, o.database];
  const { stdout } = await run('pgbench', args, { maxBuffer: 16 << 20 });
  const m = /^tps = ([\d.]+)/m.exec(stdout);
  if (!m) throw new Error(`no "tps = …" line in pgbench output:\n${stdout}`);
  return { tps: Number(m[1]), command: `pgbench ${args.join(' ')}`, init_s: Math.round(init_s * 10) / 10 };
}
