import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyInt, copyText } from '../../lib/copy-text.js';
import type { Logger } from '../../lib/logger.js';
import type { PaymentProvider, ProviderBalanceTransaction } from '../donations/index.js';
import { chart, credit, debit, JournalKind, type LedgerService } from '../ledger/index.js';
import { reconciliationRepo, type PayoutRow } from './reconciliation.repo.js';

/** What one reconciliation run of a payout found. */
export interface PayoutOutcome {
  payout: string;
  outcome: 'reconciled' | 'exceptions' | 'already_reconciled' | 'not_paid';
  items?: number;
  matched?: number;
  exceptions?: number;
  fees_booked?: number;
  /** Wall time of copying the processor's transactions in, and of matching and posting. */
  ms?: { copy: number; settle: number };
}

/** The idempotency key of the journal a refund or dispute item `i` names: `refund:<re_…>`, `dispute:<dp_…>`. */
export const ITEM_JOURNAL_KEY = `(CASE i.category WHEN 'refund' THEN 'refund:' ELSE 'dispute:' END) || i.source`;

/**
 * Matches a payout's items against the ledger in one statement, with the payout row held:
 * a charge against the paid donation with that charge (amount, currency, net, and the fee if one
 * is booked), a refund or dispute against its ledger journal (`refund:<re_…>`, `dispute:<dp_…>`) by
 * amount and currency; the payout's own transaction is skipped and anything else is unknown to
 * the ledger. A mismatched item gets its problem named. A matched charge whose fee is not booked
 * has the processor's fee booked on its donation now (under the donation's row lock, re-checked
 * after any wait, so the fee job and this never both book it). Returns the payout's totals, the
 * fees to post (those just booked, and every matched refund's or dispute's, such as Stripe's
 * dispute fee), and how many fees the fee job booked meanwhile, which are then checked apart.
 */
const MATCH = `
  WITH x AS (
    SELECT i.id, sum(e.amount) FILTER (WHERE e.amount > 0) AS amount, min(e.currency) AS currency
      FROM payout_items i
      JOIN ledger_journals j ON j.idempotency_key = ${ITEM_JOURNAL_KEY}
      JOIN ledger_entries e ON e.journal_id = j.id
     WHERE i.payout_id = :payout AND i.category IN ('refund', 'dispute')
     GROUP BY i.id, j.id),
  m AS (
    SELECT i.id, i.type, i.category, i.amount_minor, i.fee_minor, i.net_minor, d.id AS donation_id, d.fee_minor AS booked,
           CASE WHEN i.type = 'payout' THEN NULL
                WHEN i.category = 'charge' THEN
                  CASE WHEN d.id IS NULL THEN 'missing_in_ledger'
                       WHEN i.currency <> d.currency THEN 'currency_mismatch'
                       WHEN i.amount_minor <> d.amount_minor OR i.net_minor <> i.amount_minor - i.fee_minor THEN 'amount_mismatch'
                       WHEN d.fee_minor IS NOT NULL AND i.fee_minor <> d.fee_minor THEN 'fee_mismatch' END
                WHEN i.category IN ('refund', 'dispute') THEN
                  CASE WHEN x.id IS NULL THEN 'missing_in_ledger'
                       WHEN i.currency <> x.currency THEN 'currency_mismatch'
                       WHEN -i.amount_minor <> x.amount OR i.net_minor <> i.amount_minor - i.fee_minor THEN 'amount_mismatch' END
                ELSE 'missing_in_ledger' END AS problem
      FROM payout_items i
      LEFT JOIN donations d ON i.category = 'charge' AND d.charge_ref = i.source AND d.succeeded_at IS NOT NULL
      LEFT JOIN x ON x.id = i.id
     WHERE i.payout_id = :payout),
  charged AS (
    UPDATE donations d SET fee_minor = m.fee_minor, updated_at = now()
      FROM m WHERE d.id = m.donation_id AND m.problem IS NULL AND m.booked IS NULL AND d.fee_minor IS NULL RETURNING m.fee_minor AS fee),
  flagged AS (
    UPDATE payout_items i SET problem = m.problem
      FROM m WHERE i.payout_id = :payout AND i.id = m.id AND m.problem IS NOT NULL RETURNING i.id)
  SELECT count(*) FILTER (WHERE type <> 'payout')::int AS items,
         count(*) FILTER (WHERE type <> 'payout' AND problem IS NULL)::int AS matched,
         coalesce(sum(amount_minor) FILTER (WHERE type <> 'payout'), 0)::bigint AS gross,
         coalesce(sum(fee_minor) FILTER (WHERE type <> 'payout'), 0)::bigint AS fee,
         coalesce(sum(net_minor) FILTER (WHERE type <> 'payout'), 0)::bigint AS net,
         ((SELECT coalesce(sum(fee), 0) FROM charged) + coalesce(sum(fee_minor) FILTER (WHERE problem IS NULL AND category IN ('refund', 'dispute')), 0))::bigint AS fees,
         (count(*) FILTER (WHERE problem IS NULL AND category = 'charge' AND booked IS NULL) - (SELECT count(*) FROM charged))::int AS raced,
         (SELECT count(*) FROM flagged)::int AS flagged
    FROM m`;

