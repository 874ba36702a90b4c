import type { Knex } from 'knex';
import { checkInvariants, type InvariantResult } from './invariants.js';
import { ledgerRepo } from './ledger.repo.js';

export interface TrialBalance {
  balanced: boolean;
  totals: { currency: string; debits: number; credits: number }[];
  accounts: { code: string; name: string; type: string; normal_balance: string; currency: string; debits: number; credits: number; balance: number }[];
  checks: InvariantResult[];
}

/**
 * The trial balance: per account debits, credits and balance from entries, totals per currency,
 * and every invariant. `balanced` holds only if debits equal credits and every check passes.
 */
export async function trialBalance(db: Knex): Promise<TrialBalance> {
  const rows = await ledgerRepo.trialBalanceRows(db);
  const totals = new Map<string, { currency: string; debits: number; credits: number }>();
  const accounts = rows.map((r) => {
    const t = totals.get(r.currency) ?? { currency: r.currency, debits: 0, credits: 0 };
    t.debits += r.debits;
    t.credits += r.credits;
    totals.set(r.currency, t);
    const balance = r.normal_balance === 'debit' ? r.debits - r.credits : r.credits - r.debits;
    return { code: r.code, name: r.name, type: r.type, normal_balance: r.normal_balance, currency: r.currency, debits: r.debits, credits: r.credits, balance };
  });
  const checks = await checkInvariants(db);
  const balanced = [...totals.values()].every((t) => t.debits === t.credits) && checks.every((c) => c.ok);
  return { balanced, totals: [...totals.values()], accounts, checks };
}
