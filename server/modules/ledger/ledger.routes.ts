import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { fen, plainText } from '../../http/schemas.js';
import { parseOrThrow } from '../../http/validation.js';
import { ValidationError } from '../../lib/errors.js';
import type { Approvals } from '../approvals/index.js';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import { periods } from './periods.js';
import { trialBalance } from './trial-balance.js';

const code = z.string().regex(/^[a-z_]+(:[\w#-]+)+$/, { error: 'validation.account_code' });
export const PeriodClose = z.object({ period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: 'validation.period' }) }).strict();
export const Adjustment = z.object({ debit: code, credit: code, amount: fen(10_000_000_000, 1), memo: plainText(300).pipe(z.string().min(4)) });

/** The trial balance, adjusting journals (requested by one person, approved by another) and closed periods. */
export function ledgerRouter(deps: { db: Knex; auth: AuthService; approvals: Approvals; audit: Audit }): Router {
  const r = Router();
  r.get('/ledger/trial-balance', requireToken(deps.auth), permit('ledger.read'), async (_req, res) => {
    res.json(await trialBalance(deps.db));
  });

  r.post('/ledger/adjustments', requireToken(deps.auth), permit('ledger.adjust'), async (req, res) => {
    const input = parseOrThrow(Adjustment, req.body ?? {}, req.t);
    const accounts = await deps.db('ledger_accounts').whereIn('code', [input.debit, input.credit]).select('code', 'currency');
    const missing = [input.debit, input.credit].find((c) => !accounts.some((a) => a.code === c));
    if (missing) throw new ValidationError({ [missing === input.debit ? 'debit' : 'credit']: req.t('validation.unknown_account') });
    if (input.debit === input.credit || new Set(accounts.map((a) => a.currency)).size !== 1) throw new ValidationError({ credit: req.t('validation.adjustment_accounts') });
    const approval = await deps.approvals.request(req.principal!, 'adjustment', 'ledger', randomUUID(), input);
    await deps.audit.record(auditContext(req), { action: 'ledger.adjustment_requested', subjectType: 'approval', subjectId: approval.id, after: input });
    res.status(202).json({ approval_id: approval.id, status: 'pending_approval', ...input });
  });
  r.get('/ledger/periods', requireToken(deps.auth), permit('ledger.read'), async (_req, res) => {
    res.json(await periods.list(deps.db));
  });

  r.post('/ledger/periods', requireToken(deps.auth), permit('period.close'), async (req, res) => {
    const { period } = parseOrThrow(PeriodClose, req.body ?? {}, req.t);
    const row = await periods.close(deps.db, req.principal!, period);
    await deps.audit.record(auditContext(req), { action: 'ledger.period_closed', subjectType: 'ledger_period', subjectId: period, after: row });
    res.status(201).json(row);
  });
  return r;
}