/** Charges whose fee the fee job booked while they were being matched: a different fee is a `fee_mismatch`. */
const RACED = `
  UPDATE payout_items i SET problem = 'fee_mismatch'
    FROM donations d
   WHERE i.payout_id = :payout AND i.category = 'charge' AND i.problem IS NULL
     AND d.charge_ref = i.source AND d.fee_minor IS NOT NULL AND d.fee_minor <> i.fee_minor
  RETURNING i.id`;

const ITEM_COLUMNS = 'payout_id, id, type, category, source, amount_minor, fee_minor, net_minor, currency, created';

/** One COPY line of `ITEM_COLUMNS`; the payout's id comes already written as a COPY field. */
const copyLine = (payout: string, b: ProviderBalanceTransaction) =>
  `${payout}\t${copyText(b.id)}\t${copyText(b.type)}\t${copyText(b.category)}\t${copyText(b.source)}\t${copyInt(b.amount, 'balance transaction amount')}\t${copyInt(b.fee, 'balance transaction fee')}\t${copyInt(b.net, 'balance transaction net')}\t${copyText(b.currency.toUpperCase())}\t${copyInt(b.created, 'balance transaction created')}\n`;

/** One exception per mismatched item, with what the ledger has and what the processor reported. */
const EXCEPTIONS = `
  INSERT INTO reconciliation_exceptions (kind, payout_id, item_id, journal_id, donation_id, expected, actual, difference_minor)
  SELECT i.problem, :payout, i.id, j.id, coalesce(d.id, j.donation_id),
         CASE WHEN d.id IS NOT NULL THEN jsonb_build_object('amount', d.amount_minor, 'currency', d.currency, 'fee', d.fee_minor)
              WHEN j.id IS NOT NULL THEN jsonb_build_object('amount', -x.amount, 'currency', x.currency, 'journal', j.idempotency_key)
              ELSE '{}'::jsonb END,
         jsonb_build_object('type', i.type, 'category', i.category, 'source', i.source, 'amount', i.amount_minor, 'fee', i.fee_minor, 'net', i.net_minor, 'currency', i.currency),
         CASE WHEN i.problem = 'missing_in_ledger' THEN i.net_minor
              WHEN i.problem = 'fee_mismatch' THEN i.fee_minor - d.fee_minor
              WHEN i.category = 'charge' THEN i.amount_minor - coalesce(d.amount_minor, 0)
              ELSE -i.amount_minor - coalesce(x.amount, 0) END
    FROM payout_items i
    LEFT JOIN donations d ON i.category = 'charge' AND d.charge_ref = i.source AND d.succeeded_at IS NOT NULL
    LEFT JOIN ledger_journals j ON i.category IN ('refund', 'dispute') AND j.idempotency_key = ${ITEM_JOURNAL_KEY}
    LEFT JOIN LATERAL (SELECT sum(e.amount) FILTER (WHERE e.amount > 0) AS amount, min(e.currency) AS currency FROM ledger_entries e WHERE e.journal_id = j.id) x ON true
   WHERE i.payout_id = :payout AND i.problem IS NOT NULL
  ON CONFLICT DO NOTHING`;

/**
 * Reconciles one payout against the ledger. The balance transactions are copied in as reported
 * (one statement that takes no shared row, so the processor's pages can be slow), then one
 * transaction, holding the payout row, matches them, records every difference as an exception,
 * books the real fees the payout reports, checks that the nets add up to the payout, and posts the
 * payout journal (clearing → bank). A second run of a reconciled payout changes nothing.
 */
