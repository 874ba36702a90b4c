import { Router, type Request } from 'express';
import { z } from 'zod';
import { sendCsv } from '../../http/csv.js';
import { idOrZero, isoDate, pagination } from '../../http/schemas.js';
import { issuesToFields } from '../../http/validation.js';
import { AppError } from '../../lib/errors.js';
import type { Container } from '../../container.js';
import { INJECTABLE, type Injection } from '../donations/index.js';
import { managementCosts, yearInCst } from '../funds/index.js';
import { ExceptionResolve } from '../reconciliation/index.js';
import { allow, audited, csvHref, flashTo, pagerLinks } from './console-helpers.js';
import { one, yuan } from './form-values.js';

const PayoutFilters = z.object({ reconciliation: z.enum(['pending', 'reconciled', 'exceptions']).optional().catch(undefined), from: isoDate.optional().catch(undefined), to: isoDate.optional().catch(undefined), ...pagination });
const ItemFilters = z.object({ status: z.enum(['pending', 'matched', 'exception', 'skipped']).optional().catch(undefined), ...pagination });
const ExceptionFilters = z.object({
  status: z.enum(['open', 'resolved']).optional().catch(undefined),
  kind: z.enum(['missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'fee_mismatch', 'currency_mismatch', 'payout_sum_mismatch']).optional().catch(undefined),
  ...pagination,
});
const PAYOUT_COLUMNS = ['id', 'created_at', 'arrival_at', 'status', 'reconciliation', 'amount_minor', 'gross_minor', 'fee_minor', 'net_minor', 'items', 'matched', 'exceptions'];
const EXCEPTION_COLUMNS = ['id', 'kind', 'status', 'payout_id', 'item_id', 'donation_id', 'difference_minor', 'note', 'created_at', 'resolved_at'];

/** The finance console: payouts and their items, the exception queue with resolution, reconciliation runs, sandbox payouts. */
export function financeConsole(c: Container): Router {
  const r = Router();

  async function exceptionsView(req: Request, extra: Record<string, unknown> = {}) {
    const f = ExceptionFilters.parse(req.query);
    const { rows, total } = await c.reconciliation.listExceptions(f, f.page, f.per_page);
    return { title: req.t('finance.exceptions'), exceptions: rows, filters: { status: f.status ?? '', kind: f.kind ?? '' }, pager: pagerLinks(req, f.page, f.per_page, total), csv: csvHref(req), values: {}, errors: {}, errorFor: null, ...extra };
  }

  r.get(['/console/finance', '/console/finance.csv'], async (req, res) => {
    allow(req, 'reconciliation.read');
    const f = PayoutFilters.parse(req.query);
    if (req.path.endsWith('.csv')) {
      const { rows } = await c.reconciliation.listPayouts(f, 1, 10_000);
      return sendCsv(res, 'payouts.csv', PAYOUT_COLUMNS.map((k) => ({ key: k, label: k })), rows as unknown as Record<string, unknown>[]);
    }
    const { rows, total } = await c.reconciliation.listPayouts(f, f.page, f.per_page);
    const [{ n: open }] = await c.db('reconciliation_exceptions').where({ status: 'open' }).count({ n: '*' });
    res.render('console/finance', {
      title: req.t('finance.title'), payouts: rows, openExceptions: Number(open), filters: { reconciliation: f.reconciliation ?? '' }, pager: pagerLinks(req, f.page, f.per_page, total), csv: csvHref(req),
      costs: await managementCosts(c.db, yearInCst(new Date()), c.config.ASSOCIATION_KIND), sandbox: Boolean(c.sandbox), injectable: INJECTABLE,
    });
  });

  r.get('/console/finance/payouts/:id', async (req, res) => {
    allow(req, 'reconciliation.read');
    const payout = await c.reconciliation.payout(String(req.params.id));
    const f = ItemFilters.parse(req.query);
    const { rows, total } = await c.reconciliation.items(payout.id, f, f.page, 50);
    const { rows: exceptions } = await c.reconciliation.listExceptions({ payout: payout.id }, 1, 100);
    res.render('console/payout', { title: payout.id, payout, items: rows, exceptions, filters: { status: f.status ?? '' }, pager: pagerLinks(req, f.page, 50, total) });
  });

  r.get(['/console/finance/exceptions', '/console/finance/exceptions.csv'], async (req, res) => {
    allow(req, 'reconciliation.read');
    if (req.path.endsWith('.csv')) {
      const { rows } = await c.reconciliation.listExceptions(ExceptionFilters.parse(req.query), 1, 10_000);
      return sendCsv(res, 'exceptions.csv', EXCEPTION_COLUMNS.map((k) => ({ key: k, label: k })), rows as unknown as Record<string, unknown>[]);
    }
    res.render('console/exceptions', await exceptionsView(req));
  });

  /** A resolution is asked for here and approved by a second person under Approvals. */
  r.post('/console/finance/exceptions/:id/resolve', async (req, res) => {
    allow(req, 'reconciliation.resolve');
    const id = idOrZero(req.params.id);
    const b = req.body ?? {};
    const amount = one(b.amount_yuan);
    const parsed = ExceptionResolve.safeParse({ note: one(b.note), ...(amount ? { adjustment: { debit: one(b.debit), credit: one(b.credit), amount: yuan(amount) } } : {}) });
    const fail = async (errors: Record<string, string>) => res.status(422).render('console/exceptions', await exceptionsView(req, { values: b, errors, errorFor: id }));
    if (!parsed.success) return fail(Object.fromEntries(Object.entries(issuesToFields(parsed.error.issues, req.t)).map(([k, v]) => [k === 'adjustment.amount' ? 'amount_yuan' : k.replace('adjustment.', ''), v])));
    try {
      const approval = await c.reconciliation.requestResolution(req.principal!, id, parsed.data, req.t);
      await audited(c, req, { action: 'reconciliation.resolution_requested', subjectType: 'reconciliation_exception', subjectId: id, after: { approval_id: approval.id, ...parsed.data } });
      flashTo(req, res, '/console/finance/exceptions', req.t('finance.resolution_requested'));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      const fields = err.fields ? Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k.replace('adjustment.', ''), v])) : { note: req.t(err.message, err.params) };
      await fail(fields);
    }
  });

  r.post('/console/finance/run', async (req, res) => {
    allow(req, 'reconciliation.run');
    const id = await c.runs.start({ days: 7 });
    await audited(c, req, { action: 'reconciliation.run_started', subjectType: 'reconciliation_run', subjectId: id, after: { days: 7 } });
    res.redirect(303, `/console/finance/runs/${encodeURIComponent(id)}`);
  });

  r.get('/console/finance/runs/:id', async (req, res) => {
    allow(req, 'reconciliation.read');
    const run = await c.runs.status(String(req.params.id));
    if (!run) throw new AppError(404, 'not_found', 'errors.not_found', { params: { what: 'run' } });
    const progress = (run.progress ?? {}) as { done?: number; total?: number };
    res.render('console/run', { title: req.t('finance.run'), run, progress, refresh: !['completed', 'failed'].includes(run.state) });
  });

  r.post('/console/finance/sandbox-payout', async (req, res) => {
    allow(req, 'reconciliation.run');
    if (!c.sandbox) return flashTo(req, res, '/console/finance', req.t('errors.sandbox_only'), 'error');
    const inject = [req.body?.inject ?? []].flat().filter((x: string): x is Injection => (INJECTABLE as readonly string[]).includes(x));
    try {
      const payout = await c.sandbox.createPayout(inject);
      await audited(c, req, { action: 'sandbox.payout_created', subjectType: 'payout', subjectId: payout.id, after: payout });
      flashTo(req, res, '/console/finance', req.t('finance.payout_created', { id: payout.id }));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      flashTo(req, res, '/console/finance', req.t(err.message, err.params), 'error');
    }
  });

  r.post('/console/finance/release', async (req, res) => {
    allow(req, 'pool.manage');
    const out = await c.releases.releaseDue();
    await audited(c, req, { action: 'pool.released', subjectType: 'pools', after: out });
    flashTo(req, res, '/console/finance', req.t('finance.released', { donations: out.donations, matches: out.matches }));
  });

  return r;
}
