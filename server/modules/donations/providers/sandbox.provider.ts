import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError, NotFoundError } from '../../../lib/errors.js';
import { scale } from '../../../lib/money.js';
import type { PaymentProvider } from './payment-provider.js';
import { createSandboxPayouts, type Injection } from './sandbox-payouts.js';
import { chargeObject, paymentIntentObject, signPayload, stripeEvent, stripeId, type PaymentShape } from './stripe-events.js';

/** Sandbox processing fee: 0.6 % (the usual WeChat Pay / Alipay merchant rate), rounded half up. */
export const SANDBOX_FEE_BASIS_POINTS = 60;
export const sandboxFee = (amountMinor: number): number => scale(amountMinor, SANDBOX_FEE_BASIS_POINTS, 10_000);

/** Hands a signed event to the webhook intake, exactly as an HTTP delivery would. */
export type Deliver = (rawBody: string, signature: string) => Promise<unknown>;

interface SandboxRow {
  payment_ref: string; donation_id: string; charge_id: string; amount_minor: number; currency: string;
  status: 'requires_payment_method' | 'succeeded'; fee_minor: number | null; fingerprint: string | null;
  refunds: { id: string; amount: number; status: string; created: number; key: string }[];
}

const shape = (r: SandboxRow): PaymentShape => ({ paymentRef: r.payment_ref, chargeId: r.charge_id, donationId: r.donation_id, amountMinor: r.amount_minor, currency: r.currency });

/**
 * The offline payment provider, used when no Stripe key is set. It keeps its own payment
 * records, and on command succeeds, fails or refunds them by emitting Stripe-format signed
 * events into the same webhook intake a real delivery uses. No real money ever moves.
 */
