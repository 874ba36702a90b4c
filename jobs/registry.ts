import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';
import type { Config } from '../server/config.js';
import type { Container } from '../server/container.js';
import { expireMatchReservation } from './expire-match-reservation.job.js';
import { processStripeEvent } from './process-stripe-event.job.js';
import type { QueueName } from './queues.js';
import type { Schedule } from './schedules.js';
import { reconcilePayoutsDaily } from './reconcile-payouts.daily.job.js';
import { reconcilePayout } from './reconcile-payout.job.js';
import { reconcileRecent } from './reconcile-recent.job.js';
import { recordProcessorFee } from './record-processor-fee.job.js';
import { releaseToPools } from './release-to-pools.hourly.job.js';
import { runLedgerChecks } from './run-ledger-checks.hourly.job.js';
import { sweepMatching } from './sweep-matching.every-minute.job.js';
import { sweepPayments } from './sweep-payments.every-15s.job.js';

/** A job: its queue, its payload's schema, options, and what it does. */
export interface JobDefinition<P> {
  name: string;
  queue: QueueName;
  payloadSchema: z.ZodType<P>;
  options?: JobsOptions;
  perform(c: Container, payload: P, job?: { updateProgress(progress: object): Promise<void> }): Promise<unknown>;
  /** Called once the last attempt has failed. */
  onFailed?(c: Container, payload: P, err: unknown): Promise<void>;
}

/** Every job the workers run. */
export const JOBS: JobDefinition<any>[] = [
  processStripeEvent, recordProcessorFee, expireMatchReservation, sweepPayments, sweepMatching, runLedgerChecks,
  reconcilePayout, reconcileRecent, reconcilePayoutsDaily, releaseToPools,
];

/** Repeating jobs and their intervals (BullMQ job schedulers), each on its job's queue. */
export const SCHEDULES = (config: Pick<Config, 'EVENT_SWEEP_INTERVAL_MS'>): Schedule[] =>
  [
    { id: 'sweep-payments.every-15s', job: 'sweep-payments', every: config.EVENT_SWEEP_INTERVAL_MS },
    { id: 'sweep-matching.every-minute', job: 'sweep-matching', every: Math.max(config.EVENT_SWEEP_INTERVAL_MS, 60_000) },
    { id: 'run-ledger-checks.hourly', job: 'run-ledger-checks', every: 3_600_000 },
    { id: 'release-to-pools.hourly', job: 'release-to-pools', every: 3_600_000 },
    { id: 'reconcile-payouts.daily', job: 'reconcile-payouts', every: 86_400_000 },
  ].map((s) => {
    const def = JOBS.find((j) => j.name === s.job);
    if (!def) throw new Error(`schedule ${s.id} names unknown job ${s.job}`);
    return { ...s, queue: def.queue };
  });

/** Fails at boot if a job name is registered twice or a schedule names no job. */
export function assertRegistry(jobs: JobDefinition<unknown>[] = JOBS): Map<string, JobDefinition<unknown>> {
  const byName = new Map<string, JobDefinition<unknown>>();
  for (const j of jobs) {
    if (byName.has(j.name)) throw new Error(`job ${j.name} has more than one processor`);
    byName.set(j.name, j);
  }
  return byName;
}
