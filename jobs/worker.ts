import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Container } from '../server/container.js';
import { createQueues, QUEUE_NAMES } from './queues.js';
import { assertRegistry, JOBS } from './registry.js';
import { keepSchedules } from './schedules.js';

/** How often the worker checks that its schedules still exist in Redis, at most. */
const SCHEDULE_CHECK_MS = 30_000;

/**
 * Starts one BullMQ worker per queue and keeps the job schedulers in Redis: at start, whenever
 * the Redis connection is re-established, and on a timer. Every job name must have exactly one
 * processor (checked first). Returns a function that drains and closes the workers.
 */
export async function startWorkers(c: Container): Promise<() => Promise<void>> {
  const jobs = assertRegistry(JOBS);
  const log = c.log.child({ category: 'jobs' });
  const connection = new Redis(c.config.REDIS_URL, { maxRetriesPerRequest: null });
  connection.on('error', (err) => log.debug({ err }, 'worker redis error'));

  async function run(job: Job) {
    const def = jobs.get(job.name);
    if (!def) throw new Error(`no processor for job ${job.name}`);
    const payload = def.payloadSchema.parse(job.data);
    return def.perform(c, payload, { updateProgress: (p) => job.updateProgress(p) });
  }

  const workers = QUEUE_NAMES.map((queue) => {
    const w = new Worker(queue, run, { connection, prefix: `${c.config.REDIS_PREFIX}-bull`, concurrency: c.config.WORKER_CONCURRENCY });
    w.on('failed', (job, err) => {
      if (!job) return;
      const def = jobs.get(job.name);
      const final = job.attemptsMade >= (job.opts.attempts ?? 1);
      if (!final) return;
      log.error({ err, jobId: job.id, job: job.name }, 'job failed for the last time');
      const parsed = def?.payloadSchema.safeParse(job.data);
      if (def?.onFailed && parsed?.success) def.onFailed(c, parsed.data, err).catch(() => undefined);
    });
    w.on('error', (err) => log.warn({ err, queue }, 'worker error'));
    return w;
  });

  // Scheduling goes through the worker's own connection, which waits out an outage.
  const queues = createQueues(connection, c.config.REDIS_PREFIX, (err) => log.debug({ err }, 'scheduling queue error'));
  const schedules = keepSchedules({ queues, schedules: c.schedules, log });
  const ensure = () => schedules.ensure().catch((err) => log.warn({ err }, 'job schedules not checked; trying again later'));
  await schedules.ensure();
  connection.on('ready', ensure);
  const timer = setInterval(ensure, Math.min(SCHEDULE_CHECK_MS, c.config.EVENT_SWEEP_INTERVAL_MS));
  timer.unref();

  return async () => {
    clearInterval(timer);
    connection.off('ready', ensure);
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(Object.values(queues).map((q) => q.close()));
    connection.disconnect();
  };
}
