import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { can, type Principal } from '../auth/index.js';
import { chart, credit, debit, JournalKind, type LedgerService } from '../ledger/index.js';
import { fundsRepo } from './funds.repo.js';

/** One street's purchase-of-services pool, by source (G-15), and what is still on its way. */
export interface PoolSummary {
  street_id: number;
  street: string;
  street_en: string | null;
  currency: 'CNY';
  available: number;
  by_source: { donations: number; matching: number; government: number };
  /** The matching part by the sponsor's kind (platform, foundation, enterprise, government). */
  matching_by_sponsor: Record<string, number>;
  /** Raised in the street's campaigns (donations and match) but not yet released into the pool. */
  pending: number;
}

const POOLS = `
  SELECT s.id AS street_id, s.name AS street, s.name_en AS street_en,
         coalesce(sum(a.balance), 0)::bigint AS available,
         coalesce(sum(a.balance) FILTER (WHERE split_part(a.code, ':', 4) = 'donations'), 0)::bigint AS donations,
         coalesce(sum(a.balance) FILTER (WHERE split_part(a.code, ':', 4) LIKE 'match\\_%'), 0)::bigint AS matching,
         coalesce(sum(a.balance) FILTER (WHERE split_part(a.code, ':', 4) = 'government'), 0)::bigint AS government,
         coalesce(jsonb_object_agg(substr(split_part(a.code, ':', 4), 7), a.balance) FILTER (WHERE split_part(a.code, ':', 4) LIKE 'match\\_%'), '{}') AS matching_by_sponsor,
         (SELECT coalesce(sum(ca.balance), 0) FROM campaigns c JOIN community_funds cf ON cf.id = c.fund_id
            JOIN ledger_accounts ca ON ca.owner_type = 'campaign' AND ca.owner_id = c.id::text
           WHERE cf.street_id = s.id)::bigint AS pending
    FROM streets s
    LEFT JOIN community_funds f ON f.street_id = s.id
    LEFT JOIN ledger_accounts a ON a.owner_type = 'fund' AND a.owner_id = f.id::text AND a.code LIKE 'fund:%:pool:%:%'
   WHERE (?::integer IS NULL OR s.id = ?)
   GROUP BY s.id ORDER BY s.id`;

/** What flowed into a street's pool per day and source (releases net of the fee, government allocations). */
const INFLOW = `
  SELECT to_char(x.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS day,
         coalesce(sum(x.amount) FILTER (WHERE x.source = 'donations'), 0)::bigint AS donations,
         coalesce(sum(x.amount) FILTER (WHERE x.source = 'match'), 0)::bigint AS matching,
         coalesce(sum(x.amount) FILTER (WHERE x.source = 'government'), 0)::bigint AS government
    FROM (SELECT r.created_at AS at, r.source, r.amount_minor - r.fee_minor AS amount FROM pool_releases r JOIN community_funds f ON f.id = r.fund_id WHERE f.street_id = :street
          UNION ALL
          SELECT g.created_at, 'government', g.amount_minor FROM government_allocations g WHERE g.street_id = :street) x
   WHERE x.at >= :since
   GROUP BY 1 ORDER BY 1`;

/** The purchase-of-services pools: totals per street, inflow over time, and government allocations into them. */
export function createPools(deps: { db: Knex; ledger: LedgerService }) {
  const { db, ledger } = deps;

  const present = (r: Record<string, any>): PoolSummary => ({
    street_id: r.street_id, street: r.street, street_en: r.street_en, currency: 'CNY', available: Number(r.available),
    by_source: { donations: Number(r.donations), matching: Number(r.matching), government: Number(r.government) },
    matching_by_sponsor: Object.fromEntries(Object.entries(r.matching_by_sponsor as Record<string, number>).map(([k, v]) => [k, Number(v)])),
    pending: Number(r.pending),
  });

  return {
    /** Every street's pool (public: these are the figures the transparency pages show). */
    async list(): Promise<PoolSummary[]> {
      return (await db.raw(POOLS, [null, null])).rows.map(present);
    },

    async get(streetId: number): Promise<PoolSummary> {
      const [row] = (await db.raw(POOLS, [streetId, streetId])).rows;
      if (!row) throw new NotFoundError('street');
      return present(row);
    },

    async inflow(streetId: number, days: number): Promise<{ day: string; donations: number; matching: number; government: number }[]> {
      const since = new Date(Date.now() - days * 86_400_000);
      return (await db.raw(INFLOW, { street: streetId, since })).rows.map((r: Record<string, any>) => ({ day: r.day, donations: Number(r.donations), matching: Number(r.matching), government: Number(r.government) }));
    },

    /**
     * Government money (财政资金) for a street's pool, entered by finance with the reference of the
     * transfer. The same reference with the same figures returns the allocation already made.
     */
    async allocateGovernment(p: Principal, streetId: number, input: { amount: number; reference: string; memo?: string; received_on: Date }) {
      if (!can(p, 'pool.manage')) throw new ForbiddenError();
      const fund = await fundsRepo.findStreetFund(db, streetId);
      if (!fund) throw new NotFoundError('fund');
      return db.transaction(async (trx) => {
        const existing = await trx('government_allocations').where({ reference: input.reference }).first();
        if (existing) {
          if (existing.street_id === streetId && Number(existing.amount_minor) === input.amount) return { allocation: existing, replayed: true };
          throw new ConflictError('reference_taken', 'errors.reference_taken');
        }
        const { journalId } = await ledger.postJournal(trx, {
          kind: JournalKind.GOVERNMENT_ALLOCATION, idempotencyKey: `government:${input.reference}`, effectiveAt: input.received_on, memo: input.memo,
          refs: { street_id: streetId, fund_id: fund.id, reference: input.reference },
          legs: [debit(await ledger.ensureAccount(trx, chart.bank('CNY')), input.amount), credit(await ledger.ensureAccount(trx, chart.fundPool(fund.id, 'government', 'CNY')), input.amount)],
        });
        const [allocation] = await trx('government_allocations').insert({
          street_id: streetId, fund_id: fund.id, amount_minor: input.amount, reference: input.reference, memo: input.memo ?? null, received_on: input.received_on, journal_id: journalId, created_by: p.userId,
        }).returning('*');
        return { allocation, replayed: false };
      });
    },
  };
}

export type Pools = ReturnType<typeof createPools>;
