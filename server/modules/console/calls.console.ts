import { Router, type Request, type Response } from 'express';
import { issuesToFields } from '../../http/validation.js';
import { AppError, ForbiddenError } from '../../lib/errors.js';
import { can } from '../auth/index.js';
import type { Container } from '../../container.js';
import { geoRepo } from '../geo/index.js';
import { PurchasingSchemas, SCORECARD } from '../purchasing/index.js';
import { audited, consoleStep, flashTo, pagerLinks } from './console-helpers.js';
import { cstLocal, one, wholeNumber, yuan } from './form-values.js';
import { idOrZero } from '../../http/schemas.js';

const { AwardRequest, CallCreate, CallListQuery, EvaluationInput, ObjectionReply } = PurchasingSchemas;

/** `key | name | weight`, one criterion a line. */
function criteriaLines(text: string) {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => {
    const [key, name, weight] = l.split('|').map((x) => x.trim());
    return { key, name, weight: Number(weight) };
  });
}

const DEFAULT_CRITERIA = 'need | 需求分析 | 30\ndesign | 服务设计 | 40\nbudget | 预算合理性 | 30';
const card = SCORECARD.map((k) => k.key);

/**
 * The street's calls in the console: draft one (the form re-renders with field errors), publish
 * it, open and close the review, answer objections, ask for the award, and run each contract:
 * ask for tranches, give the street's and the residents' evaluation inputs, close the call.
 */
