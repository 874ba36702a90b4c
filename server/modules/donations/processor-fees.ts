import type { Knex } from 'knex';
import { chart, credit, debit, JournalKind, type LedgerService } from '../ledger/index.js';
import { donationsRepo } from './donations.repo.js';
import type { PaymentProvider } from './providers/payment-provider.js';

/** Thrown when the processor has not reported the fee yet; the job retries with backoff. */
export class FeeNotYetKnownError extends Error {}

/**
 * Books the processor's fee on a paid donation once the processor reports it.
 * The association bears the fee, so the campaign keeps the full gross (全额到账):
 * | account                                   | debit | credit |
 * |-------------------------------------------|-------|--------|
 * | association:expense:processor_fees:CNY    | 30    |        |
 * | processor:sandbox:clearing:CNY            |       | 30     |
 */
export function createProcessorFees(deps: { db: Knex; ledger: LedgerService; provider: PaymentProvider }) {
  const { db, ledger } = deps;
  return {
    async record(donationId: string): Promise<'recorded' | 'already_recorded' | 'not_paid' | 'other_provider'> {
      const d = await donationsRepo.findById(db, donationId);
      if (!d || !d.succeeded_at || !d.payment_ref) return 'not_paid';
      if (d.fee_minor !== null) return 'already_recorded';
      if (d.provider !== deps.provider.name) return 'other_provider';
      const fee = await deps.provider.fetchFee(d.payment_ref);
      if (fee === null) throw new FeeNotYetKnownError(`fee of ${d.payment_ref} not yet known`);
      return db.transaction(async (trx) => {
        const locked = await donationsRepo.lock(trx, { id: d.id });
        if (locked!.fee_minor !== null) return 'already_recorded' as const;
        if (fee > 0) {
          await ledger.postJournal(trx, {
            kind: JournalKind.PROCESSOR_FEE,
            idempotencyKey: `fee:${d.id}`,
            donationId: d.id,
            legs: [
              debit(await ledger.ensureAccount(trx, chart.processorFees(d.currency)), fee),
              credit(await ledger.ensureAccount(trx, chart.processorClearing(d.provider, d.currency)), fee),
            ],
          });
        }
        await donationsRepo.update(trx, d.id, { fee_minor: fee });
        return 'recorded' as const;
      });
    },

    /** Paid donations whose fee is still unknown after `graceMs`, for the sweeper. */
    async pending(graceMs: number, limit = 500): Promise<string[]> {
      return (await donationsRepo.feeUnknown(db, new Date(Date.now() - graceMs), limit)).map((r) => r.id);
    },
  };
}

export type ProcessorFees = ReturnType<typeof createProcessorFees>;
