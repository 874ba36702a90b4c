import { Router, type Request, type Response } from 'express';
import { issuesToFields } from '../../http/validation.js';
import { AppError, ForbiddenError } from '../../lib/errors.js';
import type { Container } from '../../container.js';
import { PurchasingSchemas, SCORECARD } from '../purchasing/index.js';
import { audited, consoleStep, flashTo } from './console-helpers.js';
import { one, wholeNumber, yuan } from './form-values.js';
import { idOrZero } from '../../http/schemas.js';

const { ApplicationCreate, EvaluationInput, ReportCreate } = PurchasingSchemas;
const card = SCORECARD.map((k) => k.key);

/** `line | amount in yuan`, one budget line a line; `role | name`, one joint member a line. */
const budgetLines = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => {
  const [line, amount] = l.split('|').map((x) => x.trim());
  return { line, amount: yuan(amount) };
});
const memberLines = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => {
  const [role, name] = l.split('|').map((x) => x.trim());
  return { role, name };
});
/** `budget line | description | amount in yuan | voucher id`, one expense a line. */
const expenseLines = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => {
  const [budget_line, description, amount, attachment] = l.split('|').map((x) => x.trim());
  return { budget_line, description, amount: yuan(amount), attachment };
});

/**
 * A social organisation's console: the open calls and the application form (re-rendered with
 * field errors; a joint application's confirmation links shown once), its applications, and its
 * contracts: sign, upload vouchers, file the monthly report, give its self-assessment.
 */
export function orgConsole(c: Container): Router {
  const r = Router();
  const { calls, applications, contracts, reports, evaluations, attachments } = c.purchasing;
  const orgOf = (req: Request) => {
    if (req.principal!.role !== 'social_org' || !req.principal!.organisationId) throw new ForbiddenError();
    return req.principal!.organisationId;
  };

  async function home(req: Request, extra: Record<string, unknown> = {}) {
    const org = orgOf(req);
    const open = (await calls.list(req.principal, { status: 'open' }, 1, 100)).rows;
    const mine = await applications.ofOrganisation(org);
    const projects = await Promise.all((await contracts.idsOfOrganisation(org)).map(async (id) => ({
      ...(await contracts.get(id)), reports: await reports.ofContract(id), evaluations: await evaluations.ofContract(id), files: await attachments.ofOwner({ type: 'contract', id }),
    })));
    return { title: req.t('console.org'), open, mine, projects, card, values: {}, errors: {}, form: null, ...extra };
  }

  r.get('/console/org', async (req, res) => {
    res.render('console/org', await home(req));
  });

  async function applyView(req: Request, extra: Record<string, unknown> = {}) {
    const call = await calls.get(req.principal, idOrZero(req.params.id));
    return { title: call.title, call, values: { budget: '人员经费 | 6000\n活动物资 | 3000\n宣传与评估 | 1000' }, errors: {}, ...extra };
  }

  r.get('/console/calls/:id/apply', async (req, res) => {
    orgOf(req);
    res.render('console/apply', await applyView(req));
  });

  r.post('/console/calls/:id/apply', async (req, res) => {
    const org = orgOf(req);
    const b = req.body ?? {};
    const parsed = ApplicationCreate.safeParse({
      title: one(b.title), summary: one(b.summary), service_area: one(b.service_area), beneficiaries: one(b.beneficiaries), beneficiary_count: wholeNumber(b.beneficiary_count),
      activities: one(b.activities), outcomes: one(b.outcomes), budget_lines: budgetLines(String(one(b.budget) ?? '')), members: memberLines(String(one(b.members) ?? '')),
      no_violation_declared: one(b.no_violation_declared) === 'on',
    });
    if (!parsed.success) {
      const errors = Object.fromEntries(Object.entries(issuesToFields(parsed.error.issues, req.t)).map(([k, v]) => [k.startsWith('budget_lines') ? 'budget' : k.startsWith('members') ? 'members' : k, v]));
      return res.status(422).render('console/apply', await applyView(req, { values: b, errors }));
    }
    try {
      const out = await applications.submit(req.principal!, await calls.mustFind(idOrZero(req.params.id)), org, parsed.data);
      await audited(c, req, { action: 'application.submitted', subjectType: 'application', subjectId: out.application.id, after: out.application });
      const links = out.confirmation_links.map((l) => `${l.member}: ${c.config.publicUrl}/applications/${out.application.id}/confirm?token=${l.token}`).join('  ');
      flashTo(req, res, '/console/org', req.t('org.applied'), 'ok', links || undefined);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500 || err.status === 403) throw err;
      res.status(err.status === 400 ? 422 : err.status).render('console/apply', await applyView(req, { values: b, errors: { ...(err.fields ?? {}), _: req.t(err.message, err.params) } }));
    }
  });

  const step = (req: Request, res: Response, form: string, action: string, run: () => Promise<unknown>) => consoleStep(c, req, res, {
    action, subjectType: 'contract', subjectId: String(req.params.id), to: '/console/org',
    again: async (status, errors) => res.status(status).render('console/org', await home(req, { values: req.body ?? {}, errors, form: `${form}-${req.params.id}` })),
  }, run);
  const contractId = (req: Request) => idOrZero(req.params.id);

  r.post('/console/contracts/:id/sign', (req, res) => step(req, res, 'sign', 'contract.signed', () => contracts.sign(req.principal!, contractId(req))));

  /** A voucher upload: multipart (the CSRF token rides in the action URL). */
  r.post('/console/contracts/:id/attachments', (req, res) => step(req, res, 'upload', 'attachment.uploaded', async () => {
    const k = await contracts.get(contractId(req));
    if (orgOf(req) !== k.organisation_id) throw new ForbiddenError();
    return attachments.store(await attachments.readUpload(req, req.t), { type: 'contract', id: k.id }, req.principal!.userId, req.t);
  }));

  r.post('/console/contracts/:id/reports', (req, res) => step(req, res, 'report', 'report.submitted', async () => {
    const b = req.body ?? {};
    const parsed = ReportCreate.safeParse({ period: one(b.period), outputs: one(b.outputs), income: yuan(one(b.income_yuan)), expenses: expenseLines(String(one(b.expenses) ?? '')) });
    if (!parsed.success) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: Object.fromEntries(Object.entries(issuesToFields(parsed.error.issues, req.t)).map(([k, v]) => [k === 'income' ? 'income_yuan' : k.startsWith('expenses') ? 'expenses' : k, v])) });
    return reports.submit(req.principal!, contractId(req), parsed.data, req.t);
  }));

  r.post('/console/contracts/:id/self-evaluation/:stage', (req, res) => step(req, res, 'self', 'evaluation.input_given', async () => {
    const b = req.body ?? {};
    const parsed = EvaluationInput.safeParse({ party: 'self', scores: Object.fromEntries(card.map((k) => [k, wholeNumber(b[k])])), ...(one(b.comment) ? { comment: one(b.comment) } : {}) });
    if (!parsed.success) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: issuesToFields(parsed.error.issues, req.t) });
    return evaluations.give(req.principal!, contractId(req), req.params.stage === 'final' ? 'final' : 'midterm', parsed.data, req.t);
  }));

  return r;
}
