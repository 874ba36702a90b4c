import type { Currency } from '../../../lib/money.js';

export interface CreatePaymentInput {
  donationId: string;
  amountMinor: number;
  currency: Currency;
  description: string;
}

export interface CreatedPayment {
  /** The processor's payment id (a PaymentIntent id, `pi_…`). */
  paymentRef: string;
  /** For Stripe.js; null where the checkout needs none. */
  clientSecret: string | null;
}

/** A refund as the processor reports it. Only non-failed refunds move money in our books. */
export interface ProviderRefund {
  id: string;
  amount: number;
  status: string;
}

/** A balance transaction as the processor reports it (Stripe's shape, the fields reconciliation reads). */
export interface ProviderBalanceTransaction {
  id: string;
  /** `charge`, `payment`, `refund`, `adjustment` (disputes), `payout`, … */
  type: string;
  /** Stripe's `reporting_category`: `charge`, `refund`, `dispute`, `payout`, … */
  category: string;
  /** The object that moved the money: `ch_…`, `re_…`, `dp_…`, `po_…`. */
  source: string | null;
  amount: number;
  fee: number;
  net: number;
  currency: string;
  created: number;
}

/** A payout to the association's bank account. */
export interface ProviderPayout {
  id: string;
  amount: number;
  currency: string;
  /** `paid`, `pending`, `in_transit`, `failed`, `canceled`. */
  status: string;
  created: number;
  arrival_date: number | null;
}

/**
 * What the donation path and reconciliation need from a payment processor. Events come back
 * through the Stripe-format webhook either way, so one processing path serves both implementations.
 */
export interface PaymentProvider {
  readonly name: 'stripe' | 'sandbox';
  /** True when no real money can move (sandbox, or a Stripe test key). */
  readonly testMode: boolean;
  /** Creates (idempotently, keyed by the donation id) the processor's payment for a donation. */
  createPayment(input: CreatePaymentInput): Promise<CreatedPayment>;
  /** Asks the processor to refund; the ledger moves only when its event arrives. */
  refund(input: { paymentRef: string; amountMinor: number; idempotencyKey: string }): Promise<{ refundId: string }>;
  /** Every refund of a charge, for events that do not list them. */
  listRefunds(chargeId: string): Promise<ProviderRefund[]>;
  /** The payer's stable payment fingerprint (card, Alipay or WeChat Pay account), if the processor gives one. */
  fetchFingerprint(paymentRef: string): Promise<string | null>;
  /** The processor's fee on a payment once known, else null. */
  fetchFee(paymentRef: string): Promise<number | null>;
  /** Where the donor completes payment. */
  checkoutPath(donationId: string): string;
  /** One payout as the processor has it now. */
  retrievePayout(payoutId: string): Promise<ProviderPayout>;
  /** Payouts that arrived since then (unix seconds), newest first. */
  listPayouts(sinceUnix: number): AsyncIterable<ProviderPayout>;
  /** Every balance transaction a payout carried, the payout's own included, a page at a time. */
  listBalanceTransactions(payoutId: string): AsyncIterable<ProviderBalanceTransaction[]>;
}
