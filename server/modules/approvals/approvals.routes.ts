import { Router } from 'express';
import { z } from 'zod';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { pagination, plainText } from '../../http/schemas.js';
import { setPaginationHeaders } from '../../http/pagination.js';
import { parseOrThrow, pathId } from '../../http/validation.js';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import { APPROVAL_KINDS, type Approvals } from './approvals.js';

export const ApprovalListQuery = z.object({ status: z.enum(['pending', 'approved', 'rejected', 'failed']).optional(), kind: z.enum(APPROVAL_KINDS).optional(), ...pagination });
export const ApprovalDecision = z.object({ note: plainText(500).optional() });

/** Four-eyes approvals: list, approve (which carries the request out) and reject. */
export function approvalsApi(deps: { approvals: Approvals; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);

  r.get('/approvals', auth, permit('approval.read'), async (req, res) => {
    const q = parseOrThrow(ApprovalListQuery, req.query, req.t);
    const { rows, total } = await deps.approvals.list(q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(rows);
  });

  for (const decision of ['approve', 'reject'] as const) {
    r.post(`/approvals/:id/${decision}`, auth, permit('approval.decide'), async (req, res) => {
      const id = pathId(req, 'id');
      const { note } = parseOrThrow(ApprovalDecision, req.body ?? {}, req.t);
      const a = await deps.approvals.decide(req.principal!, id, decision, note);
      await deps.audit.record(auditContext(req), { action: decision === 'approve' ? 'approval.approved' : 'approval.rejected', subjectType: 'approval', subjectId: id, after: { kind: a.kind, subject: `${a.subject_type}:${a.subject_id}`, status: a.status, result: a.result } });
      res.json(a);
    });
  }

  return r;
}
