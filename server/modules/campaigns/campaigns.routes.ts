import { Router, type RequestHandler } from 'express';
import { optionalToken, permit, requireToken } from '../../http/middleware/auth.js';
import { pager, setPaginationHeaders } from '../../http/pagination.js';
import { parseOrThrow, pathName } from '../../http/validation.js';
import { can, type AuthService } from '../auth/index.js';
import { isAccepting, presentCampaign } from './campaigns.presenter.js';
import { CampaignCreate, CampaignListQuery, CampaignTransition, CampaignUpdate, SLUG } from './campaigns.schemas.js';
import { auditContext, type Audit } from '../audit/index.js';
import { transitionAction, type CampaignsService } from './campaigns.service.js';
import type { CampaignRow } from './campaigns.repo.js';

/** One line of a campaign's public donation list, supplied by the donations module. */
export interface PublicDonation { display_name: string; amount: number; message: string | null; at: string }
export type RecentDonations = (campaignId: number, t: (k: string) => string) => Promise<PublicDonation[]>;
/** The campaign's matching state (active, next slot, used up), supplied by the matching module. */
export type MatchStateOf = (c: CampaignRow) => Promise<{ state: string; remaining: number; ratio_percent: number | null; next_slot_at: string | null }>;

/** `GET /api/campaigns`, `GET /api/campaigns/:slug`, `POST /api/campaigns` (DESIGN §9). */
export function campaignsApi(deps: { campaigns: CampaignsService; auth: AuthService; audit: Audit; matchState?: MatchStateOf }): Router {
  const { campaigns } = deps;
  const r = Router();

  r.get('/campaigns', optionalToken(deps.auth), async (req, res) => {
    const q = parseOrThrow(CampaignListQuery, req.query, req.t);
    const { rows, total } = await campaigns.list(q, { includeDraft: can(req.principal, 'campaign.read_draft') });
    const totals = await campaigns.totals.get(rows.map((c) => c.id));
    setPaginationHeaders(req, res, { page: q.page, perPage: q.per_page, total });
    res.json(rows.map((c) => presentCampaign(c, totals.get(c.id)!, req.lang)));
  });

  r.get('/campaigns/:slug', optionalToken(deps.auth), async (req, res) => {
    const slug = pathName(req, 'slug', SLUG, 'campaign');
    const peek = await campaigns.getBySlug(slug, { includeDraft: true });
    const c = peek.status === 'live' || peek.status === 'closed' || can(req.principal, 'campaign.read_draft', { streetId: peek.street_id }) ? peek : await campaigns.getBySlug(slug);
    const totals = await campaigns.totals.get([c.id]);
    res.json({ ...presentCampaign(c, totals.get(c.id)!, req.lang), ...(deps.matchState ? { match: await deps.matchState(c) } : {}) });
  });

  r.post('/campaigns', requireToken(deps.auth), permit('campaign.create'), async (req, res) => {
    const input = parseOrThrow(CampaignCreate, req.body, req.t);
    const c = await campaigns.create(req.principal!, input, req.t);
    const totals = await campaigns.totals.refresh(c.id);
    const body = presentCampaign(c, totals, req.lang);
    await deps.audit.record(auditContext(req), { action: 'campaign.created', subjectType: 'campaign', subjectId: c.slug, after: body });
    res.status(201).location(`/api/campaigns/${c.slug}`).json(body);
  });

  r.patch('/campaigns/:slug', requireToken(deps.auth), permit('campaign.edit'), async (req, res) => {
    const slug = pathName(req, 'slug', SLUG, 'campaign');
    const patch = parseOrThrow(CampaignUpdate, req.body ?? {}, req.t);
    const { before, after } = await campaigns.update(req.principal!, slug, patch);
    await deps.audit.record(auditContext(req), { action: 'campaign.updated', subjectType: 'campaign', subjectId: after.slug, before, after });
    res.json(presentCampaign(after, (await campaigns.totals.get([after.id])).get(after.id)!, req.lang));
  });

  /** The workflow: draft → review → live → closed. */
  r.post('/campaigns/:slug/transition', requireToken(deps.auth), permit('campaign.submit', 'campaign.publish', 'campaign.close'), async (req, res) => {
    const slug = pathName(req, 'slug', SLUG, 'campaign');
    const { to } = parseOrThrow(CampaignTransition, req.body ?? {}, req.t);
    const { before, after } = await campaigns.transition(req.principal!, slug, to);
    await deps.audit.record(auditContext(req), { action: transitionAction(to), subjectType: 'campaign', subjectId: after.slug, before: { status: before.status }, after: { status: after.status } });
    res.json(presentCampaign(after, (await campaigns.totals.get([after.id])).get(after.id)!, req.lang));
  });

  return r;
}

/** The public campaign list and campaign page. */
export function campaignsPages(deps: { campaigns: CampaignsService; recentDonations: RecentDonations; matchState?: MatchStateOf }): Router {
  const { campaigns } = deps;
  const r = Router();

  const list: RequestHandler = async (req, res) => {
    const parsed = CampaignListQuery.safeParse(req.query);
    const q = parsed.success ? parsed.data : CampaignListQuery.parse({});
    const { rows, total } = await campaigns.list(q);
    const totals = await campaigns.totals.get(rows.map((c) => c.id));
    res.render('campaigns/index', {
      title: req.t('campaigns.title'),
      campaigns: rows.map((c) => presentCampaign(c, totals.get(c.id)!, req.lang)),
      filters: { status: q.status ?? '', q: q.q ?? '' },
      pager: pager({ page: q.page, perPage: q.per_page, total }),
    });
  };
  r.get('/', list);
  r.get('/campaigns', list);

  r.get('/campaigns/:slug', async (req, res) => {
    const c = await campaigns.getBySlug(pathName(req, 'slug', SLUG, 'campaign'));
    const totals = (await campaigns.totals.get([c.id])).get(c.id)!;
    res.render('campaigns/show', {
      title: c.title,
      campaign: presentCampaign(c, totals, req.lang),
      totalsAsOf: totals.as_of,
      accepting: isAccepting(c),
      recent: await deps.recentDonations(c.id, req.t),
      match: deps.matchState ? await deps.matchState(c) : null,
    });
  });

  return r;
}
