import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { UUID_PATTERN } from '../../http/schemas.js';
import { outageOf } from '../../http/outage.js';
import { ConflictError, ForbiddenError, NotFoundError, PaymentError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { can, type Principal } from '../auth/index.js';
import { isAccepting, type CampaignRow, type CampaignsService } from '../campaigns/index.js';
import { createDonationBatches, type ReserveMatch } from './donation-batches.js';
import { donationsRepo, type DonationRow } from './donations.repo.js';
import type { DonationCreateInput } from './donations.schemas.js';
import type { PaymentProvider } from './providers/payment-provider.js';

/** A stable hash of what was asked, so one idempotency key cannot mean two different donations. */
function fingerprint(slug: string, input: DonationCreateInput): string {
  const canonical = JSON.stringify([slug, input.amount, input.currency, input.donor.name ?? null, input.donor.email ?? null, input.donor.phone ?? null, input.donor.anonymous ?? true, input.message ?? null, input.team ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Donation use cases: create (idempotent, reserving its match), read, and ask the processor for a refund. */
export function createDonationsService(deps: { db: Knex; campaigns: CampaignsService; provider: PaymentProvider; log: Logger; matching?: ReserveMatch; batch?: { max: number; inFlight: number } }) {
  const { db, provider, log } = deps;
  const batches = createDonationBatches({ db, matching: deps.matching, log, maxBatch: deps.batch?.max ?? 64, maxInFlight: deps.batch?.inFlight ?? 2 });

  /** Creates the processor payment once; a retry (same key) resumes here if the first call failed. */
  async function ensurePayment(d: DonationRow): Promise<DonationRow> {
    if (d.payment_ref) return d;
    try {
      const p = await provider.createPayment({ donationId: d.id, amountMinor: d.amount_minor, currency: d.currency, description: `Shanhui donation ${d.id}` });
      await donationsRepo.setPayment(db, d.id, { payment_ref: p.paymentRef, client_secret: p.clientSecret });
    } catch (err) {
      if (outageOf(err)) throw err; // our own database or Redis, not the processor: 503
      log.error({ err, donationId: d.id, category: 'payments' }, 'payment creation failed');
      throw new PaymentError('errors.payment_unavailable', err);
    }
    return (await donationsRepo.findById(db, d.id))!;
  }

  return {
    /**
     * Creates a pending donation and its processor payment. The same idempotency key returns
     * the same donation (`replayed`); the same key with a different request is a conflict.
     */
    async create(slug: string, input: DonationCreateInput, idempotencyKey?: string, opts: { userId?: number | null } = {}): Promise<{ donation: DonationRow; replayed: boolean }> {
      const key = idempotencyKey ?? randomUUID();
      const print = fingerprint(slug, input);
      let donation = await donationsRepo.findByIdempotencyKey(db, key);
      let replayed = Boolean(donation);
      if (!donation) {
        const campaign = await deps.campaigns.getBySlug(slug);
        if (campaign.fund_agreement_id === null) throw new ConflictError('fund_without_agreement', 'errors.fund_without_agreement');
        if (!isAccepting(campaign)) throw new ConflictError('campaign_not_accepting', 'errors.campaign_not_accepting');
        const at = new Date();
        const prepared = deps.matching ? await deps.matching.prepare(campaign, at) : [];
        const written = await batches.submit({
          campaign, at, prepared,
          row: {
            id: randomUUID(), campaign_id: campaign.id, amount_minor: input.amount, currency: input.currency,
            donor_name: input.donor.name || null, donor_email: input.donor.email ?? null, donor_phone: input.donor.phone ?? null,
            anonymous: input.donor.anonymous ?? true, message: input.message || null, team: input.team ?? null,
            idempotency_key: key, request_fingerprint: print, provider: provider.name, created_at: at, user_id: opts.userId ?? null,
          },
        });
        replayed = !written.created;
        donation = (await donationsRepo.findByIdempotencyKey(db, key))!;
      }
      if (donation.request_fingerprint !== print) throw new ConflictError('idempotency_key_reused', 'errors.idempotency_key_reused');
      return { donation: await ensurePayment(donation), replayed };
    },

    /** A donation by id; a string that is not a uuid names none (and is never sent to PostgreSQL). */
    async get(id: string): Promise<DonationRow> {
      const d = UUID_PATTERN.test(id) ? await donationsRepo.findById(db, id) : undefined;
      if (!d) throw new NotFoundError('donation');
      return d;
    },

    /**
     * Checks a refund may be asked for (by whom, on what, how much; all that is left by default)
     * and returns the amount. Refunds are carried out only after a second person approves.
     */
    async planRefund(principal: Principal | undefined, id: string, amount: number | undefined): Promise<{ donation: DonationRow; amount: number }> {
      if (!can(principal, 'donation.refund')) throw new ForbiddenError();
      const d = await this.get(id);
      if (!d.payment_ref || !['succeeded', 'partially_refunded'].includes(d.status)) throw new ConflictError('not_refundable', 'errors.not_refundable');
      const remaining = d.amount_minor - d.refunded_minor - d.disputed_minor;
      const value = amount ?? remaining;
      if (value > remaining || value <= 0) throw new ConflictError('refund_exceeds_payment', 'errors.refund_exceeds_payment');
      return { donation: d, amount: value };
    },

    /** Asks the processor to refund; the ledger moves when its event arrives. */
    async executeRefund(d: DonationRow, amount: number, idempotencyKey: string) {
      const r = await provider.refund({ paymentRef: d.payment_ref!, amountMinor: amount, idempotencyKey });
      return { donation_id: d.id, refund_id: r.refundId, amount, currency: d.currency, status: 'requested' as const };
    },

    /** A signed-in resident's own donations, newest first. */
    ofUser(userId: number, limit = 200) {
      return donationsRepo.ofUser(db, userId, limit);
    },

    /** The latest paid donations of a campaign. */
    recentPaid(campaignId: number, limit = 10): Promise<DonationRow[]> {
      return donationsRepo.recentPaid(db, campaignId, limit);
    },
  };
}

export type DonationsService = ReturnType<typeof createDonationsService>;
