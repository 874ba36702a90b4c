import { Router } from 'express';
import { optionalToken, permit, requireToken } from '../../http/middleware/auth.js';
import { setPaginationHeaders } from '../../http/pagination.js';
import { parseOrThrow, pathId } from '../../http/validation.js';
import { ForbiddenError } from '../../lib/errors.js';
import { auditContext, type Audit } from '../audit/index.js';
import { can, type AuthService } from '../auth/index.js';
import type { Purchasing } from './index.js';
import { ApplicantOrganisation, ApplicationCreate, AwardRequest, CallCreate, CallListQuery, Declaration, MemberConfirm, ObjectionCreate, ObjectionReply, OrganisationRegister, OrganisationStanding, Scores } from './purchasing.schemas.js';

/**
 * Calls for proposals through to the award: calls (street officer), applications (social
 * organisations; joint members confirm), the expert review, the public notice with objections,
 * the award (four-eyes), and organisations' registration and standing.
 */
export function callsApi(deps: { purchasing: Purchasing; auth: AuthService; audit: Audit }): Router {
  const { calls, applications, reviews, notices, contracts, organisations } = deps.purchasing;
  const r = Router();
  const auth = requireToken(deps.auth);
  const audit = (req: Parameters<typeof auditContext>[0], action: string, subjectType: string, subjectId: unknown, after: unknown, before?: unknown) =>
    deps.audit.record(auditContext(req), { action, subjectType, subjectId: String(subjectId), before, after });

  r.get('/service-catalogue', async (_req, res) => {
    res.json(await deps.purchasing.calls.catalogue());
  });

  r.get('/calls', optionalToken(deps.auth), async (req, res) => {
    const q = parseOrThrow(CallListQuery, req.query, req.t);
    const { rows, total } = await calls.list(req.principal, q, q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(rows);
  });

  r.get('/calls/:id', optionalToken(deps.auth), async (req, res) => {
    const call = await calls.get(req.principal, pathId(req, 'id'));
    const staff = can(req.principal, 'call.read_draft', { streetId: call.street_id });
    const published = ['notice', 'awarded', 'closed'].includes(call.status);
    res.json({
      ...call,
      applications: staff ? await applications.ofCall(call.id) : undefined,
      ranking: published ? await reviews.ranking(call) : undefined,
      objections: published ? await notices.ofCall(call.id) : undefined,
    });
  });

  r.post('/calls', auth, permit('call.manage'), async (req, res) => {
    const call = await calls.create(req.principal!, parseOrThrow(CallCreate, req.body ?? {}, req.t), req.t);
    await audit(req, 'call.created', 'call', call.id, call);
    res.status(201).location(`/api/calls/${call.id}`).json(call);
  });

  r.post('/calls/:id/publish', auth, permit('call.manage'), async (req, res) => {
    const call = await calls.publish(req.principal!, pathId(req, 'id'));
    await audit(req, 'call.published', 'call', call.id, { status: call.status, funding: call.funding });
    res.json(call);
  });

  r.post('/calls/:id/applications', auth, permit('application.submit'), async (req, res) => {
    const call = await calls.mustFind(pathId(req, 'id'));
    const { organisation, ...body } = req.body ?? {};
    const input = parseOrThrow(ApplicationCreate, body, req.t);
    const orgId = req.principal!.organisationId ?? parseOrThrow(ApplicantOrganisation, { organisation }, req.t).organisation;
    const out = await applications.submit(req.principal!, call, orgId, input);
    await audit(req, 'application.submitted', 'application', out.application.id, out.application);
    res.status(201).json({ ...out.application, confirmation_links: out.confirmation_links.map((l) => ({ member: l.member, token: l.token, path: `/api/applications/${out.application.id}/confirm` })) });
  });

  r.post('/applications/:id/confirm', async (req, res) => {
    const id = pathId(req, 'id');
    const { token } = parseOrThrow(MemberConfirm, req.body ?? {}, req.t);
    res.json(await applications.confirm(id, token));
  });

  r.get('/calls/:id/applications', auth, permit('review.score', 'call.read_draft'), async (req, res) => {
    const call = await calls.mustFind(pathId(req, 'id'));
    const onPanel = (await reviews.panel(call.id)).some((m) => m.reviewer_id === req.principal!.userId && m.declared_at && !m.conflicted);
    if (!onPanel && !can(req.principal, 'call.read_draft', { streetId: call.street_id })) throw new ForbiddenError();
    res.json(await applications.ofCall(call.id));
  });

  r.post('/calls/:id/review', auth, permit('call.manage'), async (req, res) => {
    const out = await reviews.open(req.principal!, await calls.mustFind(pathId(req, 'id')));
    await audit(req, 'call.review_opened', 'call', req.params.id, { seed: out.seed, panel: out.panel.map((m) => m.reviewer_id) });
    res.json(out);
  });

  r.get('/calls/:id/panel', auth, permit('review.score', 'call.read_draft'), async (req, res) => {
    const call = await calls.mustFind(pathId(req, 'id'));
    const panel = await reviews.panel(call.id);
    if (!panel.some((m) => m.reviewer_id === req.principal!.userId) && !can(req.principal, 'call.read_draft', { streetId: call.street_id })) throw new ForbiddenError();
    res.json(panel.map((m) => ({ reviewer_id: m.reviewer_id, name: m.display_name, declared: Boolean(m.declared_at), conflicted: m.conflicted })));
  });

  r.post('/calls/:id/declaration', auth, permit('review.score'), async (req, res) => {
    const call = await calls.mustFind(pathId(req, 'id'));
    const out = await reviews.declare(req.principal!, call, parseOrThrow(Declaration, req.body ?? {}, req.t));
    await audit(req, 'review.declared', 'call', call.id, out);
    res.json(out);
  });

  r.post('/calls/:id/applications/:app/scores', auth, permit('review.score'), async (req, res) => {
    const call = await calls.mustFind(pathId(req, 'id'));
    const out = await reviews.score(req.principal!, call, pathId(req, 'app'), parseOrThrow(Scores, req.body ?? {}, req.t), req.t);
    await audit(req, 'review.scored', 'application', out.application_id, out);
    res.status(201).json(out);
  });

  r.get('/calls/:id/scores', auth, async (req, res) => {
    res.json(await reviews.scores(req.principal, await calls.mustFind(pathId(req, 'id'))));
  });

  r.post('/calls/:id/close-review', auth, permit('call.manage'), async (req, res) => {
    const out = await reviews.close(req.principal!, await calls.mustFind(pathId(req, 'id')));
    await audit(req, 'call.review_closed', 'call', out.call.id, { ranking: out.ranking, notice_ends_at: out.call.notice_ends_at });
    res.json(out);
  });

  r.post('/calls/:id/objections', async (req, res) => {
    const call = await calls.mustFind(pathId(req, 'id'));
    res.status(201).json(await notices.object(call, parseOrThrow(ObjectionCreate, req.body ?? {}, req.t)));
  });

  r.post('/objections/:id/reply', auth, permit('objection.reply'), async (req, res) => {
    const id = pathId(req, 'id');
    const { before, after } = await notices.reply(req.principal!, id, parseOrThrow(ObjectionReply, req.body ?? {}, req.t).reply);
    await audit(req, 'objection.replied', 'objection', after.id, after, before);
    res.json(after);
  });

  /** Asks for the award (202); a second person approves it under /api/approvals. */
  r.post('/calls/:id/award', auth, permit('contract.manage'), async (req, res) => {
    const call = await calls.mustFind(pathId(req, 'id'));
    const approval = await contracts.requestAward(req.principal!, call, parseOrThrow(AwardRequest, req.body ?? {}, req.t));
    await audit(req, 'call.award_requested', 'call', call.id, { approval_id: approval.id, ...approval.payload });
    res.status(202).json({ approval_id: approval.id, status: 'pending_approval', call_id: call.id });
  });

  r.post('/calls/:id/close', auth, permit('call.manage'), async (req, res) => {
    const call = await calls.close(req.principal!, pathId(req, 'id'));
    await audit(req, 'call.closed', 'call', call.id, { status: call.status });
    res.json(call);
  });

  r.post('/organisations/register', optionalToken(deps.auth), async (req, res) => {
    res.status(201).json(await organisations.register(parseOrThrow(OrganisationRegister, req.body ?? {}, req.t), req.principal?.userId ?? null));
  });

  r.post('/organisations/:id/verify', auth, permit('organisation.verify'), async (req, res) => {
    const row = await organisations.verify(req.principal!, pathId(req, 'id'));
    await audit(req, 'organisation.verified', 'organisation', row.id, row);
    res.json(row);
  });

  r.put('/organisations/:id/standing', auth, permit('organisation.verify'), async (req, res) => {
    const id = pathId(req, 'id');
    const { before, after } = await organisations.setStanding(req.principal!, id, parseOrThrow(OrganisationStanding, req.body ?? {}, req.t));
    await audit(req, 'organisation.standing_set', 'organisation', after.id, after, before);
    res.json(after);
  });

  return r;
}
