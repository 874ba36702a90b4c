import type { Logger } from '../server/lib/logger.js';
import type { Queues, QueueName } from './queues.js';

/** A repeating job: its scheduler id, its job, its queue and how often it runs, in ms. */
export interface Schedule { id: string; job: string; queue: QueueName; every: number }

/**
 * Keeps the repeating jobs scheduled. `ensure()` creates every schedule Redis lacks; the worker
 * calls it at start, whenever its Redis connection is (re)established and on a timer, so a Redis
 * that comes back empty gets its sweeps, expiries and checks back with no operator. Existing
 * schedules are left alone. Concurrent calls share one pass.
 */
export function keepSchedules(deps: { queues: Queues; schedules: Schedule[]; log: Logger }) {
  let pass: Promise<string[]> | undefined;

  async function createMissing(): Promise<string[]> {
    const created: string[] = [];
    for (const s of deps.schedules) {
      const queue = deps.queues[s.queue];
      if (await queue.getJobScheduler(s.id)) continue;
      await queue.upsertJobScheduler(s.id, { every: s.every }, { name: s.job, data: {} });
      created.push(s.id);
    }
    if (created.length) deps.log.info({ created }, 'job schedules created');
    return created;
  }

  return {
    /** Creates the missing schedules; resolves to the ids it created. */
    ensure(): Promise<string[]> {
      pass ??= createMissing().finally(() => (pass = undefined));
      return pass;
    },
  };
}

/** Ids of the schedules Redis lacks (for readiness checks). */
export async function missingSchedules(queues: Queues, schedules: Schedule[]): Promise<string[]> {
  const found = await Promise.all(schedules.map((s) => queues[s.queue].getJobScheduler(s.id)));
  return schedules.filter((_, i) => !found[i]).map((s) => s.id);
}
