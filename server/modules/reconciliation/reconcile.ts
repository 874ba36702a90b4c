import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.js';
import type { PaymentProvider, ProviderBalanceTransaction } from '../donations/index.js';
import { chart, credit, debit, JournalKind, type LedgerService } from '../ledger/index.js';
import { reconciliationRepo, type PayoutRow } from './reconciliation.repo.js';

const PAGE = 5000;

/** What one reconciliation run of a payout found. */
export interface PayoutOutcome {
  payout: string;
  outcome: 'reconciled' | 'exceptions' | 'already_reconciled' | 'not_paid';
  items?: number;
  matched?: number;
  exceptions?: number;
  fees_booked?: number;
}

/** Charges: each balance transaction of category `charge` against the paid donation with that charge. */
const MATCH_CHARGES = `
  WITH m AS (
    SELECT i.id, d.id AS donation_id,
           CASE WHEN i.currency <> d.currency THEN 'currency_mismatch'
                WHEN i.amount_minor <> d.amount_minor OR i.net_minor <> i.amount_minor - i.fee_minor THEN 'amount_mismatch'
                WHEN d.fee_minor IS NOT NULL AND i.fee_minor <> d.fee_minor THEN 'fee_mismatch' END AS problem,
           CASE WHEN i.amount_minor <> d.amount_minor THEN i.amount_minor - d.amount_minor
                WHEN d.fee_minor IS NOT NULL THEN i.fee_minor - d.fee_minor ELSE 0 END AS difference,
           jsonb_build_object('amount', d.amount_minor, 'currency', d.currency, 'fee', d.fee_minor) AS expected,
           jsonb_build_object('amount', i.amount_minor, 'currency', i.currency, 'fee', i.fee_minor, 'net', i.net_minor, 'source', i.source) AS actual
      FROM payout_items i JOIN donations d ON d.charge_ref = i.source AND d.succeeded_at IS NOT NULL
     WHERE i.payout_id = :payout AND i.status = 'pending' AND i.category = 'charge'),
  u AS (UPDATE payout_items i SET donation_id = m.donation_id, status = CASE WHEN m.problem IS NULL THEN 'matched' ELSE 'exception' END
          FROM m WHERE i.id = m.id)
  INSERT INTO reconciliation_exceptions (kind, payout_id, item_id, donation_id, expected, actual, difference_minor)
  SELECT m.problem, :payout, m.id, m.donation_id, m.expected, m.actual, m.difference FROM m WHERE m.problem IS NOT NULL
  ON CONFLICT DO NOTHING`;

/** Refunds and disputes: each against its ledger journal (`refund:<re_…>`, `dispute:<dp_…>`), by amount and currency. */
const MATCH_RETURNS = `
  WITH m AS (
    SELECT i.id, j.id AS journal_id, j.donation_id,
           CASE WHEN i.currency <> x.currency THEN 'currency_mismatch'
                WHEN -i.amount_minor <> x.amount OR i.net_minor <> i.amount_minor - i.fee_minor THEN 'amount_mismatch' END AS problem,
           -i.amount_minor - x.amount AS difference,
           jsonb_build_object('amount', -x.amount, 'currency', x.currency, 'journal', j.idempotency_key) AS expected,
           jsonb_build_object('amount', i.amount_minor, 'currency', i.currency, 'fee', i.fee_minor, 'net', i.net_minor, 'source', i.source) AS actual
      FROM payout_items i
      JOIN ledger_journals j ON j.idempotency_key = (CASE i.category WHEN 'refund' THEN 'refund:' ELSE 'dispute:' END) || i.source
      CROSS JOIN LATERAL (SELECT sum(e.amount) FILTER (WHERE e.amount > 0) AS amount, min(e.currency) AS currency
                            FROM ledger_entries e WHERE e.journal_id = j.id) x
     WHERE i.payout_id = :payout AND i.status = 'pending' AND i.category IN ('refund', 'dispute')),
  u AS (UPDATE payout_items i SET journal_id = m.journal_id, donation_id = m.donation_id,
               status = CASE WHEN m.problem IS NULL THEN 'matched' ELSE 'exception' END
          FROM m WHERE i.id = m.id)
  INSERT INTO reconciliation_exceptions (kind, payout_id, item_id, journal_id, donation_id, expected, actual, difference_minor)
  SELECT m.problem, :payout, m.id, m.journal_id, m.donation_id, m.expected, m.actual, m.difference FROM m WHERE m.problem IS NOT NULL
  ON CONFLICT DO NOTHING`;

