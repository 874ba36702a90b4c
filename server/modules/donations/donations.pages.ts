import { randomUUID } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import { issuesToFields } from '../../http/validation.js';
import { AppError, NotFoundError } from '../../lib/errors.js';
import { parseMajor } from '../../lib/money.js';
import { isAccepting, presentCampaign, SLUG_PATTERN, type CampaignRow, type CampaignsService, type MatchStateOf } from '../campaigns/index.js';
import { displayName, presentDonationStatus } from './donations.presenter.js';
import { DonateForm, DonationId, IdempotencyKey, donationCreate } from './donations.schemas.js';
import type { DonationsService } from './donations.service.js';
import type { PaymentProvider } from './providers/payment-provider.js';

/** Preset amounts on the donate form, in fen. */
export const PRESET_AMOUNTS = [1000, 5000, 10000, 50000];

/** Form field for each schema path, so errors land beside the right input. */
const FIELD_OF: Record<string, string> = { amount: 'amount', currency: 'amount', 'donor.name': 'name', 'donor.email': 'email', 'donor.phone': 'phone', message: 'message' };

/** The resident's pages: donate form, Stripe checkout and the live thank-you page. */
export function donationPages(deps: {
  donations: DonationsService;
  campaigns: CampaignsService;
  provider: PaymentProvider;
  maxAmount: number;
  publishableKey?: string;
  matchState?: MatchStateOf;
  matchPreview?: (c: CampaignRow, amount: number) => Promise<{ match: number }>;
}): Router {
  const r = Router();
  const schema = donationCreate(deps.maxAmount);

  async function loadCampaign(req: Request) {
    if (!SLUG_PATTERN.test(req.params.slug as string)) throw new NotFoundError('campaign');
    const c = await deps.campaigns.getBySlug(req.params.slug as string);
    const totals = await deps.campaigns.totals.get([c.id]);
    return { row: c, json: presentCampaign(c, totals.get(c.id)!, req.lang), match: deps.matchState ? await deps.matchState(c) : null };
  }

  async function renderForm(res: Response, status: number, row: CampaignRow, locals: { campaign: unknown; match: unknown; accepting: boolean; values: Record<string, unknown>; errors: Record<string, string> }) {
    const typed = typeof locals.values.amount_yuan === 'string' && locals.values.amount_yuan.trim() ? parseMajor(locals.values.amount_yuan) : null;
    const amount = typed ?? (typeof locals.values.amount_preset === 'string' && /^\d{1,12}$/.test(locals.values.amount_preset) ? Number(locals.values.amount_preset) : null);
    const preview = amount && deps.matchPreview ? { amount, match: (await deps.matchPreview(row, amount)).match } : null;
    res.status(status).render('donations/new', { title: res.locals.t('donate.title'), presets: PRESET_AMOUNTS, maxAmount: deps.maxAmount, preview, ...locals });
  }

  r.get('/campaigns/:slug/donate', async (req, res) => {
    const c = await loadCampaign(req);
    await renderForm(res, 200, c.row, { campaign: c.json, match: c.match, accepting: isAccepting(c.row), values: { anonymous: 'on', amount_preset: '5000', idempotency_key: randomUUID() }, errors: {} });
  });

  r.post('/campaigns/:slug/donate', express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const c = await loadCampaign(req);
    const form = DonateForm.safeParse(req.body ?? {});
    const values = form.success ? form.data : {};
    const keyCheck = IdempotencyKey.safeParse(values.idempotency_key);
    const key = keyCheck.success ? keyCheck.data : randomUUID();
    const view = { campaign: c.json, match: c.match, accepting: isAccepting(c.row), values: { ...values, idempotency_key: key } };
    const errors: Record<string, string> = {};

    const typed = values.amount_yuan?.trim() ? values.amount_yuan : undefined;
    const amount = typed !== undefined ? parseMajor(typed) : values.amount_preset && /^\d{1,12}$/.test(values.amount_preset) ? Number(values.amount_preset) : null;
    if (amount === null) errors.amount = req.t('validation.amount_format');
    const candidate = {
      amount: amount ?? 0,
      currency: 'CNY',
      donor: {
        name: values.name?.trim() || undefined,
        email: values.email?.trim() || undefined,
        phone: values.phone?.trim() || undefined,
        anonymous: values.anonymous === 'on',
      },
      message: values.message?.trim() || undefined,
    };
    const parsed = schema.safeParse(candidate);
    if (!parsed.success) {
      for (const [path, message] of Object.entries(issuesToFields(parsed.error.issues, req.t))) errors[FIELD_OF[path] ?? 'form'] ??= message;
    }
    if (Object.keys(errors).length || !parsed.success) return renderForm(res, 422, c.row, { ...view, errors });

    try {
      const { donation } = await deps.donations.create(c.row.slug, parsed.data, key, { userId: req.principal?.role === 'resident' ? req.principal.userId : null });
      res.redirect(303, deps.provider.checkoutPath(donation.id));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500 && err.code !== 'payment_provider_unavailable') throw err;
      await renderForm(res, err.status, c.row, { ...view, errors: { form: req.t(err.message, err.params) } });
    }
  });

  r.get('/donations/:id/thanks', async (req, res) => {
    if (!DonationId.safeParse(req.params.id).success) throw new NotFoundError('donation');
    const d = await deps.donations.get(req.params.id);
    res.render('donations/thanks', { title: req.t('thanks.title'), donation: { ...presentDonationStatus(d), display_name: displayName(d, req.t), campaign: d.campaign_slug } });
  });

  r.get('/donations/:id/checkout', async (req, res) => {
    if (deps.provider.name !== 'stripe' || !DonationId.safeParse(req.params.id).success) throw new NotFoundError('donation');
    const d = await deps.donations.get(req.params.id);
    if (d.status !== 'pending' && d.status !== 'failed') return res.redirect(303, `/donations/${d.id}/thanks`);
    res.render('donations/checkout-stripe', { title: req.t('checkout.title'), donation: presentDonationStatus(d), clientSecret: d.client_secret, publishableKey: deps.publishableKey ?? '' });
  });

  return r;
}
