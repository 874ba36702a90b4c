import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { withTimeout, type Queues } from '../../jobs/queues.js';
import { missingSchedules, type Schedule } from '../../jobs/schedules.js';

type State = 'ok' | 'down';
const probe = async (fn: () => Promise<unknown>): Promise<State> => withTimeout(fn(), 1500, 'probe').then(() => 'ok' as const, () => 'down' as const);

/**
 * `GET /healthz`: 200 when PostgreSQL and Redis answer, else 503 naming what is down.
 * `GET /readyz`: also 503 when payments would sit unapplied: a job schedule missing from Redis
 * (the sweeps that apply stored events), or a stored processor event still unprocessed after
 * `staleAfterMs` (the grace period plus two sweeps). It names each and the oldest event's age.
 */
export function healthRouter(deps: { db: Knex; redis: Redis; queues: Queues; schedules: Schedule[]; staleAfterMs: number }): Router {
  const r = Router();

  r.get('/healthz', async (_req, res) => {
    const [db, redis] = await Promise.all([probe(() => deps.db.raw('SELECT 1')), probe(() => deps.redis.ping())]);
    const ok = db === 'ok' && redis === 'ok';
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'degraded', db, redis });
  });

  r.get('/readyz', async (_req, res) => {
    let backlog: { unprocessed: number; oldest_seconds: number | null } | undefined;
    let missing: string[] | undefined;
    const [db, redis] = await Promise.all([
      probe(async () => {
        const { rows } = await deps.db.raw(
          `SELECT count(*)::int AS unprocessed, floor(extract(epoch FROM now() - min(received_at)))::int AS oldest_seconds FROM processor_events WHERE processed_at IS NULL`,
        );
        backlog = rows[0];
      }),
      probe(async () => {
        missing = await missingSchedules(deps.queues, deps.schedules);
      }),
    ]);
    const stale = backlog?.oldest_seconds != null && backlog.oldest_seconds * 1000 > deps.staleAfterMs;
    const payments = backlog ? { state: stale ? 'stale' : 'ok', ...backlog } : { state: 'unknown' };
    const schedules = missing ? { state: missing.length ? 'missing' : 'ok', ...(missing.length ? { missing } : {}) } : { state: 'unknown' };
    const ok = db === 'ok' && redis === 'ok' && payments.state === 'ok' && schedules.state === 'ok';
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'not_ready', db, redis, payments, schedules });
  });

  return r;
}