/** Whatever is left: the payout's own transaction is skipped, anything else is unknown to the ledger. */
const UNMATCHED = `
  WITH m AS (
    UPDATE payout_items SET status = CASE WHEN type = 'payout' THEN 'skipped' ELSE 'exception' END
     WHERE payout_id = :payout AND status = 'pending'
    RETURNING id, status, type, category, source, amount_minor, fee_minor, net_minor, currency)
  INSERT INTO reconciliation_exceptions (kind, payout_id, item_id, actual, difference_minor)
  SELECT 'missing_in_ledger', :payout, m.id,
         jsonb_build_object('type', m.type, 'category', m.category, 'source', m.source, 'amount', m.amount_minor, 'fee', m.fee_minor, 'net', m.net_minor, 'currency', m.currency),
         m.net_minor
    FROM m WHERE m.status = 'exception'
  ON CONFLICT DO NOTHING`;

/**
 * The real fees a payout reports that the ledger does not have yet: a matched charge whose fee
 * was never booked (its fee is set on the donation now, under the row lock, so the fee job and
 * this never both book it), and every refund or dispute fee (Stripe's dispute fee).
 */
const FEES_TO_BOOK = `
  WITH charged AS (
    UPDATE donations d SET fee_minor = i.fee_minor, updated_at = now()
      FROM payout_items i
     WHERE i.payout_id = :payout AND i.status = 'matched' AND i.category = 'charge' AND i.donation_id = d.id AND d.fee_minor IS NULL
    RETURNING i.fee_minor)
  SELECT (SELECT coalesce(sum(fee_minor), 0) FROM charged)::bigint
       + (SELECT coalesce(sum(fee_minor), 0) FROM payout_items WHERE payout_id = :payout AND status = 'matched' AND category IN ('refund', 'dispute'))::bigint AS fees`;

const TOTALS = `
  SELECT count(*) FILTER (WHERE status <> 'skipped')::int AS items, count(*) FILTER (WHERE status = 'matched')::int AS matched,
         coalesce(sum(amount_minor) FILTER (WHERE status <> 'skipped'), 0)::bigint AS gross,
         coalesce(sum(fee_minor) FILTER (WHERE status <> 'skipped'), 0)::bigint AS fee,
         coalesce(sum(net_minor) FILTER (WHERE status <> 'skipped'), 0)::bigint AS net
    FROM payout_items WHERE payout_id = :payout`;

/**
 * Reconciles one payout against the ledger. The balance transactions are copied in page by page
 * (outside any transaction: the network call holds no lock), then one transaction, holding the
 * payout row, matches them set by set, records every difference as an exception, books the real
 * fees the payout reports, checks that the nets add up to the payout, and posts the payout
 * journal (clearing → bank). A second run of a reconciled payout changes nothing.
 */
