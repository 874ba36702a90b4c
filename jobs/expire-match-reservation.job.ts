import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/** Releases a pending donation's match reservation once its TTL has passed (the sweeper is the backstop). */
export const expireMatchReservation: JobDefinition<{ donationId: string }> = {
  name: 'expire-match-reservation',
  queue: 'matching',
  payloadSchema: z.object({ donationId: z.uuid() }),
  options: { attempts: 5 },
  async perform(c, { donationId }) {
    return c.matching.expireDonation(donationId);
  },
};
