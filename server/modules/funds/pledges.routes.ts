import express, { Router } from 'express';
import { z } from 'zod';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { parseCsv } from '../../http/csv.js';
import { fen, isoDate, plainText, textProblem } from '../../http/schemas.js';
import { parseOrThrow, pathId } from '../../http/validation.js';
import { ValidationError } from '../../lib/errors.js';
import { parseMajor } from '../../lib/money.js';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import type { Pledges, StatementLine } from './pledges.js';

const reference = z.string().trim().regex(/^[\w./:#-]{3,80}$/, { error: 'validation.reference' });
export const Invoice = z.object({ number: reference, amount: fen(100_000_000_000, 1), issued_on: isoDate, due_on: isoDate.optional(), note: plainText(300).optional() }).strict();
export const Receipt = z.object({ amount: fen(100_000_000_000, 1), reference, received_on: isoDate, invoice: reference.optional() }).strict();
const MAX_LINES = 5000;

/**
 * Bank-statement CSV: a header row naming `date`, `amount` (yuan, e.g. 1,234.50), `reference`,
 * and optionally `payer`, in any order. Debits (negative amounts) are never receipts.
 */
export function parseStatement(text: string): { lines: StatementLine[]; errors: Record<string, string> } {
  const rows = parseCsv(text);
  const header = (rows.shift() ?? []).map((h) => h.trim().toLowerCase());
  const at = (name: string) => header.indexOf(name);
  const errors: Record<string, string> = {};
  if (at('date') < 0 || at('amount') < 0 || at('reference') < 0) return { lines: [], errors: { csv: 'validation.statement_header' } };
  if (rows.length > MAX_LINES) return { lines: [], errors: { csv: 'validation.statement_too_long' } };
  const lines: StatementLine[] = [];
  rows.forEach((row, i) => {
    const raw = (row[at('amount')] ?? '').trim();
    const negative = raw.startsWith('-');
    const amount = parseMajor(negative ? raw.slice(1) : raw);
    const date = new Date(`${(row[at('date')] ?? '').trim()}T00:00:00+08:00`);
    if (amount === null || Number.isNaN(date.getTime())) errors[`line ${i + 2}`] = 'validation.statement_line';
    else lines.push({ date, amount: negative ? -amount : amount, reference: (row[at('reference')] ?? '').trim().slice(0, 200), ...(at('payer') >= 0 ? { payer: (row[at('payer')] ?? '').trim().slice(0, 200) } : {}) });
  });
  return { lines, errors };
}

/** Sponsors' pledges: a grant's invoices and receipts, and bank statements matched to invoices (finance). */
export function pledgesApi(deps: { pledges: Pledges; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);

  r.get('/grants/:id/pledge', auth, permit('ledger.read'), async (req, res) => {
    res.json(await deps.pledges.of(pathId(req, 'id')));
  });

  r.post('/grants/:id/invoices', auth, permit('pledge.manage'), async (req, res) => {
    const id = pathId(req, 'id');
    const row = await deps.pledges.invoice(req.principal!, id, parseOrThrow(Invoice, req.body ?? {}, req.t));
    await deps.audit.record(auditContext(req), { action: 'pledge.invoiced', subjectType: 'grant', subjectId: id, after: row });
    res.status(201).json(row);
  });

  r.post('/grants/:id/receipts', auth, permit('pledge.manage'), async (req, res) => {
    const id = pathId(req, 'id');
    const { receipt, replayed } = await deps.pledges.receipt(req.principal!, id, parseOrThrow(Receipt, req.body ?? {}, req.t));
    if (!replayed) await deps.audit.record(auditContext(req), { action: 'pledge.received', subjectType: 'grant', subjectId: id, after: receipt });
    res.status(replayed ? 200 : 201).json(receipt);
  });

  /** The statement as `text/csv`, or JSON `{csv}`. */
  r.post('/pledges/bank-statement', auth, permit('pledge.manage'), express.text({ type: 'text/csv', limit: '2mb' }), async (req, res) => {
    const text = typeof req.body === 'string' ? req.body : typeof req.body?.csv === 'string' ? req.body.csv : '';
    const broken = textProblem(text);
    if (broken) throw new ValidationError({ csv: req.t(broken) });
    const { lines, errors } = parseStatement(text);
    if (Object.keys(errors).length || !lines.length) throw new ValidationError(Object.fromEntries(Object.entries(Object.keys(errors).length ? errors : { csv: 'validation.statement_empty' }).map(([k, v]) => [k, req.t(v)])));
    const out = await deps.pledges.importStatement(req.principal!, lines);
    await deps.audit.record(auditContext(req), { action: 'pledge.statement_imported', subjectType: 'bank_statement', after: { lines: lines.length, matched: out.matched.length, duplicates: out.duplicates.length, unmatched: out.unmatched.length } });
    res.json(out);
  });

  return r;
}
