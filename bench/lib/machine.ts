import os from 'node:os';
import type { Redis } from 'ioredis';

export interface MachineInfo {
  cpu_model: string;
  cpu_count: number;
  memory_gib: number;
  node: string;
  postgres: string;
  redis: string;
  platform: string;
  date: string;
}

/** Anything that answers SQL the way a pg Client or Pool does. */
interface Queryable {
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
}

/** What the benchmark ran on: CPU, memory, Node, PostgreSQL and Redis versions, and when. */
export async function machineInfo(pg: Queryable, redis: Redis): Promise<MachineInfo> {
  const cpus = os.cpus();
  const { rows } = await pg.query('SELECT version() AS v');
  const info = await redis.info('server');
  return {
    cpu_model: cpus[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown',
    cpu_count: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: String(rows[0]?.v ?? 'unknown'),
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

/** One line for reports: `2 × Intel … · 23.5 GiB · Node v20.20.2 · PostgreSQL 15.20 · Redis 7.0.15 · <date>`. */
export function machineLine(m: MachineInfo): string {
  const pgShort = /^PostgreSQL \S+/.exec(m.postgres)?.[0] ?? m.postgres;
  return `${m.cpu_count} × ${m.cpu_model} · ${m.memory_gib} GiB · Node ${m.node} · ${pgShort} · Redis ${m.redis} · ${m.date}`;
}
