import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/** Books the processor's fee once the processor reports it; retries while it is unknown. */
export const recordProcessorFee: JobDefinition<{ donationId: string }> = {
  name: 'record-processor-fee',
  queue: 'payments',
  payloadSchema: z.object({ donationId: z.uuid() }),
  options: { attempts: 10, backoff: { type: 'exponential', delay: 5000 } },
  async perform(c, { donationId }) {
    return c.fees.record(donationId);
  },
};
