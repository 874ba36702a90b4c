import { Router } from 'express';
import { z } from 'zod';
import { requireToken } from '../../http/middleware/auth.js';
import { setPaginationHeaders } from '../../http/pagination.js';
import { parseOrThrow } from '../../http/validation.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { auditContext, type Audit } from '../audit/index.js';
import { can, type AuthService } from '../auth/index.js';
import type { SandboxProvider } from '../donations/index.js';
import type { Reconciliation } from './reconciliation.service.js';
import { ExceptionListQuery, ExceptionResolve, ItemListQuery, PayoutListQuery, RunRequest, SandboxPayoutRequest } from './reconciliation.schemas.js';

const PayoutId = z.string().regex(/^po_\w+$/);
const ExceptionId = z.coerce.number().int().positive();
const RunId = z.string().regex(/^[\w-]{1,100}$/);

/** A reconciliation run in the background: queued by the API, watched through its job. */
export interface RunQueue {
  start(input: { payout?: string; days: number }): Promise<string>;
  status(id: string): Promise<{ id: string; state: string; progress: unknown; result: unknown; failed_reason: string | null } | null>;
}

/** Payouts, their items and exceptions (finance, admin, auditor); runs and resolutions (finance, admin); sandbox payouts. */
export function reconciliationApi(deps: { reconciliation: Reconciliation; runs: RunQueue; sandbox?: SandboxProvider; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);
  const allow = (p: Parameters<typeof can>[0], action: Parameters<typeof can>[1]) => {
    if (!can(p, action)) throw new ForbiddenError();
  };

  r.get('/reconciliation/payouts', auth, async (req, res) => {
    allow(req.principal, 'reconciliation.read');
    const q = parseOrThrow(PayoutListQuery, req.query, req.t);
    const { rows, total } = await deps.reconciliation.listPayouts(q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(rows);
  });

  r.get('/reconciliation/payouts/:id', auth, async (req, res) => {
    allow(req.principal, 'reconciliation.read');
    const id = parseOrThrow(PayoutId, req.params.id, req.t);
    const q = parseOrThrow(ItemListQuery, req.query, req.t);
    const payout = await deps.reconciliation.payout(id);
    const { rows, total } = await deps.reconciliation.items(id, q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json({ ...payout, items_page: rows });
  });

  r.get('/reconciliation/exceptions', auth, async (req, res) => {
    allow(req.principal, 'reconciliation.read');
    const q = parseOrThrow(ExceptionListQuery, req.query, req.t);
    const { rows, total } = await deps.reconciliation.listExceptions(q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(rows);
  });

  r.post('/reconciliation/exceptions/:id/resolve', auth, async (req, res) => {
    const id = parseOrThrow(ExceptionId, req.params.id, req.t);
    const input = parseOrThrow(ExceptionResolve, req.body ?? {}, req.t);
    const approval = await deps.reconciliation.requestResolution(req.principal!, id, input, req.t);
    await deps.audit.record(auditContext(req), { action: 'reconciliation.resolution_requested', subjectType: 'reconciliation_exception', subjectId: id, after: { approval_id: approval.id, ...input } });
    res.status(202).json({ approval_id: approval.id, status: 'pending_approval', exception_id: id });
  });

  /** Starts a run and answers at once (202); `GET /reconciliation/runs/:id` shows its progress and result. */
  r.post('/reconciliation/run', auth, async (req, res) => {
    allow(req.principal, 'reconciliation.run');
    const input = parseOrThrow(RunRequest, req.body ?? {}, req.t);
    const id = await deps.runs.start(input);
    await deps.audit.record(auditContext(req), { action: 'reconciliation.run_started', subjectType: 'reconciliation_run', subjectId: id, after: input });
    res.status(202).location(`/api/reconciliation/runs/${id}`).json({ run_id: id, status: 'queued' });
  });

  r.get('/reconciliation/runs/:id', auth, async (req, res) => {
    allow(req.principal, 'reconciliation.read');
    const run = await deps.runs.status(parseOrThrow(RunId, req.params.id, req.t));
    if (!run) throw new NotFoundError('run');
    res.json(run);
  });

  r.post('/sandbox/payouts', auth, async (req, res) => {
    allow(req.principal, 'reconciliation.run');
    if (!deps.sandbox) throw new ConflictError('sandbox_only', 'errors.sandbox_only');
    const { inject } = parseOrThrow(SandboxPayoutRequest, req.body ?? {}, req.t);
    const payout = await deps.sandbox.createPayout(inject);
    await deps.audit.record(auditContext(req), { action: 'sandbox.payout_created', subjectType: 'payout', subjectId: payout.id, after: payout });
    res.status(201).json({ ...payout, test_mode: true });
  });

  return r;
}