export function createPayoutReconciler(deps: { db: Knex; ledger: LedgerService; provider: PaymentProvider; log: Logger }) {
  const { db, ledger, provider } = deps;

  async function copyItems(payoutId: string): Promise<void> {
    let page: ProviderBalanceTransaction[] = [];
    for await (const bt of provider.listBalanceTransactions(payoutId)) {
      page.push(bt);
      if (page.length === PAGE) {
        await reconciliationRepo.insertItems(db, payoutId, page);
        page = [];
      }
    }
    await reconciliationRepo.insertItems(db, payoutId, page);
  }

  async function settle(trx: Knex.Transaction, p: PayoutRow): Promise<PayoutOutcome> {
    const run = (sql: string) => trx.raw(sql, { payout: p.id });
    await run(MATCH_CHARGES);
    await run(MATCH_RETURNS);
    await run(UNMATCHED);
    const fees = Number((await run(FEES_TO_BOOK)).rows[0].fees);
    const t = (await run(TOTALS)).rows[0];
    if (Number(t.net) !== p.amount_minor) {
      await trx('reconciliation_exceptions').insert({
        kind: 'payout_sum_mismatch', payout_id: p.id, expected: { amount: p.amount_minor }, actual: { net: Number(t.net), items: t.items }, difference_minor: Number(t.net) - p.amount_minor,
      }).onConflict().ignore();
    }

    const clearing = await ledger.ensureAccount(trx, chart.processorClearing(p.provider, 'CNY'));
    if (fees !== 0) {
      const expense = await ledger.ensureAccount(trx, chart.processorFees('CNY'));
      await ledger.postJournal(trx, {
        kind: JournalKind.PAYOUT_FEE, idempotencyKey: `payout-fee:${p.id}`, effectiveAt: p.arrival_at ?? p.created_at, refs: { payout_id: p.id },
        legs: fees > 0 ? [debit(expense, fees), credit(clearing, fees)] : [debit(clearing, -fees), credit(expense, -fees)],
      });
    }
    let journalId: number | null = null;
    if (p.amount_minor !== 0) {
      const bank = await ledger.ensureAccount(trx, chart.bank('CNY'));
      const amount = Math.abs(p.amount_minor);
      journalId = (await ledger.postJournal(trx, {
        kind: JournalKind.PAYOUT, idempotencyKey: `payout:${p.id}`, effectiveAt: p.arrival_at ?? p.created_at, refs: { payout_id: p.id },
        legs: p.amount_minor > 0 ? [debit(bank, amount), credit(clearing, amount)] : [debit(clearing, amount), credit(bank, amount)],
      })).journalId;
    }
    const [{ n: exceptions }] = await trx('reconciliation_exceptions').where({ payout_id: p.id }).count({ n: '*' });
    // The usual other side of a resolution's adjusting journal.
    if (Number(exceptions) > 0) await ledger.ensureAccount(trx, chart.reconciliationSuspense('CNY'));
    const outcome = Number(exceptions) > 0 ? 'exceptions' : 'reconciled';
    await trx('payouts').where({ id: p.id }).update({
      reconciliation: outcome, items: t.items, matched: t.matched, exceptions: Number(exceptions),
      gross_minor: t.gross, fee_minor: t.fee, net_minor: t.net, journal_id: journalId, reconciled_at: trx.fn.now(),
    });
    return { payout: p.id, outcome, items: t.items, matched: t.matched, exceptions: Number(exceptions), fees_booked: fees };
  }

  return {
    /** Reconciles a payout once it is paid; safe to call any number of times, concurrently too. */
    async reconcile(payoutId: string): Promise<PayoutOutcome> {
      const current = await provider.retrievePayout(payoutId);
      const row = await reconciliationRepo.upsertPayout(db, provider.name, current);
      if (current.status !== 'paid') return { payout: payoutId, outcome: 'not_paid' };
      if (row.reconciliation !== 'pending') return { payout: payoutId, outcome: 'already_reconciled' };
      await copyItems(payoutId);
      const out = await db.transaction(async (trx) => {
        const p = await reconciliationRepo.lockPayout(trx, payoutId);
        if (!p || p.reconciliation !== 'pending') return { payout: payoutId, outcome: 'already_reconciled' } as PayoutOutcome;
        return settle(trx, p);
      });
      deps.log.info({ category: 'reconciliation', ...out }, 'payout reconciled');
      return out;
    },
  };
}

export type PayoutReconciler = ReturnType<typeof createPayoutReconciler>;
