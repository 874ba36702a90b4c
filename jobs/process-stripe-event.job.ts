import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/** Applies one stored processor event to its donation and the ledger (exactly once). */
export const processStripeEvent: JobDefinition<{ eventId: string }> = {
  name: 'process-stripe-event',
  queue: 'payments',
  payloadSchema: z.object({ eventId: z.string().min(1) }),
  options: { attempts: 8 },
  async perform(c, { eventId }) {
    return c.paymentEvents.process(eventId);
  },
  async onFailed(c, { eventId }, err) {
    await c.paymentEvents.noteFailure(eventId, err);
  },
};
