import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import type { Logger } from '../../lib/logger.js';
import type { ApprovalRow, Approvals } from '../approvals/index.js';
import { can, type Principal } from '../auth/index.js';
import type { PaymentProvider } from '../donations/index.js';
import { chart, credit, debit, JournalKind, type LedgerService } from '../ledger/index.js';
import { createPayoutReconciler, ITEM_JOURNAL_KEY, type PayoutOutcome } from './reconcile.js';
import { reconciliationRepo } from './reconciliation.repo.js';
import type { ExceptionResolve } from './reconciliation.schemas.js';

const DAY_MS = 86_400_000;

/**
 * A processor movement the ledger has (a donation, refund or dispute journal) that no payout has
 * carried although the processor has paid out past it: `missing_at_processor`. Only the last 90
 * days before the cutoff are looked at; older ones were checked on earlier days.
 */
const MISSING_AT_PROCESSOR = `
  WITH carried AS (
    SELECT i.category, i.source FROM payouts p JOIN payout_items i ON i.payout_id = p.id
     WHERE p.provider = :provider AND p.created_at >= :cutoff::timestamptz - interval '90 days' AND i.category IN ('charge', 'refund', 'dispute')),
  covered AS (
    SELECT d.id AS donation_id, NULL::bigint AS journal_id FROM carried i JOIN donations d ON d.charge_ref = i.source WHERE i.category = 'charge'
    UNION
    SELECT j.donation_id, j.id FROM carried i
      JOIN ledger_journals j ON j.idempotency_key = ${ITEM_JOURNAL_KEY}
     WHERE i.category IN ('refund', 'dispute'))
  INSERT INTO reconciliation_exceptions (kind, journal_id, donation_id, expected, difference_minor)
  SELECT 'missing_at_processor', j.id, j.donation_id,
         jsonb_build_object('journal', j.idempotency_key, 'kind', j.kind, 'amount', x.amount, 'effective_at', j.effective_at), -x.amount
    FROM ledger_journals j
    JOIN donations d ON d.id = j.donation_id AND d.provider = :provider
    CROSS JOIN LATERAL (SELECT sum(e.amount) FILTER (WHERE e.amount > 0) AS amount FROM ledger_entries e WHERE e.journal_id = j.id) x
   WHERE j.kind IN ('donation', 'refund', 'dispute') AND j.effective_at < :cutoff AND j.effective_at >= :cutoff::timestamptz - interval '90 days'
     AND NOT (j.kind = 'donation' AND j.donation_id IN (SELECT donation_id FROM covered WHERE donation_id IS NOT NULL))
     AND NOT (j.kind <> 'donation' AND j.id IN (SELECT journal_id FROM covered WHERE journal_id IS NOT NULL))
  ON CONFLICT DO NOTHING
  RETURNING id`;

/**
 * Reconciliation against the processor's payouts (C-… D-7, issue: the money loop). Payout events
 * and a daily run both end in `reconcile`; differences become exceptions that finance resolves,
 * each by an adjusting journal (or none) approved by a second person, with a note.
 */
