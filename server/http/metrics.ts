import { timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { Knex } from 'knex';
import client from 'prom-client';
import type { Queues } from '../../jobs/queues.js';
import { can } from '../modules/auth/index.js';

/**
 * Prometheus metrics (prom-client): process defaults, HTTP requests by route and status,
 * queue depths and money figures read at scrape time.
 */
export function createMetrics(deps: { db: Knex; queues: Queues }) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'shanhui_' });
  const requests = new client.Histogram({
    name: 'shanhui_http_request_duration_seconds', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  new client.Gauge({
    name: 'shanhui_queue_jobs', help: 'BullMQ jobs by queue and state', labelNames: ['queue', 'state'] as const, registers: [registry],
    async collect() {
      this.reset();
      for (const [name, q] of Object.entries(deps.queues)) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed').catch(() => ({} as Record<string, number>));
        for (const [state, n] of Object.entries(counts)) this.set({ queue: name, state }, n);
      }
    },
  });
  new client.Gauge({
    name: 'shanhui_donations', help: 'Donations by status', labelNames: ['status'] as const, registers: [registry],
    async collect() {
      this.reset();
      for (const r of await deps.db('donations').groupBy('status').select('status', deps.db.raw('count(*) AS n'))) this.set({ status: r.status }, Number(r.n));
    },
  });
  new client.Gauge({
    name: 'shanhui_processor_events_unprocessed', help: 'Stored processor events not yet applied', registers: [registry],
    async collect() {
      const [{ n }] = await deps.db('processor_events').whereNull('processed_at').count({ n: '*' });
      this.set(Number(n));
    },
  });

  /** Times every request (by its matched route pattern, never the raw path). */
  const observe: RequestHandler = (req, res, next) => {
    const end = requests.startTimer({ method: req.method });
    res.on('finish', () => end({ route: req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched', status: String(res.statusCode) }));
    next();
  };

  /** `GET /metrics`: with `Authorization: Bearer <METRICS_TOKEN>`, or for an admin session. */
  function router(token: string | undefined): Router {
    const r = Router();
    r.get('/metrics', async (req, res) => {
      const given = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '')?.[1] ?? '';
      const byToken = token !== undefined && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));
      if (!byToken && !can(req.principal, 'queues.admin')) return res.status(401).json({ error: { code: 'unauthorized', message: req.t('errors.unauthorized') } });
      res.set('Content-Type', registry.contentType).send(await registry.metrics());
    });
    return r;
  }

  return { observe, router, registry };
}
