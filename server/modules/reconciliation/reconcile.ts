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

/**
 * A payout's balance transactions, copied in and matched in one statement, which also records
 * the payout's item count and gross, fee and net on its row:
 * a charge against the paid donation with that charge (amount, currency, net, and the fee if
 * one is booked), a refund or dispute against its ledger journal (`refund:<re_…>`,
 * `dispute:<dp_…>`) by amount and currency; the payout's own transaction is skipped and anything
 * else is unknown to the ledger. A transaction already copied is left as it is.
 */
const STAGE = `CREATE TEMP TABLE payout_stage (id text, type text, category text, source text, amount bigint, fee bigint, net bigint, currency text, created bigint) ON COMMIT DROP`;

const MATCH_STAGE = `
  WITH x AS (
    SELECT u.id, j.id AS journal_id, j.donation_id, sum(e.amount) FILTER (WHERE e.amount > 0) AS amount, min(e.currency) AS currency
      FROM payout_stage u
      JOIN ledger_journals j ON j.idempotency_key = (CASE u.category WHEN 'refund' THEN 'refund:' ELSE 'dispute:' END) || u.source
      JOIN ledger_entries e ON e.journal_id = j.id
     WHERE u.category IN ('refund', 'dispute')
     GROUP BY u.id, j.id),
  m AS (
    SELECT u.*, upper(u.currency) AS cur, coalesce(d.id, x.donation_id) AS donation_id, x.journal_id, d.fee_minor AS booked_fee,
           CASE WHEN u.type = 'payout' THEN NULL
                WHEN u.category = 'charge' THEN
                  CASE WHEN d.id IS NULL THEN 'missing_in_ledger'
                       WHEN upper(u.currency) <> d.currency THEN 'currency_mismatch'
                       WHEN u.amount <> d.amount_minor OR u.net <> u.amount - u.fee THEN 'amount_mismatch'
                       WHEN d.fee_minor IS NOT NULL AND u.fee <> d.fee_minor THEN 'fee_mismatch' END
                WHEN u.category IN ('refund', 'dispute') THEN
                  CASE WHEN x.id IS NULL THEN 'missing_in_ledger'
                       WHEN upper(u.currency) <> x.currency THEN 'currency_mismatch'
                       WHEN -u.amount <> x.amount OR u.net <> u.amount - u.fee THEN 'amount_mismatch' END
                ELSE 'missing_in_ledger' END AS problem
      FROM payout_stage u
      LEFT JOIN donations d ON u.category = 'charge' AND d.charge_ref = u.source AND d.succeeded_at IS NOT NULL
      LEFT JOIN x ON x.id = u.id),
  ins AS (
    INSERT INTO payout_items (id, payout_id, type, category, source, amount_minor, fee_minor, net_minor, currency, created_at, donation_id, journal_id, booked_fee_minor, status, problem)
    SELECT m.id, $1, m.type, m.category, m.source, m.amount, m.fee, m.net, m.cur, to_timestamp(m.created), m.donation_id, m.journal_id, m.booked_fee,
           CASE WHEN m.type = 'payout' THEN 'skipped' WHEN m.problem IS NULL THEN 'matched' ELSE 'exception' END, m.problem
      FROM m
    RETURNING status, amount_minor, fee_minor, net_minor)
  UPDATE payouts p
     SET items = t.items, matched = t.matched, gross_minor = t.gross, fee_minor = t.fee, net_minor = t.net
    FROM (SELECT count(*) FILTER (WHERE status <> 'skipped')::int AS items, count(*) FILTER (WHERE status = 'matched')::int AS matched,
                 coalesce(sum(amount_minor) FILTER (WHERE status <> 'skipped'), 0) AS gross,
                 coalesce(sum(fee_minor) FILTER (WHERE status <> 'skipped'), 0) AS fee,
                 coalesce(sum(net_minor) FILTER (WHERE status <> 'skipped'), 0) AS net
            FROM ins) t
   WHERE p.id = $1`;

const copyLine = (b: ProviderBalanceTransaction) =>
  `${copyText(b.id)}\t${copyText(b.type)}\t${copyText(b.category)}\t${copyText(b.source)}\t${copyInt(b.amount, 'balance transaction amount')}\t${copyInt(b.fee, 'balance transaction fee')}\t${copyInt(b.net, 'balance transaction net')}\t${copyText(b.currency)}\t${copyInt(b.created, 'balance transaction created')}\n`;

/**
 * Fees, in one pass over the payout's matched charges whose fee was not booked when they were
 * matched (a charge whose fee was booked then was checked against it already):
 * - a fee booked on the donation since its charge was copied in, and different from the
 *   processor's, turns the item into a `fee_mismatch`;
 * - a fee never booked is booked now from the processor's figure: set on the donation under its
 *   row lock (re-checked after any wait), so the fee job and this never both book it.
 * Returns what is booked now, with every refund or dispute fee (Stripe's dispute fee).
 */