export function createSandboxProvider(deps: { db: Knex; webhookSecret: string; deliver: () => Deliver; feeBasisPoints?: number }) {
  const { db } = deps;
  const feeBp = deps.feeBasisPoints ?? SANDBOX_FEE_BASIS_POINTS;
  const fee = (amountMinor: number) => scale(amountMinor, feeBp, 10_000);

  async function send(type: string, object: Record<string, unknown>) {
    const payload = JSON.stringify(stripeEvent(type, object));
    await deps.deliver()(payload, signPayload(payload, deps.webhookSecret));
  }
  const payouts = createSandboxPayouts({ db, feeBasisPoints: feeBp, send });

  async function byDonation(donationId: string): Promise<SandboxRow> {
    const row = await db('sandbox_payments').where({ donation_id: donationId }).first();
    if (!row) throw new NotFoundError('payment');
    return row;
  }

  const provider = {
    name: 'sandbox' as const,
    testMode: true,

    async createPayment(input) {
      await db('sandbox_payments')
        .insert({ payment_ref: stripeId('pi_sandbox'), charge_id: stripeId('ch_sandbox'), donation_id: input.donationId, amount_minor: input.amountMinor, currency: input.currency })
        .onConflict('donation_id')
        .ignore();
      const row = await byDonation(input.donationId);
      return { paymentRef: row.payment_ref, clientSecret: `${row.payment_ref}_secret_sandbox` };
    },

    async refund({ paymentRef, amountMinor, idempotencyKey }) {
      const { row, refund, isNew } = await db.transaction(async (trx) => {
        const r: SandboxRow | undefined = await trx('sandbox_payments').where({ payment_ref: paymentRef }).forUpdate().first();
        if (!r) throw new NotFoundError('payment');
        const existing = r.refunds.find((x) => x.key === idempotencyKey);
        if (existing) return { row: r, refund: existing, isNew: false };
        const refunded = r.refunds.reduce((s, x) => s + x.amount, 0);
        if (r.status !== 'succeeded' || amountMinor > r.amount_minor - refunded) throw new ConflictError('refund_exceeds_payment', 'errors.refund_exceeds_payment');
        const fresh = { id: stripeId('re_sandbox'), amount: amountMinor, status: 'succeeded', created: Math.floor(Date.now() / 1000), key: idempotencyKey };
        r.refunds = [...r.refunds, fresh];
        await trx('sandbox_payments').where({ payment_ref: paymentRef }).update({ refunds: JSON.stringify(r.refunds), updated_at: trx.fn.now() });
        return { row: r, refund: fresh, isNew: true };
      });
      if (isNew) await send('charge.refunded', chargeObject(shape(row), row.refunds));
      return { refundId: refund.id };
    },

    async listRefunds(chargeId) {
      const row: SandboxRow | undefined = await db('sandbox_payments').where({ charge_id: chargeId }).first();
      return (row?.refunds ?? []).map(({ id, amount, status }) => ({ id, amount, status }));
    },

    /** The sandbox charges its flat rate on every payment it settled (asked only once a donation is paid). */
    async fetchFee(paymentRef) {
      const row: SandboxRow | undefined = await db('sandbox_payments').where({ payment_ref: paymentRef }).first();
      return row ? (row.fee_minor ?? fee(row.amount_minor)) : null;
    },

    async fetchFingerprint(paymentRef) {
      const row: SandboxRow | undefined = await db('sandbox_payments').where({ payment_ref: paymentRef }).first();
      return row?.fingerprint ?? null;
    },

    checkoutPath: (donationId) => `/sandbox/checkout/${donationId}`,
    retrievePayout: (payoutId) => payouts.retrieve(payoutId),
    listPayouts: (sinceUnix) => payouts.list(sinceUnix),
    listBalanceTransactions: (payoutId) => payouts.transactions(payoutId),
  } satisfies PaymentProvider;

  return {
    ...provider,
    /**
     * The donor's choice on the test-mode checkout page. Success books the sandbox fee and
     * emits `payment_intent.succeeded`; failure emits `payment_intent.payment_failed`.
     * `payer` simulates the paying wallet or card: it becomes the payment fingerprint.
     */
    async complete(donationId: string, outcome: 'succeed' | 'fail', payer?: string): Promise<void> {
      const row = await byDonation(donationId);
      if (payer) await db('sandbox_payments').where({ payment_ref: row.payment_ref }).update({ fingerprint: `sbx_${createHash('sha256').update(payer).digest('hex').slice(0, 24)}` });
      if (outcome === 'fail') {
        await send('payment_intent.payment_failed', paymentIntentObject(shape(row), 'requires_payment_method', { code: 'card_declined', message: 'Sandbox: the donor chose failure.' }));
        return;
      }
      await db('sandbox_payments').where({ payment_ref: row.payment_ref }).update({
        status: 'succeeded',
        fee_minor: fee(row.amount_minor),
        updated_at: db.fn.now(),
      });
      await send('payment_intent.succeeded', paymentIntentObject(shape(row), 'succeeded'));
    },

    /** A card holder disputes (part of) a paid payment: recorded, and `charge.dispute.created` is sent. */
    async dispute(donationId: string, amountMinor: number): Promise<{ disputeId: string }> {
      const row = await byDonation(donationId);
      if (row.status !== 'succeeded') throw new ConflictError('not_refundable', 'errors.not_refundable');
      const d = { id: stripeId('dp_sandbox'), amount: amountMinor, created: Math.floor(Date.now() / 1000) };
      await db('sandbox_payments').where({ payment_ref: row.payment_ref }).update({ disputes: db.raw(`disputes || ?::jsonb`, [JSON.stringify([d])]), updated_at: db.fn.now() });
      await send('charge.dispute.created', { id: d.id, object: 'dispute', amount: amountMinor, currency: row.currency.toLowerCase(), charge: row.charge_id, payment_intent: row.payment_ref, status: 'needs_response', created: d.created });
      return { disputeId: d.id };
    },

    /** Pays out what is available (`POST /api/sandbox/payouts`), with the discrepancies asked for. */
    createPayout: (injections: Injection[] = []) => payouts.create(injections),
  };
}

export type SandboxProvider = ReturnType<typeof createSandboxProvider>;
