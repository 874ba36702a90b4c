import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/** Moves cleared donations, and matches past their notice and paid for by the sponsor, into the pools. */
export const releaseToPools: JobDefinition<Record<string, never>> = {
  name: 'release-to-pools',
  queue: 'maintenance',
  payloadSchema: z.object({}),
  options: { attempts: 3 },
  async perform(c) {
    return c.releases.releaseDue();
  },
};
