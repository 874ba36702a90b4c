import { h } from './harness.js';
import { waitFor, waitForIdleQueues } from './db.js';
import { tokenFor } from './factories.js';
import { give, pay } from './matching.js';

/** A donation given through the API and paid through the sandbox checkout. */
export async function paidGift(slug: string, amount: number, donor: Record<string, unknown> = {}) {
  const g = await give(slug, amount, donor);
  await pay(g.id);
  return g;
}

/** Waits until the maintenance queue (reconciliation, releases) has nothing waiting or running. */
export async function waitForMaintenance(timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await h().c.queues.maintenance.getJobCounts('waiting', 'active', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`maintenance queue still busy: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A new finance user's API token. */
export const financeToken = () => tokenFor('association_finance');

/**
 * Asks the sandbox for a payout (with the discrepancies given) through `POST /api/sandbox/payouts`,
 * then waits for its `payout.paid` webhook to be reconciled. Returns the payout row.
 */
export async function sandboxPayout(inject: string[] = []) {
  const res = await h().api().post('/api/sandbox/payouts').set('Authorization', `Bearer ${await financeToken()}`).send({ inject });
  if (res.status !== 201) throw new Error(`payout failed: ${res.status} ${JSON.stringify(res.body)}`);
  await waitForIdleQueues();
  await waitFor(async () => {
    const row = await h().db('payouts').where({ id: res.body.id }).first();
    return row && row.reconciliation !== 'pending' ? row : null;
  }, `payout ${res.body.id} reconciled`, 20_000);
  await waitForMaintenance();
  return h().db('payouts').where({ id: res.body.id }).first();
}

/** Open exceptions, as `kind` strings, sorted. */
export async function openExceptionKinds(): Promise<string[]> {
  return (await h().db('reconciliation_exceptions').where({ status: 'open' }).pluck('kind')).sort();
}