export function callsConsole(c: Container): Router {
  const r = Router();
  const { calls, applications, reviews, notices, contracts, reports, evaluations } = c.purchasing;
  const street = (req: Request) => (req.principal!.role === 'street_officer' ? req.principal!.streetId : null);

  /** The street's calls (an officer's own; others by the street filter), by stage, 20 a page. */
  async function listView(req: Request, extra: Record<string, unknown> = {}) {
    const q = CallListQuery.safeParse(req.query);
    const f = q.success ? q.data : { page: 1, per_page: 20 };
    const { rows, total } = await calls.list(req.principal, { street: street(req) ?? f.street, status: f.status }, f.page, 20);
    return {
      title: req.t('console.calls'), calls: rows, filters: { status: f.status ?? '', street: f.street ?? '' }, pager: pagerLinks(req, f.page, 20, total),
      catalogue: await calls.catalogue(), streets: await geoRepo.listStreets(c.db), values: { criteria: DEFAULT_CRITERIA, max_applications_per_org: '2', panel_size: '3', notice_days: '7' }, errors: {}, ...extra,
    };
  }

  r.get('/console/calls', async (req, res) => {
    if (!can(req.principal, 'call.read_draft', { streetId: street(req) })) throw new ForbiddenError();
    res.render('console/calls', await listView(req));
  });

  r.post('/console/calls', async (req, res) => {
    const b = req.body ?? {};
    const parsed = CallCreate.safeParse({
      street: Number(street(req) ?? one(b.street)), title: one(b.title), description: one(b.description) ?? '', category: one(b.category), budget_line: one(b.budget_line),
      budget: yuan(one(b.budget_yuan)), opens_at: cstLocal(one(b.opens_at)) ?? 'x', closes_at: cstLocal(one(b.closes_at)) ?? 'x', criteria: criteriaLines(String(one(b.criteria) ?? '')),
      max_applications_per_org: wholeNumber(b.max_applications_per_org), panel_size: wholeNumber(b.panel_size), notice_days: wholeNumber(b.notice_days),
    });
    if (!parsed.success) {
      const errors = Object.fromEntries(Object.entries(issuesToFields(parsed.error.issues, req.t)).map(([k, v]) => [k === 'budget' ? 'budget_yuan' : k.startsWith('criteria') ? 'criteria' : k, v]));
      return res.status(422).render('console/calls', await listView(req, { values: b, errors }));
    }
    try {
      const call = await calls.create(req.principal!, parsed.data, req.t);
      await audited(c, req, { action: 'call.created', subjectType: 'call', subjectId: call.id, after: call });
      flashTo(req, res, `/console/calls/${call.id}`, req.t('console.saved'));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500 || err.status === 403) throw err;
      res.status(422).render('console/calls', await listView(req, { values: b, errors: err.fields ?? { _: req.t(err.message, err.params) } }));
    }
  });

  async function detail(req: Request, id: number, extra: Record<string, unknown> = {}) {
    const call = await calls.get(req.principal, id);
    if (!can(req.principal, 'call.read_draft', { streetId: call.street_id })) throw new ForbiddenError();
    const awarded = await contracts.ofCall(id);
    const projects = await Promise.all(awarded.map(async (k) => ({ ...(await contracts.get(k.id)), reports: await reports.ofContract(k.id), evaluations: await evaluations.ofContract(k.id) })));
    return {
      title: call.title, call, applications: await applications.ofCall(id), panel: await reviews.panel(id),
      ranking: call.review_closed_at ? await reviews.ranking(call) : [], objections: await notices.ofCall(id), projects, card, values: {}, errors: {}, ...extra,
    };
  }

  r.get('/console/calls/:id', async (req, res) => {
    res.render('console/call', await detail(req, idOrZero(req.params.id)));
  });

  /** Runs one step; a refusal comes back as a message on the call's page. */
  const step = (req: Request, res: Response, id: number, action: string, run: () => Promise<unknown>) => consoleStep(c, req, res, {
    action, subjectType: 'call', subjectId: id, to: `/console/calls/${id}`,
    again: async (status, errors) => res.status(status).render('console/call', await detail(req, id, { values: req.body ?? {}, errors })),
  }, run);

  const callId = (req: Request) => idOrZero(req.params.id);
  r.post('/console/calls/:id/publish', (req, res) => step(req, res, callId(req), 'call.published', () => calls.publish(req.principal!, callId(req))));
  r.post('/console/calls/:id/review', (req, res) => step(req, res, callId(req), 'call.review_opened', async () => reviews.open(req.principal!, await calls.mustFind(callId(req)))));
  r.post('/console/calls/:id/close-review', (req, res) => step(req, res, callId(req), 'call.review_closed', async () => reviews.close(req.principal!, await calls.mustFind(callId(req)))));
  r.post('/console/calls/:id/close', (req, res) => step(req, res, callId(req), 'call.closed', () => calls.close(req.principal!, callId(req))));
  r.post('/console/calls/:id/award', (req, res) => step(req, res, callId(req), 'call.award_requested', async () => {
    const b = req.body ?? {};
    const input = AwardRequest.safeParse({ starts_on: one(b.starts_on), ends_on: one(b.ends_on), tolerance_bp: one(b.tolerance_bp) ? wholeNumber(b.tolerance_bp) : 1000 });
    if (!input.success) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: issuesToFields(input.error.issues, req.t) });
    return contracts.requestAward(req.principal!, await calls.mustFind(callId(req)), input.data);
  }));

  r.post('/console/objections/:id/reply', async (req, res) => {
    const back = idOrZero(one(req.body?.call));
    await step(req, res, back, 'objection.replied', async () => {
      const parsed = ObjectionReply.safeParse({ reply: one(req.body?.reply) });
      if (!parsed.success) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: issuesToFields(parsed.error.issues, req.t) });
      return notices.reply(req.principal!, idOrZero(req.params.id), parsed.data.reply);
    });
  });

  r.post('/console/tranches/:id/pay', async (req, res) => {
    await step(req, res, idOrZero(one(req.body?.call)), 'tranche.payment_requested', () => contracts.requestTranche(req.principal!, idOrZero(req.params.id)));
  });

  r.post('/console/contracts/:id/evaluations/:stage', async (req, res) => {
    const b = req.body ?? {};
    await step(req, res, idOrZero(one(b.call)), 'evaluation.input_given', async () => {
      const parsed = EvaluationInput.safeParse({ party: one(b.party), scores: Object.fromEntries(card.map((k) => [k, wholeNumber(b[k])])), ...(one(b.comment) ? { comment: one(b.comment) } : {}) });
      if (!parsed.success) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: issuesToFields(parsed.error.issues, req.t) });
      const stage = req.params.stage === 'final' ? 'final' : 'midterm';
      return evaluations.give(req.principal!, idOrZero(req.params.id), stage, parsed.data, req.t);
    });
  });

  return r;
}
