import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Container } from '../server/container.js';
import { QUEUE_NAMES } from './queues.js';
import { assertRegistry, JOBS, SCHEDULES } from './registry.js';

/**
 * Starts one BullMQ worker per queue and the job schedulers. Every job name must have exactly
 * one processor (checked first). Returns a function that drains and closes the workers.
 */
export async function startWorkers(c: Container): Promise<() => Promise<void>> {
  const jobs = assertRegistry(JOBS);
  for (const s of SCHEDULES(c)) if (!jobs.has(s.job)) throw new Error(`schedule ${s.id} names unknown job ${s.job}`);
  const log = c.log.child({ category: 'jobs' });
  const connection = new Redis(c.config.REDIS_URL, { maxRetriesPerRequest: null });

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

  for (const s of SCHEDULES(c)) {
    await c.queues[jobs.get(s.job)!.queue].upsertJobScheduler(s.id, { every: s.every }, { name: s.job, data: {} });
  }

  return async () => {
    await Promise.all(workers.map((w) => w.close()));
    connection.disconnect();
  };
}
