import type { Knex } from 'knex';
import { AppError } from '../../lib/errors.js';
import { toMinor } from '../../lib/money.js';
import type { AccountSpec } from './accounts.js';
import type { JournalKind } from './journal-kinds.js';
import { ledgerRepo } from './ledger.repo.js';

/** One leg of a journal: a positive amount debits the account, a negative amount credits it. */
export interface Leg {
  accountId: number;
  amount: number;
}

export interface JournalInput {
  kind: JournalKind;
  /** Same key, same movement: a retry returns the stored journal instead of posting twice. */
  idempotencyKey: string;
  /** When the money moved (e.g. the processor's event time), not when we recorded it. */
  effectiveAt?: Date;
  memo?: string;
  donationId?: string;
  refs?: Record<string, unknown>;
  legs: Leg[];
}

export interface PostedJournal {
  journalId: number;
  replayed: boolean;
}

/** A restricted account would go negative. */
export class InsufficientFundsError extends AppError {
  constructor(cause: unknown) {
    super(409, 'insufficient_funds', 'errors.insufficient_funds', { cause });
  }
}

/** Debit leg helper: `debit(a, 500)` → {accountId: a, amount: 500}. */
export const debit = (accountId: number, amount: number): Leg => ({ accountId, amount: toMinor(amount) });
/** Credit leg helper: `credit(a, 500)` → {accountId: a, amount: -500}. */
export const credit = (accountId: number, amount: number): Leg => ({ accountId, amount: -toMinor(amount) });

/**
 * The ledger: the only writer of journals and entries.
 *
 * `postJournal` asserts the legs balance, then calls `ledger_post_journal` in one round trip,
 * which locks the accounts in (lock_rank, id) order, moves cached balances and inserts entries.
 * The caller's transaction decides atomicity with its business rows.
 */
export function createLedgerService() {
  const accountIds = new Map<string, number>();

  return {
    /**
     * Returns the account's id, creating the account if missing. Ids never change, so they are
     * cached, but only once the creating or reading transaction has committed.
     */
    async ensureAccount(db: Knex | Knex.Transaction, spec: AccountSpec): Promise<number> {
      const cached = accountIds.get(spec.code);
      if (cached !== undefined) return cached;
      const id = (await ledgerRepo.findAccountId(db, spec.code)) ?? (await ledgerRepo.insertAccount(db, spec));
      const remember = () => accountIds.set(spec.code, id);
      if (db.isTransaction) (db as Knex.Transaction).executionPromise.then(remember, () => undefined);
      else remember();
      return id;
    },

    /**
     * Posts one balanced journal inside `trx`.
     *
     * Worked example, a ¥50.00 donation (positive = debit):
     * | account                         | debit | credit |
     * |---------------------------------|-------|--------|
     * | processor:sandbox:clearing:CNY  | 5000  |        |
     * | campaign:7:donations:CNY        |       | 5000   |
     */
    async postJournal(trx: Knex.Transaction, j: JournalInput): Promise<PostedJournal> {
      if (j.legs.length < 2) throw new Error(`journal ${j.idempotencyKey} needs at least two legs`);
      const seen = new Set<number>();
      let total = 0;
      for (const leg of j.legs) {
        if (toMinor(leg.amount) === 0) throw new Error(`journal ${j.idempotencyKey} has a zero leg`);
        if (seen.has(leg.accountId)) throw new Error(`journal ${j.idempotencyKey} names account ${leg.accountId} twice`);
        seen.add(leg.accountId);
        total += leg.amount;
      }
      if (total !== 0) throw new Error(`journal ${j.idempotencyKey} does not balance (off by ${total})`);
      try {
        const r = await ledgerRepo.callPostJournal(trx, {
          key: j.idempotencyKey,
          kind: j.kind,
          effectiveAt: j.effectiveAt ?? new Date(),
          memo: j.memo ?? null,
          donationId: j.donationId ?? null,
          refs: j.refs ?? {},
          entries: j.legs.map((l) => ({ account_id: l.accountId, amount: l.amount })),
        });
        return { journalId: Number(r.journal_id), replayed: r.replayed };
      } catch (err) {
        if ((err as { constraint?: string }).constraint === 'ledger_accounts_balance_check') throw new InsufficientFundsError(err);
        throw err;
      }
    },

    /** Balance of an account in its normal direction, derived from entries (null if unknown). */
    balanceOf(db: Knex | Knex.Transaction, code: string): Promise<number | null> {
      return ledgerRepo.accountBalanceByCode(db, code);
    },

    /** Forgets cached account ids (tests that truncate the ledger call this). */
    forgetAccounts(): void {
      accountIds.clear();
    },
  };
}

export type LedgerService = ReturnType<typeof createLedgerService>;
