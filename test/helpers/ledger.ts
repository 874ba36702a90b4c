import { expect } from 'chai';
import { checkInvariants } from '../../server/modules/ledger/index.js';
import { waitForIdleQueues } from './db.js';
import { h } from './harness.js';

/**
 * The ledger as a markdown table, one row per entry in posting order (OC's snapshot style).
 * Account codes have database ids replaced by owner-independent names where given.
 */
export async function snapshotLedger(rename: Record<string, string> = {}, afterJournal = 0): Promise<string> {
  const { rows } = await h().db.raw(`
    SELECT j.kind, a.code, e.amount, e.balance_after
      FROM ledger_entries e JOIN ledger_journals j ON j.id = e.journal_id JOIN ledger_accounts a ON a.id = e.account_id
     WHERE j.id > ?
     ORDER BY j.id, e.id`, [afterJournal]);
  const lines = ['| kind | account | debit | credit | balance after |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const code = rename[r.code] ?? r.code;
    lines.push(`| ${r.kind} | ${code} | ${r.amount > 0 ? r.amount : ''} | ${r.amount < 0 ? -r.amount : ''} | ${r.balance_after ?? '(derived)'} |`);
  }
  return lines.join('\n');
}

/** Every account's balance (normal direction), from entries. */
export async function balances(): Promise<Record<string, number>> {
  const { rows } = await h().db.raw(`
    SELECT a.code, CASE WHEN a.normal_balance = 'debit' THEN 1 ELSE -1 END * coalesce(sum(e.amount), 0)::bigint AS balance
      FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.id ORDER BY a.code`);
  return Object.fromEntries(rows.map((r: { code: string; balance: number }) => [r.code, Number(r.balance)]));
}

/** Journals and entries as comparable data (kind, idempotency key, legs), in key order. */
export async function journalSet(): Promise<unknown[]> {
  const { rows } = await h().db.raw(`
    SELECT j.kind, j.idempotency_key, json_agg(json_build_array(a.code, e.amount) ORDER BY a.code) AS legs
      FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id JOIN ledger_accounts a ON a.id = e.account_id
     GROUP BY j.id ORDER BY j.idempotency_key`);
  return rows;
}

/** Waits for queued payment work to finish, then asserts every invariant (afterEach of money tests). */
export async function expectSettledLedgerHealthy(): Promise<void> {
  await waitForIdleQueues();
  await expectLedgerHealthy();
}

/** Asserts every SQL invariant holds (run after every ledger test). */
export async function expectLedgerHealthy(): Promise<void> {
  const failed = (await checkInvariants(h().db)).filter((r) => !r.ok);
  expect(failed, JSON.stringify(failed, null, 2)).to.deep.equal([]);
}
