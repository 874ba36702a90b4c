import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

/** Queues: `payments` carries money work, `matching` delayed reservation expiries, `maintenance` the sweepers and checks. */
export const QUEUE_NAMES = ['payments', 'matching', 'maintenance'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Defaults for every job: retried with exponential backoff, kept a while for deduplication. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export type Queues = Record<QueueName, Queue>;

/** Producer-side queues on a fail-fast connection (no offline queue), so callers never hang. Connection errors go to `onError`. */
export function createQueues(connection: Redis, prefix: string, onError: (err: Error) => void): Queues {
  const make = (name: QueueName) => new Queue(name, { connection, prefix: `${prefix}-bull`, defaultJobOptions: DEFAULT_JOB_OPTIONS }).on('error', onError);
  return { payments: make('payments'), matching: make('matching'), maintenance: make('maintenance') };
}

/** Rejects if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
