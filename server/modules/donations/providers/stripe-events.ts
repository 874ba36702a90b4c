import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

/** Stripe-format ids: `pi_…`, `ch_…`, `re_…`, `evt_…`. */
export const stripeId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

const API_VERSION = '2026-01-28';

/** Wraps an object in a Stripe event envelope. */
export function stripeEvent(type: string, object: Record<string, unknown>, created = Math.floor(Date.now() / 1000)) {
  return { id: stripeId('evt'), object: 'event', api_version: API_VERSION, created, livemode: false, pending_webhooks: 1, type, data: { object } };
}

/** Signs a payload the way Stripe does, for the webhook's `constructEvent` to verify. */
export function signPayload(payload: string, secret: string): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret });
}

export interface PaymentShape {
  paymentRef: string;
  chargeId: string;
  donationId: string;
  amountMinor: number;
  currency: string;
}

/** A PaymentIntent as its `payment_intent.*` events carry it. */
export function paymentIntentObject(p: PaymentShape, status: 'succeeded' | 'requires_payment_method', failure?: { code: string; message: string }) {
  return {
    id: p.paymentRef,
    object: 'payment_intent',
    amount: p.amountMinor,
    amount_received: status === 'succeeded' ? p.amountMinor : 0,
    currency: p.currency.toLowerCase(),
    status,
    latest_charge: p.chargeId,
    metadata: { donation_id: p.donationId },
    last_payment_error: failure ? { type: 'card_error', ...failure } : null,
  };
}

/** A Charge with its refunds listed, as `charge.refunded` carries it. */
export function chargeObject(p: PaymentShape, refunds: { id: string; amount: number; status: string; created: number }[]) {
  const refunded = refunds.filter((r) => r.status !== 'failed' && r.status !== 'canceled').reduce((s, r) => s + r.amount, 0);
  return {
    id: p.chargeId,
    object: 'charge',
    amount: p.amountMinor,
    amount_captured: p.amountMinor,
    amount_refunded: refunded,
    currency: p.currency.toLowerCase(),
    paid: true,
    status: 'succeeded',
    refunded: refunded === p.amountMinor,
    payment_intent: p.paymentRef,
    metadata: { donation_id: p.donationId },
    refunds: {
      object: 'list',
      has_more: false,
      data: refunds.map((r) => ({ id: r.id, object: 'refund', amount: r.amount, status: r.status, charge: p.chargeId, payment_intent: p.paymentRef, currency: p.currency.toLowerCase(), created: r.created })),
    },
  };
}
