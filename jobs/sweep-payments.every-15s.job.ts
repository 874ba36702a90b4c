import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/**
 * The safety net for at-least-once work: re-enqueues stored processor events that are still
 * unprocessed (Redis was down when they arrived, or a worker crashed), and fee jobs for paid
 * donations whose fee is still unbooked.
 */
export const sweepPayments: JobDefinition<Record<string, never>> = {
  name: 'sweep-payments',
  queue: 'maintenance',
  payloadSchema: z.object({}),
  options: { attempts: 1 },
  async perform(c) {
    const events = await c.intake.sweep(c.config.EVENT_SWEEP_GRACE_MS);
    let fees = 0;
    for (const id of await c.fees.pending(60_000)) {
      await c.enqueue('record-processor-fee', { donationId: id }, `fee-${id}`, { revive: true });
      fees++;
    }
    return { events, fees };
  },
};
