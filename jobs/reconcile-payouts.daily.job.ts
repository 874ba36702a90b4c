import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/**
 * The daily safety net of the money loop: reconciles any payout of the last week that no event
 * brought in, flags ledger movements no payout carried, and flags dormant funds (C-8).
 */
export const reconcilePayoutsDaily: JobDefinition<Record<string, never>> = {
  name: 'reconcile-payouts',
  queue: 'maintenance',
  payloadSchema: z.object({}),
  options: { attempts: 3 },
  async perform(c) {
    const run = await c.reconciliation.runRecent(7);
    const dormant = await c.funds.flagDormant(c.config.FUND_DORMANCY_MONTHS);
    return { payouts: run.payouts.length, missing_at_processor: run.missing_at_processor, newly_dormant: dormant };
  },
};
