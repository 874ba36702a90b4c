import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { optionalToken, permit, requireToken } from '../../http/middleware/auth.js';
import { setPaginationHeaders } from '../../http/pagination.js';
import { IdempotencyKey, SLUG_PATTERN } from '../../http/schemas.js';
import { parseOrThrow, pathId, pathName } from '../../http/validation.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import type { Approvals } from '../approvals/index.js';
import { auditContext, type Audit } from '../audit/index.js';
import { can, type Action, type AuthService } from '../auth/index.js';
import type { CampaignsService } from '../campaigns/index.js';
import type { GrantRow } from './grants.repo.js';
import type { GrantsService } from './grants.service.js';
import { GrantCreate, GrantListQuery, LinkedParty, MatchPreviewQuery, RulesUpdate, TopUp } from './matching.schemas.js';
import { presentGrant } from './matching.presenter.js';
import type { MatchingService } from './matching.service.js';

function allow(req: Request, action: Action, subject = {}) {
  if (!can(req.principal, action, subject)) throw new ForbiddenError();
}

/** Grants API, match previews and campaign linked parties. */
export function grantsApi(deps: { grants: GrantsService; matching: MatchingService; campaigns: CampaignsService; auth: AuthService; approvals: Approvals; audit: Audit }): Router {
  const { grants } = deps;
  const r = Router();
  const auth = requireToken(deps.auth);

  const present = async (g: GrantRow) => presentGrant(g, await grants.figures(g), await grants.scopeOf(g.id));
  const load = async (req: Request) => {
    const g = await grants.get(pathId(req, 'id'));
    if (g.status === 'draft' && !can(req.principal, 'grant.read_draft', { sponsorId: g.sponsor_id })) throw new NotFoundError('grant');
    return g;
  };

  r.post('/grants', auth, permit('grant.manage'), async (req, res) => {
    const g = await grants.create(parseOrThrow(GrantCreate, req.body, req.t), req.t, req.principal!.userId);
    const body = await present(g);
    await deps.audit.record(auditContext(req), { action: 'grant.created', subjectType: 'grant', subjectId: g.id, after: body });
    res.status(201).location(`/api/grants/${g.id}`).json(body);
  });

  r.get('/grants', optionalToken(deps.auth), async (req, res) => {
    const q = parseOrThrow(GrantListQuery, req.query, req.t);
    const staff = can(req.principal, 'grant.read_draft');
    const { rows, total } = await grants.list(q.status ?? (staff ? undefined : 'active'), q.page, q.per_page);
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(await Promise.all(rows.filter((g) => staff || g.status !== 'draft').map(present)));
  });

  r.get('/grants/:id', optionalToken(deps.auth), async (req, res) => {
    res.json(await present(await load(req)));
  });

  /**
   * Four-eyes activation: the first admin's call asks for it (202); a second admin's call approves
   * it, which activates the grant (200). The same admin cannot do both.
   */
  r.post('/grants/:id/activate', auth, permit('grant.manage'), async (req, res) => {
    const g = await load(req);
    if (g.status !== 'draft') throw new ConflictError('grant_not_draft', 'errors.grant_not_draft');
    const pending = await deps.approvals.pendingFor('grant_activation', 'grant', g.id);
    if (!pending) {
      const approval = await deps.approvals.request(req.principal!, 'grant_activation', 'grant', g.id, {});
      await deps.audit.record(auditContext(req), { action: 'grant.activation_requested', subjectType: 'grant', subjectId: g.id, after: { approval_id: approval.id } });
      return res.status(202).json({ id: g.id, status: g.status, approval_id: approval.id, approval: 'pending_approval' });
    }
    if (pending.requested_by === req.principal!.userId) throw new ConflictError('approval_pending', 'errors.approval_pending');
    const decided = await deps.approvals.decide(req.principal!, pending.id, 'approve');
    const after = await grants.get(g.id);
    await deps.audit.record(auditContext(req), { action: 'grant.activated', subjectType: 'grant', subjectId: g.id, before: { status: g.status }, after: { status: after.status, approval_id: decided.id } });
    res.json(await present(after));
  });

  r.post('/grants/:id/top-up', auth, permit('grant.manage'), async (req, res) => {
    const { amount } = parseOrThrow(TopUp, req.body ?? {}, req.t);
    const header = req.get('Idempotency-Key');
    const key = header === undefined ? randomUUID() : parseOrThrow(IdempotencyKey, header, req.t);
    const before = await load(req);
    const after = await grants.topUp(before.id, amount, key);
    await deps.audit.record(auditContext(req), { action: 'grant.topped_up', subjectType: 'grant', subjectId: before.id, before: { budget: before.budget_minor }, after: { budget: after.budget_minor, key } });
    res.json(await present(after));
  });

  r.put('/grants/:id/rules', auth, permit('grant.manage'), async (req, res) => {
    const { rules } = parseOrThrow(RulesUpdate, req.body ?? {}, req.t);
    const before = await load(req);
    const after = await grants.updateRules(before.id, rules);
    await deps.audit.record(auditContext(req), { action: 'grant.rules_changed', subjectType: 'grant', subjectId: before.id, before: { version: before.rule_version, rules: before.rules }, after: { version: after.rule_version, rules: after.rules } });
    res.json(await present(after));
  });

  r.post('/grants/:id/close', auth, permit('grant.manage'), async (req, res) => {
    const before = await load(req);
    const after = await present(await grants.close(before.id));
    await deps.audit.record(auditContext(req), { action: 'grant.closed', subjectType: 'grant', subjectId: before.id, before: { status: before.status }, after });
    res.json(after);
  });

  r.get('/campaigns/:slug/match-preview', async (req, res) => {
    const slug = pathName(req, 'slug', SLUG_PATTERN, 'campaign');
    const { amount } = parseOrThrow(MatchPreviewQuery, req.query, req.t);
    const c = await deps.campaigns.getBySlug(slug);
    res.json(await deps.matching.preview(c, amount));
  });

  r.post('/campaigns/:slug/linked-parties', auth, permit('campaign.link_party'), async (req, res) => {
    const c = await deps.campaigns.getBySlug(pathName(req, 'slug', SLUG_PATTERN, 'campaign'), { includeDraft: true });
    allow(req, 'campaign.link_party', { streetId: c.street_id });
    const party = parseOrThrow(LinkedParty, req.body ?? {}, req.t);
    const identities = await deps.matching.linkParty(c.id, party.role, party);
    await deps.audit.record(auditContext(req), { action: 'campaign.party_linked', subjectType: 'campaign', subjectId: c.slug, after: { role: party.role, identities } });
    res.status(201).json({ campaign: c.slug, role: party.role, identities });
  });

  return r;
}
