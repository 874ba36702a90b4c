import { Router, type Request } from 'express';
import { sendCsv } from '../../http/csv.js';
import { issuesToFields } from '../../http/validation.js';
import { AppError, NotFoundError } from '../../lib/errors.js';
import type { Container } from '../../container.js';
import { CampaignCreate, CampaignListQuery, CampaignUpdate, presentCampaign, transitionAction, type CampaignRow } from '../campaigns/index.js';
import { LinkedParty } from '../matching/index.js';
import { allow, audited, csvHref, flashTo, pagerLinks } from './console-helpers.js';
import { cstLocal, one, optionalId, toCstLocal, yuan } from './form-values.js';

const FIELD: Record<string, string> = { goal: 'goal_yuan', street: 'street_id', fund: 'street_id', organisation: 'organisation_id' };
const fieldsOf = (fields: Record<string, string>) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [FIELD[k] ?? k, v]));

/** The console's campaigns: list, CSV, create, edit, workflow (draft → review → live → closed), linked parties. */
export function campaignsConsole(c: Container): Router {
  const r = Router();

  async function choices(req: Request) {
    const streets = req.principal!.role === 'street_officer' ? await c.db('streets').where({ id: req.principal!.streetId }) : await c.db('streets').orderBy('id');
    return { streets, organisations: await c.db('organisations').whereNull('sanctioned_at').orderBy('name') };
  }

  async function list(req: Request, query: unknown = req.query) {
    const parsed = CampaignListQuery.safeParse(query);
    const q = parsed.success ? parsed.data : CampaignListQuery.parse({});
    const streetId = req.principal!.role === 'street_officer' ? req.principal!.streetId : null;
    if (!streetId) allow(req, 'campaign.read_draft');
    return { q, ...(await c.campaigns.list(q, { includeDraft: true, streetId })) };
  }

  r.get('/console/campaigns', async (req, res) => {
    const { q, rows, total } = await list(req);
    const totals = await c.campaigns.totals.get(rows.map((x) => x.id));
    res.render('console/campaigns', {
      title: req.t('console.campaigns'), filters: { status: q.status ?? '', q: q.q ?? '', street: q.street ?? '' }, streets: (await choices(req)).streets,
      campaigns: rows.map((x) => presentCampaign(x, totals.get(x.id)!, req.lang)), pager: pagerLinks(req, q.page, q.per_page, total), csv: csvHref(req),
    });
  });

  r.get('/console/campaigns.csv', async (req, res) => {
    const { rows } = await list(req, { ...req.query, per_page: '100' });
    const totals = await c.campaigns.totals.get(rows.map((x) => x.id));
    sendCsv(res, 'campaigns.csv', ['slug', 'title', 'street', 'status', 'goal', 'raised', 'matched', 'donors', 'starts_at', 'ends_at'].map((key) => ({ key, label: key })),
      rows.map((x) => ({ ...presentCampaign(x, totals.get(x.id)!, req.lang), street: x.street_name })));
  });

  r.get('/console/campaigns/new', async (req, res) => {
    allow(req, 'campaign.create', { streetId: req.principal!.streetId ?? undefined });
    res.render('console/campaign-form', { title: req.t('console.campaign_new'), ...(await choices(req)), values: {}, errors: {} });
  });

  r.post('/console/campaigns', async (req, res) => {
    const b = req.body ?? {};
    const candidate = {
      slug: one(b.slug), title: one(b.title), story: one(b.story) ?? '', goal: yuan(one(b.goal_yuan)), currency: 'CNY',
      street: optionalId(one(b.street_id)) ?? req.principal!.streetId ?? undefined, organisation: optionalId(one(b.organisation_id)),
      starts_at: cstLocal(one(b.starts_at)), ends_at: cstLocal(one(b.ends_at)) ?? 'missing', status: 'draft',
    };
    const parsed = CampaignCreate.safeParse(candidate);
    const again = async (status: number, errors: Record<string, string>) =>
      res.status(status).render('console/campaign-form', { title: req.t('console.campaign_new'), ...(await choices(req)), values: b, errors });
    if (!parsed.success) return again(422, fieldsOf(issuesToFields(parsed.error.issues, req.t)));
    try {
      const created = await c.campaigns.create(req.principal!, parsed.data, req.t);
      await audited(c, req, { action: 'campaign.created', subjectType: 'campaign', subjectId: created.slug, after: created });
      flashTo(req, res, `/console/campaigns/${created.slug}`, req.t('console.saved'));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      await again(err.status === 403 ? 403 : 422, err.fields ? fieldsOf(err.fields) : { form: req.t(err.message, err.params) });
    }
  });

  async function load(req: Request): Promise<CampaignRow> {
    const row = await c.campaigns.getBySlug(String(req.params.slug), { includeDraft: true }).catch(() => undefined);
    if (!row) throw new NotFoundError('campaign');
    allow(req, 'campaign.read_draft', { streetId: row.street_id });
    return row;
  }

  r.get('/console/campaigns/:slug', async (req, res) => {
    const row = await load(req);
    const totals = (await c.campaigns.totals.get([row.id])).get(row.id)!;
    res.render('console/campaign', {
      title: row.title, campaign: presentCampaign(row, totals, req.lang), totalsAsOf: totals.as_of, row, match: await c.matching.state(row),
      values: { title: row.title, story: row.story, goal_yuan: (row.goal_minor / 100).toFixed(2), starts_at: toCstLocal(row.starts_at), ends_at: toCstLocal(row.ends_at) }, errors: {},
    });
  });

  r.post('/console/campaigns/:slug', async (req, res) => {
    const row = await load(req);
    const b = req.body ?? {};
    const parsed = CampaignUpdate.safeParse({ title: one(b.title), story: one(b.story), goal: yuan(one(b.goal_yuan)), starts_at: cstLocal(one(b.starts_at)), ends_at: cstLocal(one(b.ends_at)) });
    if (!parsed.success) {
      const totals = (await c.campaigns.totals.get([row.id])).get(row.id)!;
      return res.status(422).render('console/campaign', { title: row.title, campaign: presentCampaign(row, totals, req.lang), totalsAsOf: totals.as_of, row, match: await c.matching.state(row), values: b, errors: fieldsOf(issuesToFields(parsed.error.issues, req.t)) });
    }
    const { before, after } = await c.campaigns.update(req.principal!, row.slug, parsed.data);
    await audited(c, req, { action: 'campaign.updated', subjectType: 'campaign', subjectId: row.slug, before, after });
    flashTo(req, res, `/console/campaigns/${row.slug}`, req.t('console.saved'));
  });

  r.post('/console/campaigns/:slug/transition', async (req, res) => {
    const row = await load(req);
    const to = one(req.body?.to);
    if (to !== 'review' && to !== 'live' && to !== 'closed' && to !== 'draft') throw new AppError(400, 'validation_failed', 'errors.validation');
    const { before, after } = await c.campaigns.transition(req.principal!, row.slug, to);
    await audited(c, req, { action: transitionAction(to), subjectType: 'campaign', subjectId: row.slug, before: { status: before.status }, after: { status: after.status } });
    flashTo(req, res, `/console/campaigns/${row.slug}`, req.t('console.saved'));
  });

  r.post('/console/campaigns/:slug/linked-parties', async (req, res) => {
    const row = await load(req);
    allow(req, 'campaign.link_party', { streetId: row.street_id });
    const parsed = LinkedParty.safeParse({ role: one(req.body?.role), email: one(req.body?.email) || undefined, phone: one(req.body?.phone) || undefined });
    if (!parsed.success) return flashTo(req, res, `/console/campaigns/${row.slug}`, Object.values(issuesToFields(parsed.error.issues, req.t)).join(' '), 'error');
    const n = await c.matching.linkParty(row.id, parsed.data.role, parsed.data);
    await audited(c, req, { action: 'campaign.party_linked', subjectType: 'campaign', subjectId: row.slug, after: { role: parsed.data.role, identities: n } });
    flashTo(req, res, `/console/campaigns/${row.slug}`, req.t('console.saved'));
  });

  return r;
}
