import Stripe from 'stripe';
import type { CreatePaymentInput, PaymentProvider, ProviderBalanceTransaction, ProviderPayout, ProviderRefund } from './payment-provider.js';

export interface StripeSettings {
  secretKey: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
}

/** Builds the official SDK client, honouring the STRIPE_API_HOST/PORT/PROTOCOL overrides. */
export function createStripeClient(s: StripeSettings): Stripe {
  return new Stripe(s.secretKey, {
    ...(s.host ? { host: s.host } : {}),
    ...(s.port ? { port: s.port } : {}),
    ...(s.protocol ? { protocol: s.protocol } : {}),
    maxNetworkRetries: 2,
    timeout: 15_000,
    appInfo: { name: 'shanhui' },
  });
}

/** Stripe's largest page of a list. */
const STRIPE_PAGE = 100;

const payoutShape = (p: Stripe.Payout): ProviderPayout => ({ id: p.id, amount: p.amount, currency: p.currency, status: p.status, created: p.created, arrival_date: p.arrival_date ?? null });

/** Payments through Stripe: WeChat Pay, Alipay and cards, in CNY. */
export function createStripeProvider(s: StripeSettings): PaymentProvider {
  const stripe = createStripeClient(s);
  return {
    name: 'stripe',
    testMode: s.secretKey.startsWith('sk_test_'),

    async createPayment(input: CreatePaymentInput) {
      const pi = await stripe.paymentIntents.create(
        {
          amount: input.amountMinor,
          currency: input.currency.toLowerCase(),
          allowed_payment_method_types: ['wechat_pay', 'alipay', 'card'],
          payment_method_options: { wechat_pay: { client: 'web' } },
          description: input.description,
          metadata: { donation_id: input.donationId },
        },
        { idempotencyKey: `donation-${input.donationId}` },
      );
      return { paymentRef: pi.id, clientSecret: pi.client_secret };
    },

    async refund({ paymentRef, amountMinor, idempotencyKey }) {
      const r = await stripe.refunds.create({ payment_intent: paymentRef, amount: amountMinor }, { idempotencyKey });
      return { refundId: r.id };
    },

    async listRefunds(chargeId: string): Promise<ProviderRefund[]> {
      const out: ProviderRefund[] = [];
      for await (const r of stripe.refunds.list({ charge: chargeId, limit: 100 })) out.push({ id: r.id, amount: r.amount, status: r.status ?? 'pending' });
      return out;
    },

    async fetchFingerprint(paymentRef: string) {
      const pi = await stripe.paymentIntents.retrieve(paymentRef, { expand: ['latest_charge'] });
      const details = typeof pi.latest_charge === 'object' ? pi.latest_charge?.payment_method_details : null;
      if (!details) return null;
      const method = (details as unknown as Record<string, { fingerprint?: string | null } | undefined>)[details.type];
      return method?.fingerprint ?? null;
    },

    async fetchFee(paymentRef: string) {
      const pi = await stripe.paymentIntents.retrieve(paymentRef, { expand: ['latest_charge.balance_transaction'] });
      const charge = pi.latest_charge;
      if (!charge || typeof charge === 'string') return null;
      const bt = charge.balance_transaction;
      return bt && typeof bt !== 'string' ? bt.fee : null;
    },

    checkoutPath: (donationId) => `/donations/${donationId}/checkout`,

    async retrievePayout(payoutId: string) {
      return payoutShape(await stripe.payouts.retrieve(payoutId));
    },

    async *listPayouts(sinceUnix: number) {
      for await (const p of stripe.payouts.list({ arrival_date: { gte: sinceUnix }, limit: 100 })) yield payoutShape(p);
    },

    /** Auto-paginated: the SDK follows `has_more` with `starting_after`, 100 a page; handed on a page at a time. */
    async *listBalanceTransactions(payoutId: string) {
      let page: ProviderBalanceTransaction[] = [];
      for await (const bt of stripe.balanceTransactions.list({ payout: payoutId, limit: STRIPE_PAGE })) {
        page.push({
          id: bt.id, type: bt.type, category: bt.reporting_category, source: typeof bt.source === 'string' ? bt.source : (bt.source?.id ?? null),
          amount: bt.amount, fee: bt.fee, net: bt.net, currency: bt.currency, created: bt.created,
        });
        if (page.length === STRIPE_PAGE) { yield page; page = []; }
      }
      if (page.length) yield page;
    },
  };
}
