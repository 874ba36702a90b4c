import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import { allocate } from '../../lib/money.js';
import { can, type Principal } from '../auth/index.js';
import { fundsRepo } from '../funds/index.js';
import { chart, credit, debit, JournalKind, POOL_SOURCES, type LedgerService, type Leg, type PoolSource } from '../ledger/index.js';
import type { CallCreateInput } from './purchasing.schemas.js';

export type CallStatus = 'draft' | 'open' | 'review' | 'notice' | 'awarded' | 'closed';

export interface CallRow {
  id: number; street_id: number; fund_id: number; title: string; description: string; category: string; budget_line: string;
  budget_minor: number; funding: Partial<Record<PoolSource, number>>; opens_at: Date; closes_at: Date;
  eligibility: { min_years_registered?: number; min_rating?: string; certificate_months: number; pass_score: number };
  max_applications_per_org: number; criteria: { key: string; name: string; weight: number }[]; panel_size: number; notice_days: number;
  status: CallStatus; published_at: Date | null; review_closed_at: Date | null; notice_starts_at: Date | null; notice_ends_at: Date | null; created_at: Date;
}

/** The pool's balance per source of a street's fund, as the call's commitment sees it. */
async function poolBalances(trx: Knex.Transaction, ledger: LedgerService, fundId: number): Promise<Record<PoolSource, { id: number; balance: number }>> {
  const out = {} as Record<PoolSource, { id: number; balance: number }>;
  for (const source of POOL_SOURCES) {
    const id = await ledger.ensureAccount(trx, chart.fundPool(fundId, source, 'CNY'));
    out[source] = { id, balance: Number((await trx('ledger_accounts').where({ id }).first('balance')).balance) };
  }
  return out;
}

/**
 * Calls for proposals (G-1, G-2). A street officer drafts a call against its street's pool,
 * naming a catalogue item and a budget line; publishing commits the budget from the pool's
 * available balance, by source (in proportion to what each source holds unless the call says
 * otherwise), so the same money can never back two calls. Closing gives back what no contract
 * took.
 */
