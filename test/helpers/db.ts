import { h } from './harness.js';

const TABLES = [
  'evaluation_inputs', 'evaluations', 'project_expenses', 'project_reports', 'tranches', 'contracts', 'objections', 'review_scores', 'panel_members',
  'application_flags', 'application_members', 'applications', 'calls', 'attachments', 'credit_list',
  'reconciliation_exceptions', 'payout_items', 'payouts', 'sandbox_balance_transaction_pages', 'sandbox_balance_transactions', 'sandbox_payouts', 'pool_releases', 'sponsor_receipts', 'sponsor_invoices',
  'government_allocations', 'ledger_periods', 'fund_committee_members', 'fund_agreements',
  'match_distributions', 'campaign_linked_identities', 'donor_identities', 'match_allocations', 'match_counters', 'grant_pool_shards',
  'grant_rule_versions', 'grant_scope_streets', 'grant_scope_campaigns', 'grants', 'sponsors', 'organisations',
  'ledger_entries', 'ledger_journals', 'ledger_accounts', 'sandbox_payments', 'processor_events', 'donations', 'campaigns', 'api_tokens', 'community_funds', 'communities', 'streets', 'districts'];

/**
 * Empties every table (one TRUNCATE … RESTART IDENTITY CASCADE) and the live-totals cache.
 * Waits for the payment queue to drain first, so no job from the previous test lands after.
 */
export async function resetDb(): Promise<void> {
  const { c, db } = h();
  await waitForIdleQueues();
  await c.publisher.drain();
  await db.raw(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`);
  c.ledger.forgetAccounts();
  c.grants.forget();
  const keys = await c.redis.keys(`${c.config.REDIS_PREFIX}:*`);
  if (keys.length) await c.redis.del(...keys);
}

/** Resolves once no payment job is waiting, delayed or active, and no maintenance job (a scheduled sweep or check) is running or due. */
export async function waitForIdleQueues(timeoutMs = 15_000): Promise<void> {
  const { c } = h();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = {
      payments: await c.queues.payments.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
      maintenance: await c.queues.maintenance.getJobCounts('waiting', 'active', 'prioritized'),
    };
    if (Object.values(counts).every((q) => Object.values(q).every((n) => n === 0))) return;
    if (Date.now() > deadline) throw new Error(`queues still busy: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what = 'condition', timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
