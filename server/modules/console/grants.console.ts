import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { issuesToFields } from '../../http/validation.js';
import { AppError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { can } from '../auth/index.js';
import type { Container } from '../../container.js';
import { cstDate, dryRun, GrantCreate, presentGrant, Rules, type GrantRow } from '../matching/index.js';
import { allow, audited, flashTo, pagerLinks } from './console-helpers.js';
import { cstLocal, one, optionalId, toCstLocal, yuan } from './form-values.js';

const DEFAULT_RULES = JSON.stringify(Rules.parse({}), null, 2);

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return Symbol('invalid');
  }
}

/** The console's grants: list, create with the rule editor, usage (live), activation (four-eyes), top-up, rules, close, dry run. */
export function grantsConsole(c: Container): Router {
  const r = Router();
  const own = (req: Request, g: GrantRow) => can(req.principal, 'grant.read_draft', { sponsorId: g.sponsor_id });

  async function formLocals(req: Request) {
    return { streets: await c.db('streets').orderBy('id'), defaultRules: DEFAULT_RULES };
  }

  r.get('/console/grants', async (req, res) => {
    const page = Math.max(1, Number(req.query.page) || 1);
    const status = ['draft', 'active', 'closed'].includes(String(req.query.status)) ? String(req.query.status) : undefined;
    if (!can(req.principal, 'grant.read_usage') && req.principal!.role !== 'sponsor') throw new ForbiddenError();
    const sponsorOnly = req.principal!.role === 'sponsor' ? req.principal!.sponsorId : null;
    const { rows, total } = await c.grants.list(status, page, 20, sponsorOnly);
    const visible = rows.filter((g) => own(req, g));
    const grants = await Promise.all(visible.map(async (g) => presentGrant(g, await c.grants.figures(g), await c.grants.scopeOf(g.id))));
    res.render('console/grants', { title: req.t('console.grants'), grants, filters: { status: status ?? '' }, pager: pagerLinks(req, page, 20, total) });
  });

  r.get('/console/grants/new', async (req, res) => {
    allow(req, 'grant.manage');
    res.render('console/grant-form', { title: req.t('console.grant_new'), ...(await formLocals(req)), values: { rules: DEFAULT_RULES, sponsor_kind: 'enterprise', scope: 'all' }, errors: {} });
  });

  r.post('/console/grants', async (req, res) => {
    allow(req, 'grant.manage');
    const b = req.body ?? {};
    const scope = one(b.scope) === 'streets' ? { streets: [b.streets ?? []].flat().map(Number).filter(Boolean) }
      : one(b.scope) === 'campaigns' ? { campaigns: String(one(b.campaigns) ?? '').split(/[\s,，]+/).filter(Boolean) } : { all: true };
    const rules = parseJson(one(b.rules));
    const parsed = GrantCreate.safeParse({
      sponsor: { name: one(b.sponsor_name), kind: one(b.sponsor_kind) }, name: one(b.name) || undefined, budget: yuan(one(b.budget_yuan)), currency: 'CNY', scope,
      starts_at: cstLocal(one(b.starts_at)) ?? 'missing', ends_at: cstLocal(one(b.ends_at)) ?? 'missing', priority: Number(one(b.priority) || 0), rules,
    });
    if (!parsed.success || typeof rules === 'symbol') {
      const errors = parsed.success ? {} : issuesToFields(parsed.error.issues, req.t);
      if (typeof rules === 'symbol') errors.rules = req.t('validation.json');
      const named = Object.fromEntries(Object.entries(errors).map(([k, v]) => [k.startsWith('rules') ? 'rules' : k === 'budget' ? 'budget_yuan' : k.startsWith('sponsor') ? 'sponsor_name' : k.startsWith('scope') ? 'scope' : k, v]));
      return res.status(422).render('console/grant-form', { title: req.t('console.grant_new'), ...(await formLocals(req)), values: b, errors: named });
    }
    const g = await c.grants.create(parsed.data, req.t, req.principal!.userId);
    await audited(c, req, { action: 'grant.created', subjectType: 'grant', subjectId: g.id, after: g });
    flashTo(req, res, `/console/grants/${g.id}`, req.t('console.saved'));
  });

  async function load(req: Request): Promise<GrantRow> {
    const id = optionalId(String(req.params.id));
    const g = id ? await c.grants.get(id).catch(() => undefined) : undefined;
    if (!g || !own(req, g)) throw new NotFoundError('grant');
    return g;
  }

  async function show(req: Request, g: GrantRow, extra: Record<string, unknown> = {}) {
    const approval = await c.approvals.pendingFor('grant_activation', 'grant', g.id);
    return {
      title: g.name, grant: presentGrant(g, await c.grants.figures(g), await c.grants.scopeOf(g.id)), approval,
      rulesJson: JSON.stringify(g.rules, null, 2), dryDay: cstDate(new Date(Date.now() - 86_400_000)), values: {}, errors: {},
      window: { starts: toCstLocal(g.starts_at), ends: toCstLocal(g.ends_at) }, ...extra,
    };
  }

  r.get('/console/grants/:id', async (req, res) => res.render('console/grant', await show(req, await load(req))));

  /** Activation is four-eyes: the first admin asks, a second admin approves (which activates). */
  r.post('/console/grants/:id/activate', async (req, res) => {
    allow(req, 'grant.manage');
    const g = await load(req);
    const pending = await c.approvals.pendingFor('grant_activation', 'grant', g.id);
    if (!pending) {
      const a = await c.approvals.request(req.principal!, 'grant_activation', 'grant', g.id, {});
      await audited(c, req, { action: 'grant.activation_requested', subjectType: 'grant', subjectId: g.id, after: { approval_id: a.id } });
      return flashTo(req, res, `/console/grants/${g.id}`, req.t('console.approval_requested'));
    }
    const a = await c.approvals.decide(req.principal!, pending.id, 'approve');
    const after = await c.grants.get(g.id);
    await audited(c, req, { action: after.status === 'active' ? 'grant.activated' : 'grant.activation_failed', subjectType: 'grant', subjectId: g.id, before: { status: g.status }, after: { status: after.status, approval_id: a.id, approval_status: a.status } });
    flashTo(req, res, `/console/grants/${g.id}`, req.t('console.saved'));
  });

  r.post('/console/grants/:id/top-up', async (req, res) => {
    allow(req, 'grant.manage');
    const g = await load(req);
    const amount = yuan(one(req.body?.amount_yuan));
    if (!Number.isSafeInteger(amount) || amount < 100) return flashTo(req, res, `/console/grants/${g.id}`, req.t('validation.amount_format'), 'error');
    const after = await c.grants.topUp(g.id, amount, one(req.body?.key) || randomUUID());
    await audited(c, req, { action: 'grant.topped_up', subjectType: 'grant', subjectId: g.id, before: { budget: g.budget_minor }, after: { budget: after.budget_minor } });
    flashTo(req, res, `/console/grants/${g.id}`, req.t('console.saved'));
  });

  r.post('/console/grants/:id/rules', async (req, res) => {
    allow(req, 'grant.manage');
    const g = await load(req);
    const parsed = Rules.safeParse(parseJson(one(req.body?.rules)));
    if (!parsed.success) return res.status(422).render('console/grant', await show(req, g, { rulesJson: one(req.body?.rules), errors: { rules: Object.entries(issuesToFields(parsed.error.issues, req.t)).map(([k, v]) => `${k}: ${v}`).join(' ') } }));
    const after = await c.grants.updateRules(g.id, parsed.data);
    await audited(c, req, { action: 'grant.rules_changed', subjectType: 'grant', subjectId: g.id, before: { version: g.rule_version, rules: g.rules }, after: { version: after.rule_version, rules: after.rules } });
    flashTo(req, res, `/console/grants/${g.id}`, req.t('console.saved'));
  });

  r.post('/console/grants/:id/close', async (req, res) => {
    allow(req, 'grant.manage');
    const g = await load(req);
    const after = await c.grants.close(g.id);
    await audited(c, req, { action: 'grant.closed', subjectType: 'grant', subjectId: g.id, before: { status: g.status }, after: { status: after.status } });
    flashTo(req, res, `/console/grants/${g.id}`, req.t('console.saved'));
  });

  /** What these rules (stored or edited) would have matched on a past day; writes nothing. */
  r.post('/console/grants/:id/dry-run', async (req, res) => {
    const g = await load(req);
    allow(req, 'grant.read_usage', { sponsorId: g.sponsor_id });
    const day = /^\d{4}-\d{2}-\d{2}$/.test(one(req.body?.day) ?? '') ? one(req.body?.day)! : cstDate(new Date());
    const text = one(req.body?.rules);
    const parsed = text ? Rules.safeParse(parseJson(text)) : Rules.safeParse(g.rules);
    if (!parsed.success) throw new AppError(422, 'validation_failed', 'errors.validation', { fields: issuesToFields(parsed.error.issues, req.t) });
    const scope = await c.grants.scopeOf(g.id);
    const campaignIds = scope.campaigns.length ? ((await c.db('campaigns').whereIn('slug', scope.campaigns).pluck('id')) as number[]) : [];
    const result = await dryRun(c.db, { rules: parsed.data, budget: g.budget_minor, day, scope: { all: g.scope_all, campaignIds, streetIds: scope.streets } });
    res.render('console/grant', await show(req, g, { dry: result, dryDay: day, rulesJson: text ?? JSON.stringify(g.rules, null, 2) }));
  });

  return r;
}
