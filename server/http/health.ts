import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { withTimeout } from '../../jobs/queues.js';

/** `GET /healthz`: 200 when PostgreSQL and Redis answer, else 503 naming what is down. */
export function healthRouter(deps: { db: Knex; redis: Redis }): Router {
  const r = Router();
  r.get('/healthz', async (_req, res) => {
    const probe = async (fn: () => Promise<unknown>) => withTimeout(fn(), 1500, 'probe').then(() => 'ok' as const, () => 'down' as const);
    const [db, redis] = await Promise.all([probe(() => deps.db.raw('SELECT 1')), probe(() => deps.redis.ping())]);
    const ok = db === 'ok' && redis === 'ok';
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'degraded', db, redis });
  });
  return r;
}
