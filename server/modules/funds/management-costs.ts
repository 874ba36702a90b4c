import type { Knex } from 'knex';

/** C-7 limits: management expenses as a share of total expenditure, by the kind of charity hosting the funds. */
export const MANAGEMENT_LIMIT_BP = { foundation: 1000, social_group: 1300 } as const;
export type AssociationKind = keyof typeof MANAGEMENT_LIMIT_BP;
/** Annual management expenses under ¥200,000 are exempt from the ratio. */
export const MANAGEMENT_EXEMPTION_MINOR = 20_000_000;
/** Charitable spending must reach 70 % of the previous year's income. */
export const CHARITABLE_SPENDING_BP = 7000;

const YEAR = `
  SELECT coalesce(sum(e.amount) FILTER (WHERE j.kind IN ('donation') AND a.owner_type = 'campaign'), 0)::bigint * -1 AS donations,
         coalesce(sum(e.amount) FILTER (WHERE j.kind IN ('match_commit', 'grant_closed') AND a.owner_type = 'campaign'), 0)::bigint * -1 AS matching,
         coalesce(sum(e.amount) FILTER (WHERE j.kind = 'government_allocation' AND a.owner_type = 'fund'), 0)::bigint * -1 AS government,
         coalesce(sum(e.amount) FILTER (WHERE a.code LIKE 'association:expense:processor_fees:%'), 0)::bigint AS processor_fees,
         coalesce(sum(e.amount) FILTER (WHERE a.code LIKE 'association:revenue:management_fees:%'), 0)::bigint * -1 AS management_fees,
         coalesce(sum(e.amount) FILTER (WHERE j.kind = 'tranche_payment' AND a.owner_type = 'contract'), 0)::bigint AS charitable_spending
    FROM ledger_entries e JOIN ledger_journals j ON j.id = e.journal_id JOIN ledger_accounts a ON a.id = e.account_id
   WHERE j.effective_at >= :from AND j.effective_at < :to`;

/**
 * The C-7 verdict on a year's figures (fen): the management ratio in basis points, whether the
 * ¥200,000 exemption applies, and the warnings: the ratio over the limit of the association's
 * kind (unless exempt), and charitable spending under 70 % of the previous year's income.
 */
export function assessManagementCosts(f: { management: number; charitable: number; previousIncome: number }, kind: AssociationKind) {
  const expenditure = f.management + f.charitable;
  const ratioBp = expenditure > 0 ? Math.round((f.management * 10_000) / expenditure) : 0;
  const exempt = f.management < MANAGEMENT_EXEMPTION_MINOR;
  const warnings: string[] = [];
  if (!exempt && ratioBp > MANAGEMENT_LIMIT_BP[kind]) warnings.push('management_ratio_exceeded');
  if (f.previousIncome > 0 && f.charitable * 10_000 < f.previousIncome * CHARITABLE_SPENDING_BP) warnings.push('charitable_spending_below_70');
  return { ratioBp, exempt, warnings };
}

const cstYear = (y: number) => new Date(Date.parse(`${y}-01-01T00:00:00+08:00`));

/** The calendar year, in China Standard Time (UTC+8), that an instant falls in: C-7's year. */
export const yearInCst = (at: Date): number => new Date(at.getTime() + 8 * 3_600_000).getUTCFullYear();

/**
 * The organisation-level checks of C-7, for one calendar year (China Standard Time): management
 * expenses (the processor fees the association bears) against total expenditure (those plus
 * charitable spending: payments out of the pools), with the ¥200,000 exemption, and charitable
 * spending against 70 % of the previous year's income (donations, matching, government money).
 * They are warnings for staff, never a block.
 */
export async function managementCosts(db: Knex, year: number, kind: AssociationKind) {
  const read = async (y: number) => {
    const r = (await db.raw(YEAR, { from: cstYear(y), to: cstYear(y + 1) })).rows[0];
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])) as Record<'donations' | 'matching' | 'government' | 'processor_fees' | 'management_fees' | 'charitable_spending', number>;
  };
  const [now, before] = [await read(year), await read(year - 1)];
  const management = now.processor_fees;
  const expenditure = management + now.charitable_spending;
  const previousIncome = before.donations + before.matching + before.government;
  const { ratioBp, exempt, warnings } = assessManagementCosts({ management, charitable: now.charitable_spending, previousIncome }, kind);
  return {
    year, association_kind: kind, currency: 'CNY' as const,
    income: { donations: now.donations, matching: now.matching, government: now.government, total: now.donations + now.matching + now.government },
    previous_year_income: previousIncome,
    management_expenses: management, management_fee_revenue: now.management_fees, charitable_spending: now.charitable_spending, total_expenditure: expenditure,
    management_ratio_bp: ratioBp, limit_bp: MANAGEMENT_LIMIT_BP[kind], exempt, warnings,
  };
}
