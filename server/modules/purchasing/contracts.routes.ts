import { Router } from 'express';
import { z } from 'zod';
import { optionalToken, permit, requireToken } from '../../http/middleware/auth.js';
import { UUID_PATTERN } from '../../http/schemas.js';
import { parseOrThrow, pathId, pathName } from '../../http/validation.js';
import { ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { auditContext, type Audit } from '../audit/index.js';
import { can, type AuthService } from '../auth/index.js';
import type { Purchasing } from './index.js';
import { EvaluationInput, ReportCreate } from './purchasing.schemas.js';

const Stage = z.object({ stage: z.enum(['midterm', 'final']) });

/**
 * Contracts after the award: the public money trail, signing, tranche payments (four-eyes),
 * vouchers and other attachments, monthly reports, evaluations, and the red/black list.
 */
export function contractsApi(deps: { purchasing: Purchasing; auth: AuthService; audit: Audit }): Router {
  const { contracts, reports, evaluations, attachments } = deps.purchasing;
  const r = Router();
  const auth = requireToken(deps.auth);
  const audit = (req: Parameters<typeof auditContext>[0], action: string, subjectType: string, subjectId: unknown, after: unknown) =>
    deps.audit.record(auditContext(req), { action, subjectType, subjectId: String(subjectId), after });

  /** Public: a project's contract, tranches, reports and evaluations. */
  r.get('/contracts/:id', optionalToken(deps.auth), async (req, res) => {
    const cid = pathId(req, 'id');
    res.json({ ...(await contracts.get(cid)), reports: await reports.ofContract(cid), evaluations: await evaluations.ofContract(cid) });
  });

  r.post('/contracts/:id/sign', auth, permit('project.report', 'contract.manage'), async (req, res) => {
    const row = await contracts.sign(req.principal!, pathId(req, 'id'));
    await audit(req, 'contract.signed', 'contract', row.id, row);
    res.json(row);
  });

  /** Asks for a tranche to be paid (202): its gate is checked now and again when a second person approves. */
  r.post('/tranches/:id/pay', auth, permit('contract.manage'), async (req, res) => {
    const id = pathId(req, 'id');
    const approval = await contracts.requestTranche(req.principal!, id);
    await audit(req, 'tranche.payment_requested', 'tranche', id, { approval_id: approval.id });
    res.status(202).json({ approval_id: approval.id, status: 'pending_approval' });
  });

  /** A voucher or other file for a contract: multipart, one `file` field; PDF, PNG or JPEG up to 5 MB. */
  r.post('/contracts/:id/attachments', auth, permit('project.report', 'contract.manage'), async (req, res) => {
    const c = await contracts.get(pathId(req, 'id'));
    if (!can(req.principal, 'project.report', { organisationId: c.organisation_id }) && !can(req.principal, 'contract.manage', { streetId: c.street_id })) throw new ForbiddenError();
    const row = await attachments.store(await attachments.readUpload(req, req.t), { type: 'contract', id: c.id }, req.principal!.userId, req.t);
    await audit(req, 'attachment.uploaded', 'attachment', row.id, row);
    res.status(201).json(row);
  });

  /** Files of a contract are public once a report names them (the money trail); staff see all. */
  r.get('/attachments/:id', optionalToken(deps.auth), async (req, res) => {
    const row = await attachments.find(pathName(req, 'id', UUID_PATTERN, 'attachment'));
    const reported = row.owner_type === 'contract' && (await reports.voucherIsReported(row.id));
    if (!reported && !can(req.principal, 'ledger.read') && !(row.owner_type === 'contract' && (await contracts.mayRead(req.principal, Number(row.owner_id))))) throw new NotFoundError('attachment');
    res.set('Content-Type', row.content_type).set('X-Content-Type-Options', 'nosniff')
      .set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(row.filename)}`).set('Cache-Control', 'private, max-age=3600')
      .send(await attachments.read(row));
  });

  r.post('/contracts/:id/reports', auth, permit('project.report'), async (req, res) => {
    const out = await reports.submit(req.principal!, pathId(req, 'id'), parseOrThrow(ReportCreate, req.body ?? {}, req.t), req.t);
    await audit(req, 'report.submitted', 'project_report', out.report.id, out);
    res.status(201).json(out);
  });

  r.post('/contracts/:id/evaluations/:stage', auth, permit('contract.manage', 'project.report', 'review.score'), async (req, res) => {
    const cid = pathId(req, 'id');
    const { stage } = parseOrThrow(Stage, { stage: req.params.stage }, req.t);
    const out = await evaluations.give(req.principal!, cid, stage, parseOrThrow(EvaluationInput, req.body ?? {}, req.t), req.t);
    await audit(req, 'evaluation.input_given', 'contract', cid, out);
    res.status(201).json(out);
  });

  r.get('/credit-list', async (_req, res) => {
    res.json(await evaluations.creditList());
  });

  return r;
}
