import { Router, type Request } from 'express';
import { idParam } from '../../http/schemas.js';
import { issuesToFields } from '../../http/validation.js';
import { pagerLinks } from '../../http/pagination.js';
import { AppError, NotFoundError } from '../../lib/errors.js';
import type { Pools } from '../funds/index.js';
import type { StreetRow } from '../geo/index.js';
import type { Purchasing } from './index.js';
import { CallListQuery, MemberConfirm, ObjectionCreate, OrganisationRegister } from './purchasing.schemas.js';

const Id = idParam();
const PUBLISHED = ['notice', 'awarded', 'closed'];

/**
 * The public side of purchasing (transparency): every published call with its shortlist,
 * objections and replies (and a form to object while the notice runs); each project's money
 * trail, from the street's pool and its sources to the tranches paid, with its reports, vouchers
 * and evaluations; a street's projects; the red and black list.
 */
export function purchasingPages(deps: { purchasing: Purchasing; pools: Pools; streets: () => Promise<StreetRow[]> }): Router {
  const { calls, applications, reviews, notices, contracts, reports, evaluations, organisations } = deps.purchasing;
  const r = Router();

  /** Every published call, newest first, by stage and street, 20 a page. */
  r.get('/calls', async (req, res) => {
    const q = CallListQuery.safeParse(req.query);
    const f = q.success ? q.data : { page: 1, per_page: 20 };
    const { rows, total } = await calls.list(undefined, { street: f.street, status: f.status }, f.page, 20);
    res.render('purchasing/calls', {
      title: req.t('calls.title'), calls: rows, filters: { status: f.status ?? '', street: f.street ?? '' }, streets: await deps.streets(), pager: pagerLinks(req, f.page, 20, total),
    });
  });

  async function callView(id: number, extra: Record<string, unknown> = {}) {
    const call = await calls.get(undefined, id);
    const published = PUBLISHED.includes(call.status);
    const awarded = await contracts.ofCall(call.id);
    return { call, ranking: published ? await reviews.ranking(call) : [], objections: published ? await notices.ofCall(call.id) : [], contracts: awarded, values: {}, errors: {}, ...extra };
  }

  r.get('/calls/:id', async (req, res) => {
    const id = Id.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('call');
    const v = await callView(id.data);
    res.render('purchasing/call', { title: v.call.title, ...v });
  });

  /** G-7: anyone may object while the notice runs; the form re-renders with its errors. */
  r.post('/calls/:id/objections', async (req, res) => {
    const id = Id.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('call');
    const b = req.body ?? {};
    const parsed = ObjectionCreate.safeParse({ author: b.author, body: b.body, ...(b.contact ? { contact: b.contact } : {}), ...(b.application ? { application: Number(b.application) } : {}) });
    const again = async (status: number, errors: Record<string, string>) => {
      const v = await callView(id.data, { values: b, errors });
      res.status(status).render('purchasing/call', { title: v.call.title, ...v });
    };
    if (!parsed.success) return again(422, issuesToFields(parsed.error.issues, req.t));
    try {
      await notices.object(await calls.mustFind(id.data), parsed.data);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return again(err.status === 404 ? 422 : err.status, { _: req.t(err.message, err.params) });
      throw err;
    }
    req.session.flash = [...(req.session.flash ?? []), { kind: 'ok', text: req.t('calls.objection_received') }];
    res.redirect(303, `/calls/${id.data}#objections`);
  });

  /** G-5: a joint member confirms its part in an application by the one-time link it was given. */
  async function confirmView(id: number, extra: Record<string, unknown> = {}) {
    const application = await applications.summary(id);
    return { title: application.title, application, token: '', errors: {}, done: null, ...extra };
  }

  r.get('/applications/:id/confirm', async (req, res) => {
    const id = Id.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('application');
    res.render('purchasing/confirm', await confirmView(id.data, { token: typeof req.query.token === 'string' ? req.query.token : '' }));
  });

  r.post('/applications/:id/confirm', async (req, res) => {
    const id = Id.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('application');
    const parsed = MemberConfirm.safeParse({ token: req.body?.token });
    if (!parsed.success) return res.status(422).render('purchasing/confirm', await confirmView(id.data, { errors: { _: req.t('errors.invalid_confirmation') } }));
    try {
      const done = await applications.confirm(id.data, parsed.data.token);
      res.render('purchasing/confirm', await confirmView(id.data, { done }));
    } catch (err) {
      if (err instanceof AppError && err.status < 500 && err.status !== 404) return res.status(422).render('purchasing/confirm', await confirmView(id.data, { errors: { _: req.t(err.message, err.params) } }));
      throw err;
    }
  });

  r.get('/projects/:id', async (req, res) => {
    const id = Id.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('contract');
    const contract = await contracts.get(id.data);
    res.render('purchasing/project', {
      title: contract.title, contract, reports: await reports.ofContract(contract.id), evaluations: await evaluations.ofContract(contract.id),
      pool: await deps.pools.get(contract.street_id), paid: contract.tranches.filter((t: { status: string }) => t.status === 'paid').reduce((s: number, t: { amount_minor: number }) => s + Number(t.amount_minor), 0),
    });
  });

  /** G-3: an organisation registers with its certificate; it may apply once staff have verified it. */
  const registerView = (req: Request, extra: Record<string, unknown> = {}) => ({ title: req.t('register.title'), values: {}, errors: {}, done: null, ...extra });
  r.get('/organisations/register', (req, res) => res.render('purchasing/register', registerView(req)));
  r.post('/organisations/register', async (req, res) => {
    const b = req.body ?? {};
    const parsed = OrganisationRegister.safeParse({
      name: b.name, registration_no: b.registration_no, registered_on: b.registered_on, certificate_expires_on: b.certificate_expires_on,
      ...(b.rating ? { rating: b.rating } : {}), ...(b.contact ? { contact: b.contact } : {}),
    });
    if (!parsed.success) return res.status(422).render('purchasing/register', registerView(req, { values: b, errors: issuesToFields(parsed.error.issues, req.t) }));
    try {
      const done = await organisations.register(parsed.data, req.principal?.userId ?? null);
      res.status(201).render('purchasing/register', registerView(req, { done }));
    } catch (err) {
      if (err instanceof AppError && err.status === 409) return res.status(422).render('purchasing/register', registerView(req, { values: b, errors: { name: req.t(err.message) } }));
      throw err;
    }
  });

  r.get('/credit-list', async (req, res) => {
    res.render('purchasing/credit-list', { title: req.t('credit.title'), entries: await evaluations.creditList() });
  });

  return r;
}
