import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/**
 * Reconciles one payout after its `payout.paid` event (keyed by the payout, so a second event adds
 * nothing), then looks for ledger movements the processor has paid out past without carrying.
 */
export const reconcilePayout: JobDefinition<{ payoutId: string }> = {
  name: 'reconcile-payout',
  queue: 'maintenance',
  payloadSchema: z.object({ payoutId: z.string().regex(/^po_\w+$/) }),
  async perform(c, { payoutId }) {
    const out = await c.reconciliation.reconcile(payoutId);
    return { ...out, missing_at_processor: await c.reconciliation.checkMissing() };
  },
};
