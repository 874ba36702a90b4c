import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Approvals } from '../approvals/index.js';
import { auditContext, type Audit } from '../audit/index.js';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { SLUG_PATTERN, UUID_PATTERN as UUID } from '../../http/schemas.js';
import { parseOrThrow, pathName } from '../../http/validation.js';
import type { Translate } from '../../lib/i18n.js';
import type { AuthService } from '../auth/index.js';
import { presentDonation } from './donations.presenter.js';
import type { DonationRow } from './donations.repo.js';
import { IdempotencyKey, RefundCreate, donationCreate } from './donations.schemas.js';
import type { DonationsService } from './donations.service.js';
import type { PaymentProvider } from './providers/payment-provider.js';

/** The create response: the donation plus what the client needs to pay. */
export function presentCreated(d: DonationRow, provider: PaymentProvider, publicUrl: string, t: Translate) {
  const path = provider.checkoutPath(d.id);
  return {
    ...presentDonation(d, t),
    payment: {
      provider: d.provider,
      test_mode: provider.testMode,
      payment_intent: d.payment_ref,
      client_secret: d.client_secret,
      checkout_path: path,
      checkout_url: `${publicUrl}${path}`,
    },
  };
}

/** Donation API (DESIGN §9). */
export function donationsApi(deps: { donations: DonationsService; provider: PaymentProvider; auth: AuthService; approvals: Approvals; audit: Audit; maxAmount: number; publicUrl: string }): Router {
  const r = Router();
  const createSchema = donationCreate(deps.maxAmount);

  r.post('/campaigns/:slug/donations', async (req, res) => {
    const header = req.get('Idempotency-Key');
    const key = header === undefined ? undefined : parseOrThrow(IdempotencyKey, header, req.t);
    const slug = pathName(req, 'slug', SLUG_PATTERN, 'campaign');
    const input = parseOrThrow(createSchema, req.body ?? {}, req.t);
    const { donation, replayed } = await deps.donations.create(slug, input, key);
    res.status(201).set('Idempotent-Replayed', String(replayed)).json(presentCreated(donation, deps.provider, deps.publicUrl, req.t));
  });

  r.get('/donations/:id', async (req, res) => {
    res.json(presentDonation(await deps.donations.get(pathName(req, 'id', UUID, 'donation')), req.t));
  });

  /** Asks for a refund; a second finance or admin user approves it (four-eyes) before it is carried out. */
  r.post('/donations/:id/refunds', requireToken(deps.auth), permit('donation.refund'), async (req, res) => {
    const id = pathName(req, 'id', UUID, 'donation');
    const { amount } = parseOrThrow(RefundCreate, req.body ?? {}, req.t);
    const header = req.get('Idempotency-Key');
    const key = header === undefined ? randomUUID() : parseOrThrow(IdempotencyKey, header, req.t);
    const plan = await deps.donations.planRefund(req.principal, id, amount);
    const approval = await deps.approvals.request(req.principal!, 'refund', 'donation', plan.donation.id, { amount: plan.amount, idempotency_key: key });
    await deps.audit.record(auditContext(req), { action: 'refund.requested', subjectType: 'donation', subjectId: plan.donation.id, after: { amount: plan.amount, approval_id: approval.id } });
    res.status(202).json({ donation_id: plan.donation.id, approval_id: approval.id, amount: plan.amount, currency: plan.donation.currency, status: 'pending_approval' });
  });

  return r;
}
