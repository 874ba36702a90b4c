import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/**
 * A reconciliation run asked for through `POST /api/reconciliation/run`: one payout, or every
 * payout of the last `days`, then the missing-at-processor check. Reports its progress per payout.
 */
export const reconcileRecent: JobDefinition<{ payout?: string; days: number }> = {
  name: 'reconcile-recent',
  queue: 'maintenance',
  payloadSchema: z.object({ payout: z.string().regex(/^po_\w+$/).optional(), days: z.number().int().min(1).max(90) }),
  options: { attempts: 1 },
  async perform(c, { payout, days }, job) {
    if (payout) {
      const one = await c.reconciliation.reconcile(payout);
      await job?.updateProgress({ done: 1, total: 1 });
      return { payouts: [one], missing_at_processor: await c.reconciliation.checkMissing() };
    }
    return c.reconciliation.runRecent(days, (done: number, total: number) => job?.updateProgress({ done, total }));
  },
};
