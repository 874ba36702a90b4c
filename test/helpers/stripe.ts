import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { h } from './harness.js';

/** Test-side Stripe event builders, independent of the sandbox provider's own. */
const id = (p: string) => `${p}_test_${randomBytes(10).toString('hex')}`;

export interface PaidDonation { id: string; amount: number; payment_ref: string; charge_id?: string }

export function event(type: string, object: Record<string, unknown>, created = Math.floor(Date.now() / 1000)) {
  return { id: id('evt'), object: 'event', api_version: '2026-01-28', created, livemode: false, type, data: { object } };
}

export function piSucceeded(d: PaidDonation, over: Record<string, unknown> = {}) {
  return event('payment_intent.succeeded', { id: d.payment_ref, object: 'payment_intent', amount: d.amount, amount_received: d.amount, currency: 'cny', status: 'succeeded', metadata: { donation_id: d.id }, ...over });
}

export function piFailed(d: PaidDonation) {
  return event('payment_intent.payment_failed', { id: d.payment_ref, object: 'payment_intent', amount: d.amount, currency: 'cny', status: 'requires_payment_method', metadata: { donation_id: d.id }, last_payment_error: { code: 'card_declined' } });
}

/** `charge.refunded` listing the given refunds (cumulative, as Stripe sends it). */
export function chargeRefunded(d: PaidDonation, refunds: { id: string; amount: number; status?: string }[]) {
  const amountRefunded = refunds.reduce((s, r) => s + r.amount, 0);
  return event('charge.refunded', {
    id: d.charge_id ?? `ch_for_${d.payment_ref}`, object: 'charge', amount: d.amount, amount_refunded: amountRefunded, currency: 'cny', paid: true, status: 'succeeded',
    refunded: amountRefunded === d.amount, payment_intent: d.payment_ref, metadata: {},
    refunds: { object: 'list', data: refunds.map((r) => ({ id: r.id, object: 'refund', amount: r.amount, status: r.status ?? 'succeeded' })) },
  });
}

/** Signs with the configured webhook secret, exactly as Stripe would. */
export function sign(payload: string, secret = h().c.webhookSecret): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret });
}

/** POSTs a signed event to the real webhook route. */
export function sendEvent(evt: object, opts: { secret?: string; signature?: string | null } = {}) {
  const payload = JSON.stringify(evt);
  const req = h().api().post('/webhooks/stripe').set('Content-Type', 'application/json');
  const signature = opts.signature === undefined ? sign(payload, opts.secret) : opts.signature;
  if (signature !== null) req.set('Stripe-Signature', signature);
  return req.send(payload);
}

export const refundId = () => id('re');
