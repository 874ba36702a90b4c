import { Router } from 'express';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { setPaginationHeaders } from '../../http/pagination.js';
import { parseOrThrow, pathId, pathName } from '../../http/validation.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import type { SandboxProvider } from '../donations/index.js';
import type { Reconciliation } from './reconciliation.service.js';
import { ExceptionListQuery, ExceptionResolve, ItemListQuery, PayoutListQuery, RunRequest, SandboxPayoutRequest } from './reconciliation.schemas.js';

const PAYOUT_ID = /^po_\w{1,100}$/;
const RUN_ID = /^[\w-]{1,100}$/;

/** A reconciliation run in the background: queued by the API, watched through its job. */
export interface RunQueue {
  start(input: { payout?: string; days: number }): Promise<string>;
  status(id: string): Promise<{ id: string; state: string; progress: unknown; result: unknown; failed_reason: string | null } | null>;
}

/** Payouts, their items and exceptions (finance, admin, auditor); runs and resolutions (finance, admin); sandbox payouts. */
export function reconciliationApi(deps: { reconciliation: Reconciliation; runs: RunQueue; sandbox?: SandboxProvider; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);

  r.get('/reconciliation/payouts', auth, permit('reconciliation.read'), async (req, res) => {
    const q = parseOrThrow(PayoutListQuery, req.query, req.t);
    const { rows, total } = await deps.reconciliation.listPayouts(q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(rows);
  });

  r.get('/reconciliation/payouts/:id', auth, permit('reconciliation.read'), async (req, res) => {
    const id = pathName(req, 'id', PAYOUT_ID, 'payout');
    const q = parseOrThrow(ItemListQuery, req.query, req.t);
    const payout = await deps.reconciliation.payout(id);
    const { rows, total } = await deps.reconciliation.items(id, q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json({ ...payout, items_page: rows });
  });

  r.get('/reconciliation/exceptions', auth, permit('reconciliation.read'), async (req, res) => {
    const q = parseOrThrow(ExceptionListQuery, req.query, req.t);
    const { rows, total } = await deps.reconciliation.listExceptions(q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(rows);
  });

  r.post('/reconciliation/exceptions/:id/resolve', auth, permit('reconciliation.resolve'), async (req, res) => {
    const id = pathId(req, 'id');
    const input = parseOrThrow(ExceptionResolve, req.body ?? {}, req.t);
    const approval = await deps.reconciliation.requestResolution(req.principal!, id, input, req.t);
    await deps.audit.record(auditContext(req), { action: 'reconciliation.resolution_requested', subjectType: 'reconciliation_exception', subjectId: id, after: { approval_id: approval.id, ...input } });
    res.status(202).json({ approval_id: approval.id, status: 'pending_approval', exception_id: id });
  });

  /** Starts a run and answers at once (202); `GET /reconciliation/runs/:id` shows its progress and result. */
  r.post('/reconciliation/run', auth, permit('reconciliation.run'), async (req, res) => {
    const input = parseOrThrow(RunRequest, req.body ?? {}, req.t);
    const id = await deps.runs.start(input);
    await deps.audit.record(auditContext(req), { action: 'reconciliation.run_started', subjectType: 'reconciliation_run', subjectId: id, after: input });
    res.status(202).location(`/api/reconciliation/runs/${id}`).json({ run_id: id, status: 'queued' });
  });

  r.get('/reconciliation/runs/:id', auth, permit('reconciliation.read'), async (req, res) => {
    const run = await deps.runs.status(pathName(req, 'id', RUN_ID, 'run'));
    if (!run) throw new NotFoundError('run');
    res.json(run);
  });

  r.post('/sandbox/payouts', auth, permit('reconciliation.run'), async (req, res) => {
    if (!deps.sandbox) throw new ConflictError('sandbox_only', 'errors.sandbox_only');
    const { inject } = parseOrThrow(SandboxPayoutRequest, req.body ?? {}, req.t);
    const payout = await deps.sandbox.createPayout(inject);
    await deps.audit.record(auditContext(req), { action: 'sandbox.payout_created', subjectType: 'payout', subjectId: payout.id, after: payout });
    res.status(201).json({ ...payout, test_mode: true });
  });

  return r;
}
