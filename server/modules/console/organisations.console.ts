import { Router, type Request, type Response } from 'express';
import { issuesToFields } from '../../http/validation.js';
import { AppError, ForbiddenError } from '../../lib/errors.js';
import { can } from '../auth/index.js';
import type { Container } from '../../container.js';
import { PurchasingSchemas } from '../purchasing/index.js';
import { consoleStep } from './console-helpers.js';
import { one } from './form-values.js';
import { idOrZero } from '../../http/schemas.js';

const { OrganisationStanding } = PurchasingSchemas;
const FILTERS = ['unverified', 'verified', 'all'] as const;

/**
 * Applicant organisations for association staff (G-3): the registered ones, unverified first,
 * with their certificate and credit standing; verify one against the registry, or record the
 * standing civil affairs publishes (abnormal operation, serious violation, annual report).
 */
export function organisationsConsole(c: Container): Router {
  const r = Router();
  const { organisations } = c.purchasing;

  async function view(req: Request, extra: Record<string, unknown> = {}) {
    if (!can(req.principal, 'call.read_draft')) throw new ForbiddenError();
    const show = FILTERS.find((f) => f === req.query.show) ?? 'unverified';
    const all = await organisations.list();
    const rows = all.filter((o) => show === 'all' || (show === 'verified') === Boolean(o.verified_at));
    return { title: req.t('console.organisations'), rows, show, filters: FILTERS, values: {}, errors: {}, form: null, ...extra };
  }

  r.get('/console/organisations', async (req, res) => {
    res.render('console/organisations', await view(req));
  });

  const step = (req: Request, res: Response, action: string, run: () => Promise<unknown>) => consoleStep(c, req, res, {
    action, subjectType: 'organisation', subjectId: String(req.params.id), to: '/console/organisations?show=all',
    again: async (status, errors) => res.status(status).render('console/organisations', await view(req, { values: req.body ?? {}, errors, form: `standing-${req.params.id}` })),
  }, run);
  const id = (req: Request) => idOrZero(req.params.id);

  r.post('/console/organisations/:id/verify', (req, res) => step(req, res, 'organisation.verified', () => organisations.verify(req.principal!, id(req))));

  r.post('/console/organisations/:id/standing', (req, res) => step(req, res, 'organisation.standing_set', async () => {
    const b = req.body ?? {};
    const parsed = OrganisationStanding.safeParse({ credit_status: one(b.credit_status), annual_report_ok: one(b.annual_report_ok) === 'on', rating: one(b.rating) || null });
    if (!parsed.success) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: issuesToFields(parsed.error.issues, req.t) });
    return organisations.setStanding(req.principal!, id(req), parsed.data);
  }));

  return r;
}
