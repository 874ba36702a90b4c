import { z } from 'zod';
import { checkInvariants } from '../server/modules/ledger/index.js';
import type { JobDefinition } from './registry.js';

/** Runs the ledger's SQL invariants; any violation is logged at error level for operators. */
export const runLedgerChecks: JobDefinition<Record<string, never>> = {
  name: 'run-ledger-checks',
  queue: 'maintenance',
  payloadSchema: z.object({}),
  options: { attempts: 1 },
  async perform(c) {
    const results = await checkInvariants(c.db);
    const failed = results.filter((r) => !r.ok);
    for (const f of failed) c.log.error({ category: 'ledger', check: f.name, violations: f.violations }, f.message);
    return { checks: results.length, failed: failed.map((f) => f.name) };
  },
};
