import type { Knex } from 'knex';
import { ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { can, type Principal } from '../auth/index.js';

/** The accounts that make up a fund's sub-ledger (C-1): its pools, and its campaigns' donation and match accounts. */
const FUND_ACCOUNTS = `
  SELECT a.id FROM ledger_accounts a
   WHERE (a.owner_type = 'fund' AND a.owner_id = :fund::text AND a.code LIKE 'fund:%:pool:%:%')
      OR (a.owner_type = 'campaign' AND a.owner_id IN (SELECT c.id::text FROM campaigns c WHERE c.fund_id = :fund))
      OR (a.owner_type = 'call' AND a.owner_id IN (SELECT k.id::text FROM calls k WHERE k.fund_id = :fund))
      OR (a.owner_type = 'contract' AND a.owner_id IN (SELECT t.id::text FROM contracts t JOIN calls k ON k.id = t.call_id WHERE k.fund_id = :fund))`;

/** Net movement of the fund's accounts per journal kind in [from, to); credits (money in) positive. */
const MOVEMENTS = `
  WITH acc AS (${FUND_ACCOUNTS})
  SELECT j.kind, coalesce(s.kind, '') AS sponsor_kind, (-sum(e.amount))::bigint AS net, count(DISTINCT j.id)::int AS journals
    FROM ledger_entries e JOIN acc ON acc.id = e.account_id JOIN ledger_journals j ON j.id = e.journal_id
    LEFT JOIN grants g ON g.id = (j.refs->>'grant_id')::integer LEFT JOIN sponsors s ON s.id = g.sponsor_id
   WHERE j.effective_at >= :from AND j.effective_at < :to
   GROUP BY j.kind, s.kind`;

const BALANCE_AT = `WITH acc AS (${FUND_ACCOUNTS})
  SELECT (-coalesce(sum(e.amount), 0))::bigint AS balance FROM ledger_entries e JOIN acc ON acc.id = e.account_id JOIN ledger_journals j ON j.id = e.journal_id
   WHERE j.effective_at < :at`;

/** A fund's financial statement (D-7): what it held, what came in by source, what went out. */
export interface FundStatement {
  fund: { id: number; name: string; street_id: number };
  period: { from: string; to: string };
  currency: 'CNY';
  opening_balance: number;
  income: { donations: number; matching: number; matching_by_sponsor: Record<string, number>; government: number; total: number };
  expenses: { refunds: number; disputes: number; match_clawbacks: number; management_fees: number; tranche_payments: number; adjustments: number; other: number; total: number };
  closing_balance: number;
}

/**
 * Fund statements (D-7), read straight from the ledger: opening and closing balance of the fund's
 * accounts, income split by source (user donations, matching by sponsor kind, government) and
 * expenses. Moves inside the fund (a release from a campaign into the pool) net out; only the
 * management fee taken on them leaves. opening + income − expenses = closing, by construction.
 */
export function createStatements(deps: { db: Knex }) {
  const { db } = deps;
  return {
    async fund(p: Principal | undefined, fundId: number, from: Date, to: Date): Promise<FundStatement> {
      const f = await db('community_funds').where({ id: fundId }).first('id', 'name', 'street_id');
      if (!f) throw new NotFoundError('fund');
      if (!can(p, 'fund.read', { streetId: f.street_id })) throw new ForbiddenError();
      const balanceAt = async (at: Date) => Number((await db.raw(BALANCE_AT, { fund: fundId, at })).rows[0].balance);
      const rows: { kind: string; sponsor_kind: string; net: number }[] = (await db.raw(MOVEMENTS, { fund: fundId, from, to })).rows;
      const net = (kinds: string[]) => rows.filter((r) => kinds.includes(r.kind)).reduce((s, r) => s + Number(r.net), 0);
      const matching_by_sponsor: Record<string, number> = {};
      for (const r of rows.filter((x) => x.kind === 'match_commit' || x.kind === 'grant_closed')) matching_by_sponsor[r.sponsor_kind] = (matching_by_sponsor[r.sponsor_kind] ?? 0) + Number(r.net);
      const income = { donations: net(['donation']), matching: net(['match_commit', 'grant_closed']), matching_by_sponsor, government: net(['government_allocation']), total: 0 };
      income.total = income.donations + income.matching + income.government;
      const known = ['donation', 'match_commit', 'grant_closed', 'government_allocation', 'refund', 'dispute', 'match_clawback', 'pool_release', 'adjustment', 'tranche_payment', 'call_committed', 'call_released', 'tranche_award'];
      const expenses = {
        refunds: -net(['refund']), disputes: -net(['dispute']), match_clawbacks: -net(['match_clawback']), management_fees: -net(['pool_release']), tranche_payments: -net(['tranche_payment']),
        adjustments: -net(['adjustment']), other: -rows.filter((r) => !known.includes(r.kind)).reduce((s, r) => s + Number(r.net), 0), total: 0,
      };
      expenses.total = expenses.refunds + expenses.disputes + expenses.match_clawbacks + expenses.management_fees + expenses.tranche_payments + expenses.adjustments + expenses.other;
      return {
        fund: { id: f.id, name: f.name, street_id: f.street_id }, period: { from: from.toISOString(), to: to.toISOString() }, currency: 'CNY',
        opening_balance: await balanceAt(from), income, expenses, closing_balance: await balanceAt(to),
      };
    },
  };
}

export type Statements = ReturnType<typeof createStatements>;