export function createReconciliation(deps: { db: Knex; ledger: LedgerService; provider: PaymentProvider; approvals?: Approvals; log: Logger; settlementDays: number }) {
  const { db, ledger } = deps;
  const reconciler = createPayoutReconciler(deps);
  let approvals = deps.approvals;

  return {
    /** Approvals carry resolutions out through `resolve`, so they are wired in after both exist. */
    useApprovals(a: Approvals) {
      approvals = a;
    },

    reconcile: (payoutId: string) => reconciler.reconcile(payoutId),

    /** A `payout.*` event: records the payout; says whether it is paid and so due for reconciliation. */
    async onPayoutEvent(trx: Knex.Transaction, obj: Record<string, any>): Promise<{ outcome: string; payout?: string }> {
      if (typeof obj.id !== 'string' || !Number.isSafeInteger(obj.amount) || typeof obj.currency !== 'string') return { outcome: 'rejected_malformed_payout' };
      await reconciliationRepo.upsertPayout(trx, deps.provider.name, {
        id: obj.id, amount: obj.amount, currency: obj.currency, status: String(obj.status ?? 'pending'), created: Number(obj.created ?? Date.now() / 1000), arrival_date: obj.arrival_date ?? null,
      });
      return obj.status === 'paid' ? { outcome: 'applied', payout: obj.id } : { outcome: 'applied' };
    },

    /**
     * The daily run: every payout of the last `days` the processor reports, reconciled if it is
     * not yet, then the missing-at-processor check. Returns what each payout gave.
     */
    async runRecent(days = 7, progress?: (done: number, total: number) => unknown): Promise<{ payouts: PayoutOutcome[]; missing_at_processor: number }> {
      const since = Math.floor((Date.now() - days * DAY_MS) / 1000);
      const ids: string[] = [];
      for await (const p of deps.provider.listPayouts(since)) ids.push(p.id);
      const payouts: PayoutOutcome[] = [];
      for (const id of ids) {
        payouts.push(await reconciler.reconcile(id));
        await progress?.(payouts.length, ids.length);
      }
      return { payouts, missing_at_processor: await this.checkMissing() };
    },

    /** Flags ledger movements older than the newest payout by more than the settlement window that no payout carried. */
    async checkMissing(): Promise<number> {
      const [{ newest }] = await db('payouts').where({ provider: deps.provider.name }).whereNot('reconciliation', 'pending').max({ newest: 'created_at' });
      if (!newest) return 0;
      const cutoff = new Date(new Date(newest).getTime() - deps.settlementDays * DAY_MS);
      const { rows } = await db.raw(MISSING_AT_PROCESSOR, { provider: deps.provider.name, cutoff });
      if (rows.length) await ledger.ensureAccount(db, chart.reconciliationSuspense('CNY'));
      return rows.length;
    },

    listPayouts: reconciliationRepo.listPayouts.bind(null, db),
    items: reconciliationRepo.items.bind(null, db),
    listExceptions: reconciliationRepo.listExceptions.bind(null, db),
    async payout(id: string) {
      const p = await reconciliationRepo.findPayout(db, id);
      if (!p) throw new NotFoundError('payout');
      return p;
    },

    /** Asks for an exception to be resolved (with an adjusting journal or none); a second person approves. */
    async requestResolution(p: Principal, id: number, input: ExceptionResolve, t: Translate): Promise<ApprovalRow> {
      if (!can(p, 'reconciliation.resolve')) throw new ForbiddenError();
      const e = await reconciliationRepo.findException(db, id);
      if (!e) throw new NotFoundError('exception');
      if (e.status !== 'open') throw new ConflictError('exception_resolved', 'errors.exception_resolved');
      if (input.adjustment) {
        const { debit: dr, credit: cr } = input.adjustment;
        const accounts = await db('ledger_accounts').whereIn('code', [dr, cr]).select('code', 'currency');
        const missing = [dr, cr].find((c) => !accounts.some((a) => a.code === c));
        if (missing) throw new ValidationError({ [missing === dr ? 'adjustment.debit' : 'adjustment.credit']: t('validation.unknown_account') });
        if (dr === cr || new Set(accounts.map((a) => a.currency)).size !== 1) throw new ValidationError({ 'adjustment.credit': t('validation.adjustment_accounts') });
      }
      return approvals!.request(p, 'exception_resolution', 'reconciliation_exception', id, { exception_id: id, ...input });
    },

    /** The approved resolution: the adjusting journal (if any) and the exception closed, in one transaction. */
    async resolve(a: ApprovalRow): Promise<{ exception_id: number; journal_id: number | null }> {
      const input = a.payload as unknown as ExceptionResolve & { exception_id: number };
      return db.transaction(async (trx) => {
        const e = await trx('reconciliation_exceptions').where({ id: input.exception_id }).forUpdate().first();
        if (!e) throw new NotFoundError('exception');
        if (e.status !== 'open') throw new ConflictError('exception_resolved', 'errors.exception_resolved');
        let journalId: number | null = null;
        if (input.adjustment) {
          const ids = Object.fromEntries((await trx('ledger_accounts').whereIn('code', [input.adjustment.debit, input.adjustment.credit]).select('code', 'id')).map((r) => [r.code, r.id]));
          journalId = (await ledger.postJournal(trx, {
            kind: JournalKind.ADJUSTMENT, idempotencyKey: `exception:${e.id}`, memo: input.note, refs: { exception_id: e.id, approval_id: a.id, kind: e.kind },
            legs: [debit(ids[input.adjustment.debit], input.adjustment.amount), credit(ids[input.adjustment.credit], input.adjustment.amount)],
          })).journalId;
        }
        await trx('reconciliation_exceptions').where({ id: e.id }).update({ status: 'resolved', note: input.note, approval_id: a.id, resolution_journal_id: journalId, resolved_at: trx.fn.now() });
        // A charge whose exception is resolved is cleared: its payout is looked at again by the release.
        if (e.payout_id) await trx('payouts').where({ id: e.payout_id }).update({ released_at: null });
        return { exception_id: e.id, journal_id: journalId };
      });
    },
  };
}

export type Reconciliation = ReturnType<typeof createReconciliation>;
