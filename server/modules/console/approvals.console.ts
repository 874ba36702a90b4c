import { Router } from 'express';
import { AppError } from '../../lib/errors.js';
import type { Container } from '../../container.js';
import { allow, audited, flashTo, pagerLinks } from './console-helpers.js';
import { one } from './form-values.js';
import { idOrZero, PG_BIGINT_ID_MAX } from '../../http/schemas.js';

/** Pending four-eyes approvals, and the risk queue of held matches. */
export function approvalsConsole(c: Container): Router {
  const r = Router();

  r.get('/console/approvals', async (req, res) => {
    allow(req, 'approval.read');
    const page = Math.max(1, Number(req.query.page) || 1);
    const status = ['pending', 'approved', 'rejected', 'failed'].includes(String(req.query.status)) ? String(req.query.status) : 'pending';
    const { rows, total } = await c.approvals.list({ status }, page, 20);
    res.render('console/approvals', { title: req.t('console.approvals'), approvals: rows, filters: { status }, pager: pagerLinks(req, page, 20, total) });
  });

  r.post('/console/approvals/:id/:decision', async (req, res) => {
    const decision = req.params.decision === 'approve' ? 'approve' : req.params.decision === 'reject' ? 'reject' : null;
    const id = idOrZero(req.params.id);
    if (!decision || !id) throw new AppError(404, 'not_found', 'errors.not_found');
    try {
      const a = await c.approvals.decide(req.principal!, id, decision, one(req.body?.note));
      await audited(c, req, { action: decision === 'approve' ? 'approval.approved' : 'approval.rejected', subjectType: 'approval', subjectId: id, after: { kind: a.kind, status: a.status, result: a.result } });
      flashTo(req, res, '/console/approvals', req.t(a.status === 'failed' ? 'console.approval_failed' : 'console.saved'), a.status === 'failed' ? 'error' : 'ok');
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      flashTo(req, res, '/console/approvals', req.t(err.message, err.params), 'error');
    }
  });

  r.get('/console/risk', async (req, res) => {
    allow(req, 'risk.read');
    const page = Math.max(1, Number(req.query.page) || 1);
    res.render('console/risk', { title: req.t('console.risk'), holds: await c.matching.holds(page, 50), pager: pagerLinks(req, page, 50, await c.matching.holdsCount()) });
  });

  r.post('/console/risk/:id/:decision', async (req, res) => {
    allow(req, 'risk.decide');
    const decision = req.params.decision === 'confirm' ? 'confirm' : req.params.decision === 'release' ? 'release' : null;
    const id = idOrZero(req.params.id, PG_BIGINT_ID_MAX);
    if (!decision || !id) throw new AppError(404, 'not_found', 'errors.not_found');
    const result = await c.matching.decideHold(id, decision, one(req.body?.note));
    await audited(c, req, { action: decision === 'confirm' ? 'risk.hold_confirmed' : 'risk.hold_released', subjectType: 'match_allocation', subjectId: id, after: result });
    flashTo(req, res, '/console/risk', req.t('console.saved'));
  });

  return r;
}
