import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

/** The cooperation agreement every bench fund signs, so its campaigns take donations (C-2). */
export const BENCH_AGREEMENT = { purpose: '压测', management_fee_bp: 500, surplus_disposal: '压测结余转入同类项目', signed_on: new Date('2026-01-01'), signatories: '压测' };

/** An integer of at least `min` (default 1) from the environment, or the default. */
export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Drops (forcing off other sessions) and recreates the database named in `url`, through the `postgres` database. */
export async function recreateDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  if (!/^[a-z0-9_]+$/.test(name) || !/bench/.test(name)) throw new Error(`refusing to drop ${JSON.stringify(name)}: only *bench* databases`);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** Empties the Redis logical database named in `url` (never db 0 or the tests' db 15). */
export async function flushRedisDb(url: string): Promise<void> {
  const db = Number(new URL(url).pathname.slice(1) || '0');
  if (db === 0 || db === 15) throw new Error(`refusing to flush Redis db ${db}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

/** Writes `data` as bench/out/<name>-<timestamp>.json and returns the path relative to the cwd. */
export async function writeResult(name: string, data: unknown): Promise<string> {
  const dir = path.resolve(import.meta.dirname, '..', 'out');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return path.relative(process.cwd(), file);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
