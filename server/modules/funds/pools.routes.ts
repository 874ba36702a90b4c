import { Router } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { optionalToken, permit, requireToken } from '../../http/middleware/auth.js';
import { sendCsv } from '../../http/csv.js';
import { fen, isoDate, plainText } from '../../http/schemas.js';
import { parseOrThrow, pathId } from '../../http/validation.js';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import { managementCosts, yearInCst, type AssociationKind } from './management-costs.js';
import type { Pools } from './pools.js';
import type { Releases } from './releases.js';
import type { Statements } from './statements.js';

export const GovernmentAllocation = z.object({
  amount: fen(100_000_000_000, 1), reference: z.string().trim().regex(/^[\w./:#-]{3,80}$/, { error: 'validation.reference' }),
  memo: plainText(300).optional(), received_on: isoDate,
}).strict();
const StatementQuery = z.object({ from: isoDate, to: isoDate, format: z.enum(['json', 'csv']).default('json') }).refine((q) => q.to > q.from, { path: ['to'], error: 'validation.period_order' });
const InflowQuery = z.object({ days: z.coerce.number().int().min(1).max(730).default(90) });
/** The year asked for; this year in China Standard Time when none is. */
const YearQuery = z.object({ year: z.coerce.number().int().min(2000).max(2100).default(() => yearInCst(new Date())) });

/** Pools (public figures), government allocations and releases (finance), fund statements and C-7 figures (readers). */
export function poolsApi(deps: { db: Knex; pools: Pools; releases: Releases; statements: Statements; auth: AuthService; audit: Audit; associationKind: AssociationKind }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);

  r.get('/pools', optionalToken(deps.auth), async (_req, res) => {
    res.json(await deps.pools.list());
  });

  r.get('/pools/:street', optionalToken(deps.auth), async (req, res) => {
    res.json(await deps.pools.get(pathId(req, 'street')));
  });

  r.get('/pools/:street/inflow', optionalToken(deps.auth), async (req, res) => {
    const street = pathId(req, 'street');
    const { days } = parseOrThrow(InflowQuery, req.query, req.t);
    res.json(await deps.pools.inflow(street, days));
  });

  r.post('/pools/:street/government', auth, permit('pool.manage'), async (req, res) => {
    const street = pathId(req, 'street');
    const input = parseOrThrow(GovernmentAllocation, req.body ?? {}, req.t);
    const { allocation, replayed } = await deps.pools.allocateGovernment(req.principal!, street, input);
    if (!replayed) await deps.audit.record(auditContext(req), { action: 'pool.government_allocated', subjectType: 'street', subjectId: street, after: allocation });
    res.status(replayed ? 200 : 201).json(allocation);
  });

  /** Runs the release to pools now (the hourly job does the same). */
  r.post('/pools/release', auth, permit('pool.manage'), async (req, res) => {
    const out = await deps.releases.releaseDue();
    await deps.audit.record(auditContext(req), { action: 'pool.released', subjectType: 'pools', after: out });
    res.json(out);
  });

  r.get('/funds/:id/statement', auth, permit('fund.read'), async (req, res) => {
    const id = pathId(req, 'id');
    const q = parseOrThrow(StatementQuery, req.query, req.t);
    const s = await deps.statements.fund(req.principal, id, q.from, q.to);
    if (q.format === 'json') return void res.json(s);
    const rows = [
      ['opening_balance', s.opening_balance], ['income.donations', s.income.donations], ['income.matching', s.income.matching],
      ...Object.entries(s.income.matching_by_sponsor).map(([k, v]) => [`income.matching.${k}`, v]), ['income.government', s.income.government],
      ...Object.entries(s.expenses).filter(([k]) => k !== 'total').map(([k, v]) => [`expenses.${k}`, v]), ['expenses.total', s.expenses.total], ['closing_balance', s.closing_balance],
    ].map(([line, fen]) => ({ line, fen, yuan: (Number(fen) / 100).toFixed(2) }));
    sendCsv(res, `fund-${s.fund.id}-statement.csv`, [{ key: 'line', label: req.t('statement.line') }, { key: 'fen', label: req.t('statement.fen') }, { key: 'yuan', label: req.t('statement.yuan') }], rows);
  });

  r.get('/finance/management-costs', auth, permit('ledger.read'), async (req, res) => {
    const { year } = parseOrThrow(YearQuery, req.query, req.t);
    res.json(await managementCosts(deps.db, year, deps.associationKind));
  });

  return r;
}