const FEES = `
  WITH c AS (
    SELECT i.id, i.fee_minor AS reported, d.id AS donation_id, d.fee_minor AS booked
      FROM payout_items i JOIN donations d ON d.id = i.donation_id
     WHERE i.payout_id = :payout AND i.status = 'matched' AND i.category = 'charge' AND i.booked_fee_minor IS NULL
       AND (d.fee_minor IS NULL OR d.fee_minor <> i.fee_minor)),
  late AS (
    UPDATE payout_items i SET status = 'exception', problem = 'fee_mismatch'
      FROM c WHERE i.payout_id = :payout AND i.id = c.id AND c.booked IS NOT NULL RETURNING i.id),
  charged AS (
    UPDATE donations d SET fee_minor = c.reported, updated_at = now()
      FROM c WHERE d.id = c.donation_id AND c.booked IS NULL AND d.fee_minor IS NULL RETURNING c.reported)
  SELECT (SELECT coalesce(sum(reported), 0) FROM charged)::bigint
       -- A refund or dispute item never carries a booked fee; saying so lets the partial index serve.
       + (SELECT coalesce(sum(fee_minor), 0) FROM payout_items
           WHERE payout_id = :payout AND status = 'matched' AND category IN ('refund', 'dispute') AND booked_fee_minor IS NULL)::bigint AS fees,
         (SELECT count(*) FROM late)::int AS late`;

/** One exception per mismatched item, with what the ledger has and what the processor reported. */
const EXCEPTIONS = `
  INSERT INTO reconciliation_exceptions (kind, payout_id, item_id, journal_id, donation_id, expected, actual, difference_minor)
  SELECT i.problem, :payout, i.id, i.journal_id, i.donation_id,
         CASE WHEN i.category = 'charge' AND d.id IS NOT NULL THEN jsonb_build_object('amount', d.amount_minor, 'currency', d.currency, 'fee', d.fee_minor)
              WHEN i.journal_id IS NOT NULL THEN jsonb_build_object('amount', -x.amount, 'currency', x.currency, 'journal', j.idempotency_key)
              ELSE '{}'::jsonb END,
         jsonb_build_object('type', i.type, 'category', i.category, 'source', i.source, 'amount', i.amount_minor, 'fee', i.fee_minor, 'net', i.net_minor, 'currency', i.currency),
         CASE WHEN i.problem = 'missing_in_ledger' THEN i.net_minor
              WHEN i.problem = 'fee_mismatch' THEN i.fee_minor - d.fee_minor
              WHEN i.category = 'charge' THEN i.amount_minor - coalesce(d.amount_minor, 0)
              ELSE -i.amount_minor - coalesce(x.amount, 0) END
    FROM payout_items i
    LEFT JOIN donations d ON i.category = 'charge' AND d.id = i.donation_id
    LEFT JOIN ledger_journals j ON j.id = i.journal_id
    LEFT JOIN LATERAL (SELECT sum(e.amount) FILTER (WHERE e.amount > 0) AS amount, min(e.currency) AS currency FROM ledger_entries e WHERE e.journal_id = j.id) x ON true
   WHERE i.payout_id = :payout AND i.status = 'exception'
  ON CONFLICT DO NOTHING`;

/**
 * Reconciles one payout against the ledger. The balance transactions are copied in and matched
 * (one transaction that takes no shared row until it ends, so the processor's pages can be slow), then one transaction,
 * holding the payout row, records every difference as an exception, books the real fees the
 * payout reports, checks that the nets add up to the payout, and posts the payout journal
 * (clearing → bank). A second run of a reconciled payout changes nothing.
 */
export function createPayoutReconciler(deps: { db: Knex; ledger: LedgerService; provider: PaymentProvider; log: Logger }) {
  const { db, ledger, provider } = deps;

  /**
   * Streams the processor's pages into a temporary stage with COPY on one connection, then copies
   * them into `payout_items` and matches them in one statement; all in one transaction, so a
   * payout's items are there in full or not at all. The only shared row it takes is the payout's,
   * for its totals, in the last statement.
   */
  async function copyItems(payoutId: string): Promise<void> {
    const conn = (await db.client.acquireConnection()) as pg.PoolClient;
    try {
      await conn.query('BEGIN');
      await conn.query(STAGE);
      // One COPY for the whole payout, fed page by page: the next page is read while this one goes in.
      const pages = async function* () {
        for await (const page of provider.listBalanceTransactions(payoutId)) {
          let lines = '';
          for (const bt of page) lines += copyLine(bt);
          yield lines;
        }
      };
      await pipeline(Readable.from(pages()), conn.query(copyFrom('COPY payout_stage FROM STDIN')));
      // The payout's items go in once: if they are already there, this run adds nothing.
      const copied = await conn.query('SELECT 1 FROM payout_items WHERE payout_id = $1 LIMIT 1', [payoutId]);
      if (!copied.rowCount) await conn.query(MATCH_STAGE, [payoutId]);
      await conn.query('COMMIT');
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      // Another run copied the same payout in meanwhile: its items stand, and settling goes on.
      if ((err as { code?: string }).code === '23505') return;
      throw err;
    } finally {
      await db.client.releaseConnection(conn);
    }
  }

  async function settle(trx: Knex.Transaction, p: PayoutRow): Promise<PayoutOutcome> {
    const run = (sql: string) => trx.raw(sql, { payout: p.id });
    const feeRun = (await run(FEES)).rows[0];
    const fees = Number(feeRun.fees);
    await run(EXCEPTIONS);
    const net = p.net_minor;
    if (net !== p.amount_minor) {
      await trx('reconciliation_exceptions').insert({
        kind: 'payout_sum_mismatch', payout_id: p.id, expected: { amount: p.amount_minor }, actual: { net, items: p.items }, difference_minor: net - p.amount_minor,
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
    const matched = p.matched - feeRun.late;
    await trx('payouts').where({ id: p.id }).update({
      reconciliation: outcome, matched, exceptions: Number(exceptions), journal_id: journalId, reconciled_at: trx.fn.now(),
    });
    return { payout: p.id, outcome, items: p.items, matched, exceptions: Number(exceptions), fees_booked: fees };
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