export function createCalls(deps: { db: Knex; ledger: LedgerService }) {
  const { db, ledger } = deps;

  async function mustFind(db_: Knex | Knex.Transaction, id: number, lock = false): Promise<CallRow> {
    const q = db_('calls').where({ id });
    if (lock) q.forUpdate();
    const c = await q.first();
    if (!c) throw new NotFoundError('call');
    return c;
  }

  return {
    mustFind: (id: number) => mustFind(db, id),
    catalogue: () => db('service_catalogue').orderBy('code'),

    async create(p: Principal, input: CallCreateInput, t: Translate): Promise<CallRow> {
      if (!can(p, 'call.manage', { streetId: input.street })) throw new ForbiddenError();
      const fund = await fundsRepo.findStreetFund(db, input.street);
      if (!fund) throw new ValidationError({ street: t('validation.unknown_street') });
      if (!(await db('service_catalogue').where({ code: input.category }).first('code'))) throw new ValidationError({ category: t('validation.category') });
      const [row] = await db('calls').insert({
        street_id: input.street, fund_id: fund.id, title: input.title, description: input.description, category: input.category, budget_line: input.budget_line,
        budget_minor: input.budget, funding: JSON.stringify(input.funding ?? {}), opens_at: input.opens_at, closes_at: input.closes_at,
        eligibility: JSON.stringify(input.eligibility), max_applications_per_org: input.max_applications_per_org, criteria: JSON.stringify(input.criteria),
        panel_size: input.panel_size, notice_days: input.notice_days, created_by: p.userId,
      }).returning('*');
      return row;
    },

    /** Draft → open: the budget is committed from the pool in one journal, or the call stays a draft. */
    async publish(p: Principal, id: number): Promise<CallRow> {
      return db.transaction(async (trx) => {
        const c = await mustFind(trx, id, true);
        if (!can(p, 'call.manage', { streetId: c.street_id })) throw new ForbiddenError();
        if (c.status !== 'draft') throw new ConflictError('call_not_draft', 'errors.call_not_draft');
        const pools = await poolBalances(trx, ledger, c.fund_id);
        let funding = c.funding;
        if (!Object.keys(funding).length) {
          const weights = POOL_SOURCES.map((s) => Math.max(0, pools[s].balance));
          if (weights.reduce((a, b) => a + b, 0) < c.budget_minor) throw new ConflictError('pool_insufficient', 'errors.pool_insufficient');
          const parts = allocate(c.budget_minor, weights);
          funding = Object.fromEntries(POOL_SOURCES.map((s, i) => [s, parts[i]]).filter(([, v]) => Number(v) > 0));
        }
        for (const [source, amount] of Object.entries(funding) as [PoolSource, number][]) {
          if (pools[source].balance < amount) throw new ConflictError('pool_insufficient', 'errors.pool_insufficient');
        }
        const legs: Leg[] = [];
        for (const [source, amount] of Object.entries(funding) as [PoolSource, number][]) {
          legs.push(debit(pools[source].id, amount), credit(await ledger.ensureAccount(trx, chart.callCommitted(c.id, source, 'CNY')), amount));
        }
        await ledger.postJournal(trx, { kind: JournalKind.CALL_COMMITTED, idempotencyKey: `call-commit:${c.id}`, refs: { call_id: c.id, street_id: c.street_id }, legs });
        const [row] = await trx('calls').where({ id }).update({ status: 'open', funding: JSON.stringify(funding), published_at: trx.fn.now() }).returning('*');
        return row;
      });
    },

    /** Awarded → closed: what the contracts did not take goes back to the pool, source by source. */
    async close(p: Principal, id: number): Promise<CallRow> {
      return db.transaction(async (trx) => {
        const c = await mustFind(trx, id, true);
        if (!can(p, 'call.manage', { streetId: c.street_id })) throw new ForbiddenError();
        if (c.status !== 'awarded') throw new ConflictError('call_not_awarded', 'errors.call_not_awarded');
        const legs: Leg[] = [];
        for (const source of Object.keys(c.funding) as PoolSource[]) {
          const committed = await ledger.ensureAccount(trx, chart.callCommitted(c.id, source, 'CNY'));
          const left = Number((await trx('ledger_accounts').where({ id: committed }).first('balance')).balance);
          if (left > 0) legs.push(debit(committed, left), credit(await ledger.ensureAccount(trx, chart.fundPool(c.fund_id, source, 'CNY')), left));
        }
        if (legs.length) await ledger.postJournal(trx, { kind: JournalKind.CALL_RELEASED, idempotencyKey: `call-release:${c.id}`, refs: { call_id: c.id }, legs });
        const [row] = await trx('calls').where({ id }).update({ status: 'closed' }).returning('*');
        return row;
      });
    },

    async list(p: Principal | undefined, f: { street?: number; status?: string }, page: number, perPage: number) {
      const base = () => {
        const q = db('calls as c').join('streets as s', 's.id', 'c.street_id').join('service_catalogue as k', 'k.code', 'c.category');
        if (f.street) q.where('c.street_id', f.street);
        if (f.status) q.where('c.status', f.status);
        // Drafts: every draft for readers, a street officer's own street's, nobody else's.
        if (!can(p, 'call.read_draft')) {
          q.where((w) => {
            w.whereNot('c.status', 'draft');
            if (p?.role === 'street_officer' && p.streetId) w.orWhere('c.street_id', p.streetId);
          });
        }
        return q;
      };
      const [{ n }] = await base().count({ n: '*' });
      const rows = await base().select('c.*', 's.name as street_name', 's.name_en as street_name_en', 'k.name as category_name', 'k.name_en as category_name_en')
        .orderBy('c.id', 'desc').limit(perPage).offset((page - 1) * perPage);
      return { rows, total: Number(n) };
    },

    /** A call, hiding a draft from anyone who may not read it. */
    async get(p: Principal | undefined, id: number): Promise<CallRow & { street_name: string; category_name: string }> {
      const c = await db('calls as c').join('streets as s', 's.id', 'c.street_id').join('service_catalogue as k', 'k.code', 'c.category').where('c.id', id)
        .first('c.*', 's.name as street_name', 's.name_en as street_name_en', 'k.name as category_name', 'k.name_en as category_name_en');
      if (!c || (c.status === 'draft' && !can(p, 'call.read_draft', { streetId: c.street_id }))) throw new NotFoundError('call');
      return c;
    },
  };
}

export type Calls = ReturnType<typeof createCalls>;
