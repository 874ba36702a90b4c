import type { Knex } from 'knex';
import type { ProviderPayout } from '../donations/index.js';

type Db = Knex | Knex.Transaction;

export interface PayoutRow {
  id: string; provider: string; amount_minor: number; currency: string; status: string; created_at: Date; arrival_at: Date | null;
  reconciliation: 'pending' | 'reconciled' | 'exceptions'; items: number; matched: number; exceptions: number;
  gross_minor: number; fee_minor: number; net_minor: number; journal_id: number | null; received_at: Date; reconciled_at: Date | null;
}

export type ExceptionKind = 'missing_in_ledger' | 'missing_at_processor' | 'amount_mismatch' | 'fee_mismatch' | 'currency_mismatch' | 'payout_sum_mismatch';

export interface ExceptionRow {
  id: number; kind: ExceptionKind; payout_id: string | null; item_id: string | null; journal_id: number | null; donation_id: string | null;
  expected: Record<string, unknown>; actual: Record<string, unknown>; difference_minor: number; status: 'open' | 'resolved';
  note: string | null; approval_id: number | null; resolution_journal_id: number | null; resolved_at: Date | null; created_at: Date;
}

const fromUnix = (s: number | null) => (s === null ? null : new Date(s * 1000));

/** knex access to payouts, their balance transactions and the exceptions found. */
export const reconciliationRepo = {
  /** Records the payout as the processor has it; the reconciliation state is never moved back. */
  async upsertPayout(db: Db, provider: string, p: ProviderPayout): Promise<PayoutRow> {
    const [row] = await db('payouts')
      .insert({ id: p.id, provider, amount_minor: p.amount, currency: p.currency.toUpperCase(), status: p.status, created_at: fromUnix(p.created), arrival_at: fromUnix(p.arrival_date) })
      .onConflict('id').merge(['status', 'amount_minor', 'arrival_at'])
      .returning('*');
    return row;
  },
  lockPayout(trx: Knex.Transaction, id: string): Promise<PayoutRow | undefined> {
    return trx('payouts').where({ id }).forUpdate().first();
  },
  findPayout(db: Db, id: string): Promise<PayoutRow | undefined> {
    return db('payouts').where({ id }).first();
  },
  async listPayouts(db: Db, f: { reconciliation?: string; from?: Date; to?: Date }, page: number, perPage: number) {
    const base = () => {
      const q = db('payouts');
      if (f.reconciliation) q.where('reconciliation', f.reconciliation);
      if (f.from) q.where('created_at', '>=', f.from);
      if (f.to) q.where('created_at', '<', f.to);
      return q;
    };
    const [{ n }] = await base().count({ n: '*' });
    const rows: PayoutRow[] = await base().orderBy('created_at', 'desc').limit(perPage).offset((page - 1) * perPage);
    return { rows, total: Number(n) };
  },
  async items(db: Db, payoutId: string, f: { status?: string }, page: number, perPage: number) {
    const base = () => db('payout_item_states').where({ payout_id: payoutId }).modify((q) => (f.status ? q.where('status', f.status) : q));
    const [{ n }] = await base().count({ n: '*' });
    return { rows: await base().orderBy('id').limit(perPage).offset((page - 1) * perPage), total: Number(n) };
  },
  async listExceptions(db: Db, f: { status?: string; kind?: string; payout?: string }, page: number, perPage: number) {
    const base = () => {
      const q = db('reconciliation_exceptions');
      if (f.status) q.where('status', f.status);
      if (f.kind) q.where('kind', f.kind);
      if (f.payout) q.where('payout_id', f.payout);
      return q;
    };
    const [{ n }] = await base().count({ n: '*' });
    const rows: ExceptionRow[] = await base().orderBy('id', 'desc').limit(perPage).offset((page - 1) * perPage);
    return { rows, total: Number(n) };
  },
  findException(db: Db, id: number): Promise<ExceptionRow | undefined> {
    return db('reconciliation_exceptions').where({ id }).first();
  },
};