export function createPayoutReconciler(deps: { db: Knex; ledger: LedgerService; provider: PaymentProvider; log: Logger }) {
  const { db, ledger, provider } = deps;

  /**
   * Streams the processor's pages into `payout_items` with one COPY on one connection, fed page by
   * page (the next page is read while this one goes in). One statement: a payout's items are there
   * in full or not at all. If they are there already, nothing is read.
   */
  async function copyItems(payoutId: string): Promise<void> {
    const conn = (await db.client.acquireConnection()) as pg.PoolClient;
    try {
      const copied = await conn.query('SELECT 1 FROM payout_items WHERE payout_id = $1 LIMIT 1', [payoutId]);
      if (copied.rowCount) return;
      const payout = copyText(payoutId);
      const pages = async function* () {
        for await (const page of provider.listBalanceTransactions(payoutId)) {
          let lines = '';
          for (const bt of page) lines += copyLine(payout, bt);
          yield lines;
        }
      };
      await pipeline(Readable.from(pages()), conn.query(copyFrom(`COPY payout_items (${ITEM_COLUMNS}) FROM STDIN`)));
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      // Another run copied the same payout in meanwhile: its items stand, and settling goes on.
      // With none there, the processor listed one transaction twice: nothing is copied, and the
      // payout stays pending for a later run rather than settle without its items.
      const other = await conn.query('SELECT 1 FROM payout_items WHERE payout_id = $1 LIMIT 1', [payoutId]);
      if (!other.rowCount) throw new Error(`payout ${payoutId}: the processor listed a balance transaction twice`, { cause: err });
    } finally {
      await db.client.releaseConnection(conn);
    }
  }

  async function settle(trx: Knex.Transaction, p: PayoutRow): Promise<PayoutOutcome> {
    const run = (sql: string) => trx.raw(sql, { payout: p.id });
    const m = (await run(MATCH)).rows[0] as { items: number; matched: number; gross: number; fee: number; net: number; fees: number; raced: number; flagged: number };
    const late = m.raced > 0 ? (await run(RACED)).rowCount ?? 0 : 0;
    if (m.flagged + late > 0) await run(EXCEPTIONS);
    const fees = Number(m.fees);
    const net = Number(m.net);
    if (net !== p.amount_minor) {
      await trx('reconciliation_exceptions').insert({
        kind: 'payout_sum_mismatch', payout_id: p.id, expected: { amount: p.amount_minor }, actual: { net, items: m.items }, difference_minor: net - p.amount_minor,
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
    const matched = m.matched - late;
    await trx('payouts').where({ id: p.id }).update({
      reconciliation: outcome, items: m.items, matched, exceptions: Number(exceptions), gross_minor: m.gross, fee_minor: m.fee, net_minor: net,
      journal_id: journalId, reconciled_at: trx.fn.now(),
    });
    return { payout: p.id, outcome, items: m.items, matched, exceptions: Number(exceptions), fees_booked: fees };
  }

  return {
    /** Reconciles a payout once it is paid; safe to call any number of times, concurrently too. */
    async reconcile(payoutId: string): Promise<PayoutOutcome> {
      const current = await provider.retrievePayout(payoutId);
      const row = await reconciliationRepo.upsertPayout(db, provider.name, current);
      if (current.status !== 'paid') return { payout: payoutId, outcome: 'not_paid' };
      if (row.reconciliation !== 'pending') return { payout: payoutId, outcome: 'already_reconciled' };
      const t0 = performance.now();
      await copyItems(payoutId);
      const t1 = performance.now();
      const settled = await db.transaction(async (trx) => {
        const p = await reconciliationRepo.lockPayout(trx, payoutId);
        if (!p || p.reconciliation !== 'pending') return { payout: payoutId, outcome: 'already_reconciled' } as PayoutOutcome;
        return settle(trx, p);
      });
      const out = { ...settled, ms: { copy: Math.round(t1 - t0), settle: Math.round(performance.now() - t1) } };
      deps.log.info({ category: 'reconciliation', ...out }, 'payout reconciled');
      return out;
    },
  };
}

export type PayoutReconciler = ReturnType<typeof createPayoutReconciler>;
