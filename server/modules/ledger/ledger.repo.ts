import type { Knex } from 'knex';
import type { AccountSpec } from './accounts.js';

/** Thin knex access to the ledger tables; no business rules live here. */
export const ledgerRepo = {
  async findAccountId(db: Knex | Knex.Transaction, code: string): Promise<number | undefined> {
    const row = await db('ledger_accounts').where({ code }).first('id');
    return row?.id;
  },

  async insertAccount(db: Knex | Knex.Transaction, s: AccountSpec): Promise<number> {
    const inserted = await db('ledger_accounts')
      .insert({
        code: s.code,
        name: s.name,
        type: s.type,
        normal_balance: s.normalBalance,
        currency: s.currency,
        allow_negative: s.allowNegative ?? false,
        tracks_balance: s.tracksBalance ?? true,
        lock_rank: s.lockRank ?? 0,
        owner_type: s.ownerType ?? null,
        owner_id: s.ownerId === undefined ? null : String(s.ownerId),
      })
      .onConflict('code')
      .ignore()
      .returning('id');
    if (inserted.length) return inserted[0].id;
    const row = await db('ledger_accounts').where({ code: s.code }).first('id');
    return row.id;
  },

  async callPostJournal(
    db: Knex | Knex.Transaction,
    j: { key: string; kind: string; effectiveAt: Date; memo: string | null; donationId: string | null; refs: object; entries: { account_id: number; amount: number }[] },
  ): Promise<{ journal_id: number; replayed: boolean }> {
    const { rows } = await db.raw('SELECT * FROM ledger_post_journal(?, ?, ?, ?, ?, ?::jsonb, ?::jsonb)', [
      j.key,
      j.kind,
      j.effectiveAt,
      j.memo,
      j.donationId,
      JSON.stringify(j.refs),
      JSON.stringify(j.entries),
    ]);
    return rows[0];
  },

  /** Every account with its debits and credits summed from entries. */
  async trialBalanceRows(db: Knex) {
    const { rows } = await db.raw(`
      SELECT a.id, a.code, a.name, a.type, a.normal_balance, a.currency, a.tracks_balance,
             a.balance AS cached_balance,
             coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0)::bigint AS debits,
             coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0)::bigint AS credits
        FROM ledger_accounts a
        LEFT JOIN ledger_entries e ON e.account_id = a.id
       GROUP BY a.id
       ORDER BY a.code`);
    return rows as {
      id: number; code: string; name: string; type: string; normal_balance: 'debit' | 'credit'; currency: string;
      tracks_balance: boolean; cached_balance: number; debits: number; credits: number;
    }[];
  },

  async accountBalanceByCode(db: Knex | Knex.Transaction, code: string): Promise<number | null> {
    const { rows } = await db.raw(
      `SELECT CASE WHEN a.normal_balance = 'debit' THEN 1 ELSE -1 END * coalesce(sum(e.amount), 0)::bigint AS balance
         FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
        WHERE a.code = ? GROUP BY a.id, a.normal_balance`,
      [code],
    );
    return rows.length ? Number(rows[0].balance) : null;
  },
};
