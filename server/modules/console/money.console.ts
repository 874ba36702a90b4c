import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { sendCsv } from '../../http/csv.js';
import { idParam, plainText } from '../../http/schemas.js';
import { issuesToFields } from '../../http/validation.js';
import { AppError } from '../../lib/errors.js';
import type { Container } from '../../container.js';
import { geoRepo } from '../geo/index.js';
import { parseStatement } from '../funds/index.js';
import { periods, trialBalance } from '../ledger/index.js';
import { allow, audited, flashTo } from './console-helpers.js';
import { one, yuan } from './form-values.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'validation.date' }).transform((s) => new Date(`${s}T00:00:00+08:00`));
const reference = z.string().trim().regex(/^[\w./:#-]{3,80}$/, { error: 'validation.reference' });
const amount = z.number({ error: 'validation.amount_integer' }).int({ error: 'validation.amount_integer' }).min(1, { error: 'validation.amount_min' });
const InvoiceForm = z.object({ grant_id: idParam(), number: reference, amount, issued_on: day, due_on: day.optional() });
const ReceiptForm = z.object({ grant_id: idParam(), reference, amount, received_on: day, invoice: reference.optional() });
const GovernmentForm = z.object({ street_id: idParam(), reference, amount, received_on: day, memo: plainText(300).optional() });
const PeriodForm = z.object({ period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: 'validation.period' }) });

/** Pledges and receipts (with bank-statement import), government allocations, the trial balance and closed periods. */
export function moneyConsole(c: Container): Router {
  const r = Router();

  async function pledgesView(req: Request, extra: Record<string, unknown> = {}) {
    const grants = await c.db('grants as g').join('sponsors as s', 's.id', 'g.sponsor_id').whereNot('g.status', 'draft').orderBy('g.id').select('g.id', 'g.name', 'g.status', 's.name as sponsor', 's.kind as sponsor_kind');
    const pledges = await Promise.all(grants.map(async (g) => ({ ...g, ...(await c.pledges.of(g.id)) })));
    return {
      title: req.t('finance.pledges'), pledges, streets: await geoRepo.listStreets(c.db), allocations: await c.db('government_allocations as a').join('streets as s', 's.id', 'a.street_id').orderBy('a.id', 'desc').limit(50).select('a.*', 's.name as street'),
      values: {}, errors: {}, form: null, statement: null, ...extra,
    };
  }

  /** Parses a money form; on failure re-renders the pledges page with the form's field errors. */
  async function parseForm<S extends z.ZodType>(req: Request, res: Response, schema: S, form: string): Promise<z.infer<S> | null> {
    const b = { ...(req.body ?? {}), amount: yuan(one(req.body?.amount_yuan)) };
    for (const k of ['due_on', 'invoice', 'memo']) if (b[k] === '') delete b[k];
    const parsed = schema.safeParse(b);
    if (parsed.success) return parsed.data;
    const errors = Object.fromEntries(Object.entries(issuesToFields(parsed.error.issues, req.t)).map(([k, v]) => [k === 'amount' ? 'amount_yuan' : k, v]));
    res.status(422).render('console/pledges', await pledgesView(req, { values: req.body ?? {}, errors, form }));
    return null;
  }

  async function act(req: Request, res: Response, form: string, run: () => Promise<unknown>, audit: () => Promise<void>, done: string) {
    try {
      await run();
      await audit();
      flashTo(req, res, '/console/finance/pledges', done);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      res.status(err.status === 404 ? 422 : err.status).render('console/pledges', await pledgesView(req, { values: req.body ?? {}, errors: { ...(err.fields ?? {}), _: req.t(err.message, err.params) }, form }));
    }
  }

  r.get('/console/finance/pledges', async (req, res) => {
    allow(req, 'ledger.read');
    res.render('console/pledges', await pledgesView(req));
  });

  r.post('/console/finance/invoices', async (req, res) => {
    allow(req, 'pledge.manage');
    const f = await parseForm(req, res, InvoiceForm, 'invoice');
    if (!f) return;
    await act(req, res, 'invoice', () => c.pledges.invoice(req.principal!, f.grant_id, { number: f.number, amount: f.amount, issued_on: f.issued_on, due_on: f.due_on }),
      () => audited(c, req, { action: 'pledge.invoiced', subjectType: 'grant', subjectId: f.grant_id, after: f }), req.t('console.saved'));
  });

  r.post('/console/finance/receipts', async (req, res) => {
    allow(req, 'pledge.manage');
    const f = await parseForm(req, res, ReceiptForm, 'receipt');
    if (!f) return;
    await act(req, res, 'receipt', () => c.pledges.receipt(req.principal!, f.grant_id, f),
      () => audited(c, req, { action: 'pledge.received', subjectType: 'grant', subjectId: f.grant_id, after: f }), req.t('console.saved'));
  });

  r.post('/console/finance/statement', async (req, res) => {
    allow(req, 'pledge.manage');
    const { lines, errors } = parseStatement(String(one(req.body?.csv) ?? ''));
    if (Object.keys(errors).length || !lines.length) {
      const shown = Object.keys(errors).length ? errors : { csv: 'validation.statement_empty' };
      return res.status(422).render('console/pledges', await pledgesView(req, { values: req.body ?? {}, errors: Object.fromEntries(Object.entries(shown).map(([k, v]) => [k, req.t(v)])), form: 'statement' }));
    }
    const out = await c.pledges.importStatement(req.principal!, lines);
    await audited(c, req, { action: 'pledge.statement_imported', subjectType: 'bank_statement', after: { lines: lines.length, matched: out.matched.length, duplicates: out.duplicates.length, unmatched: out.unmatched.length } });
    res.render('console/pledges', await pledgesView(req, { statement: out }));
  });

  r.post('/console/finance/government', async (req, res) => {
    allow(req, 'pool.manage');
    const f = await parseForm(req, res, GovernmentForm, 'government');
    if (!f) return;
    await act(req, res, 'government', () => c.pools.allocateGovernment(req.principal!, f.street_id, f),
      () => audited(c, req, { action: 'pool.government_allocated', subjectType: 'street', subjectId: f.street_id, after: f }), req.t('console.saved'));
  });

  r.get(['/console/ledger', '/console/ledger.csv'], async (req, res) => {
    allow(req, 'ledger.read');
    const tb = await trialBalance(c.db);
    if (req.path.endsWith('.csv')) return sendCsv(res, 'trial-balance.csv', ['code', 'name', 'type', 'normal_balance', 'currency', 'balance'].map((k) => ({ key: k, label: k })), tb.accounts as unknown as Record<string, unknown>[]);
    res.render('console/ledger', { title: req.t('finance.ledger'), tb, periods: await periods.list(c.db), values: {}, errors: {} });
  });

  r.post('/console/ledger/periods', async (req, res) => {
    allow(req, 'period.close');
    const parsed = PeriodForm.safeParse(req.body ?? {});
    const fail = async (errors: Record<string, string>, status = 422) => res.status(status).render('console/ledger', { title: req.t('finance.ledger'), tb: await trialBalance(c.db), periods: await periods.list(c.db), values: req.body ?? {}, errors });
    if (!parsed.success) return fail(issuesToFields(parsed.error.issues, req.t));
    try {
      const row = await periods.close(c.db, req.principal!, parsed.data.period);
      await audited(c, req, { action: 'ledger.period_closed', subjectType: 'ledger_period', subjectId: row.period, after: row });
      flashTo(req, res, '/console/ledger', req.t('finance.period_closed', { period: row.period }));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await fail({ period: req.t(err.message, err.params) }, 409);
    }
  });

  return r;
}
