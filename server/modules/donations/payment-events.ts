import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.js';
import { chart, credit, debit, JournalKind, type LedgerService } from '../ledger/index.js';
import { donationsRepo, type DonationRow, type DonationStatus } from './donations.repo.js';
import type { PaymentProvider, ProviderRefund } from './providers/payment-provider.js';
import type { Enqueue } from './webhook-intake.js';

interface StripeEventShape {
  id: string;
  type: string;
  created: number;
  data: { object: Record<string, any> };
}

interface Applied {
  outcome: string;
  donation?: DonationRow;
  changed?: boolean;
  paidNow?: boolean;
  grants?: number[];
  /** A paid payout, due for reconciliation once this event has committed. */
  payout?: string;
}

/** What reconciliation does with a `payout.*` event (in the event's transaction). */
export interface PayoutEvents {
  onPayoutEvent(trx: Knex.Transaction, payout: Record<string, any>): Promise<{ outcome: string; payout?: string }>;
}

/** What matching does at each step of a donation's payment (the donation row is locked). */
export interface MatchLifecycle {
  onPaid(trx: Knex.Transaction, d: DonationRow, at: Date, fingerprint?: string | null): Promise<number[]>;
  onFailed(trx: Knex.Transaction, d: DonationRow): Promise<number[]>;
  onReturned(trx: Knex.Transaction, d: DonationRow): Promise<number[]>;
  notify(grantIds: number[]): void;
}

/** Refunds that moved money: pending and succeeded ones (Stripe debits the balance at creation). */
const moving = (r: ProviderRefund) => r.status !== 'failed' && r.status !== 'canceled';

function statusFor(d: Pick<DonationRow, 'amount_minor'>, refunded: number): DonationStatus {
  if (refunded === 0) return 'succeeded';
  return refunded >= d.amount_minor ? 'refunded' : 'partially_refunded';
}

const noGrants = async () => [] as number[];

/** Why a signed event may be refused; its outcome is `rejected_<reason>`. */
export const REFUSALS = ['payment_ref_mismatch', 'amount_mismatch', 'refunds_exceed_amount', 'dispute_exceeds_amount'] as const;
type Refusal = (typeof REFUSALS)[number];

const mismatch = (d: DonationRow, amount: unknown, currency: unknown) => amount !== d.amount_minor || String(currency).toUpperCase() !== d.currency;

/** The PaymentIntent an event's object names: its own id, or the `payment_intent` of a charge, refund or dispute. */
function paymentIntentOf(obj: Record<string, any>): string | undefined {
  const ref = obj.object === 'payment_intent' ? obj.id : (typeof obj.payment_intent === 'string' ? obj.payment_intent : obj.payment_intent?.id);
  return typeof ref === 'string' ? ref : undefined;
}

/**
 * Why a signed event must not touch donation `d`, or null. Checked before anything is written:
 * the event names another payment than the donation's (its `metadata.donation_id` points at `d`
 * but its PaymentIntent is someone else's); or its amount, currency, refunds or dispute do not
 * fit the donation.
 */
function refusalOf(type: string, obj: Record<string, any>, d: DonationRow, refunds: ProviderRefund[] | null): Refusal | null {
  const ref = paymentIntentOf(obj);
  if (ref && d.payment_ref && ref !== d.payment_ref) return 'payment_ref_mismatch';
  switch (type) {
    case 'payment_intent.succeeded':
      return mismatch(d, obj.amount_received ?? obj.amount, obj.currency) ? 'amount_mismatch' : null;
    case 'charge.refunded':
      if (mismatch(d, obj.amount, obj.currency)) return 'amount_mismatch';
      return (refunds ?? []).filter(moving).reduce((s, r) => s + r.amount, 0) > d.amount_minor ? 'refunds_exceed_amount' : null;
    case 'charge.dispute.created':
      if (!Number.isSafeInteger(obj.amount) || obj.amount <= 0 || String(obj.currency).toUpperCase() !== d.currency) return 'amount_mismatch';
      return d.refunded_minor + d.disputed_minor + obj.amount > d.amount_minor ? 'dispute_exceeds_amount' : null;
    default:
      return null;
  }
}

/**
 * Applies stored processor events to donations, exactly once and in any order.
 *
 * Each event is processed in one transaction that locks the event row, then the donation
 * row, then (through the ledger) the accounts: one fixed order, so no deadlock. The state
 * only moves forward: pending → failed → succeeded, and refunds only grow. A refund event
 * implies the payment succeeded, so it posts the donation journal first if that is missing.
 * Every journal has an idempotency key, so a replay changes nothing.
 */
export function createPaymentEvents(deps: {
  db: Knex;
  ledger: LedgerService;
  provider: PaymentProvider;
  enqueue: Enqueue;
  log: Logger;
  onDonationChanged: (d: DonationRow) => void;
  match?: MatchLifecycle;
  payouts?: PayoutEvents;
}) {
  const { db, ledger, log } = deps;

  /**
   * The processor's clearing account, and where the donation's money is held: its campaign, or,
   * once released, its fund's pool (so a late refund or dispute comes out of the pool).
   */
  async function accounts(trx: Knex.Transaction, d: DonationRow) {
    const holder = d.release_id
      ? chart.fundPool((await trx('campaigns').where({ id: d.campaign_id }).first('fund_id')).fund_id, 'donations', d.currency)
      : chart.campaignDonations(d.campaign_id, d.currency);
    return {
      clearing: await ledger.ensureAccount(trx, chart.processorClearing(d.provider, d.currency)),
      campaign: await ledger.ensureAccount(trx, holder),
    };
  }

  /** A refused event changes nothing: its outcome names the reason, for review (`/console/finance/events`). */
  function reject(d: DonationRow, reason: Refusal, event: StripeEventShape): Applied {
    log.error({ category: 'payments', donationId: d.id, eventId: event.id, reason }, 'processor event rejected');
    return { outcome: `rejected_${reason}`, donation: d };
  }

  async function succeed(trx: Knex.Transaction, d: DonationRow, at: Date, chargeRef: string | null, fingerprint?: string | null): Promise<Applied> {
    if (d.succeeded_at) return { outcome: 'ignored_already_succeeded', donation: d };
    const a = await accounts(trx, d);
    await ledger.postJournal(trx, {
      kind: JournalKind.DONATION,
      idempotencyKey: `donation:${d.id}`,
      effectiveAt: at,
      donationId: d.id,
      refs: { payment_ref: d.payment_ref },
      legs: [debit(a.clearing, d.amount_minor), credit(a.campaign, d.amount_minor)],
    });
    const patch = { status: statusFor(d, d.refunded_minor), succeeded_at: at, failure_reason: null, ...(chargeRef && !d.charge_ref ? { charge_ref: chargeRef } : {}) };
    await donationsRepo.update(trx, d.id, patch);
    const grants = await (deps.match?.onPaid ?? noGrants)(trx, { ...d, ...patch }, at, fingerprint);
    return { outcome: 'applied', donation: { ...d, ...patch }, changed: true, paidNow: true, grants };
  }

  async function applyRefunds(trx: Knex.Transaction, d: DonationRow, refunds: ProviderRefund[], chargeId: string, at: Date): Promise<Applied> {
    const valid = refunds.filter(moving);
    const a = await accounts(trx, d);
    let refunded = d.refunded_minor;
    for (const r of valid) {
      const posted = await ledger.postJournal(trx, {
        kind: JournalKind.REFUND,
        idempotencyKey: `refund:${r.id}`,
        effectiveAt: at,
        donationId: d.id,
        refs: { refund_id: r.id, charge_id: chargeId },
        legs: [debit(a.campaign, r.amount), credit(a.clearing, r.amount)],
      });
      if (!posted.replayed) refunded += r.amount;
    }
    if (refunded === d.refunded_minor) return { outcome: 'ignored_no_new_refund', donation: d };
    const patch = { refunded_minor: refunded, status: statusFor(d, refunded) };
    await donationsRepo.update(trx, d.id, patch);
    const grants = await (deps.match?.onReturned ?? noGrants)(trx, { ...d, ...patch });
    return { outcome: 'applied', donation: { ...d, ...patch }, changed: true, grants };
  }

  /** A dispute (chargeback): the processor takes the disputed amount back; its match share is clawed back. */
  async function applyDispute(trx: Knex.Transaction, d: DonationRow, dispute: Record<string, any>, at: Date): Promise<Applied> {
    const amount = dispute.amount as number;
    const a = await accounts(trx, d);
    const posted = await ledger.postJournal(trx, {
      kind: JournalKind.DISPUTE,
      idempotencyKey: `dispute:${dispute.id}`,
      effectiveAt: at,
      donationId: d.id,
      refs: { dispute_id: dispute.id, charge_id: dispute.charge },
      legs: [debit(a.campaign, amount), credit(a.clearing, amount)],
    });
    if (posted.replayed) return { outcome: 'ignored_duplicate_dispute', donation: d };
    const patch = { disputed_minor: d.disputed_minor + amount };
    await donationsRepo.update(trx, d.id, patch);
    const grants = await (deps.match?.onReturned ?? noGrants)(trx, { ...d, ...patch });
    return { outcome: 'applied', donation: { ...d, ...patch }, changed: true, grants };
  }

  async function apply(trx: Knex.Transaction, event: StripeEventShape, refunds: ProviderRefund[] | null, fingerprint: string | null): Promise<Applied> {
    const obj = event.data?.object ?? {};
    const at = new Date((event.created ?? Date.now() / 1000) * 1000);
    if (event.type.startsWith('payout.')) return deps.payouts ? deps.payouts.onPayoutEvent(trx, obj) : { outcome: 'ignored_unhandled_type' };
    const paymentRef = obj.object === 'payment_intent' ? obj.id : obj.payment_intent;
    const donationId = typeof obj.metadata?.donation_id === 'string' && /^[0-9a-f-]{36}$/i.test(obj.metadata.donation_id) ? obj.metadata.donation_id : undefined;
    const d = await donationsRepo.lock(trx, donationId ? { id: donationId } : { paymentRef: typeof paymentRef === 'string' ? paymentRef : undefined });
    if (!d) return { outcome: 'ignored_unknown_donation' };
    // Every check comes before the first write, so a refused event changes nothing.
    const refusal = refusalOf(event.type, obj, d, refunds);
    if (refusal) return reject(d, refusal, event);

    switch (event.type) {
      case 'payment_intent.succeeded':
        return succeed(trx, d, at, typeof obj.latest_charge === 'string' ? obj.latest_charge : (obj.latest_charge?.id ?? null), fingerprint);
      case 'payment_intent.payment_failed': {
        if (d.status !== 'pending') return { outcome: 'ignored_stale', donation: d };
        const patch = { status: 'failed' as const, failure_reason: String(obj.last_payment_error?.code ?? 'payment_failed').slice(0, 100) };
        await donationsRepo.update(trx, d.id, patch);
        const grants = await (deps.match?.onFailed ?? noGrants)(trx, { ...d, ...patch });
        return { outcome: 'applied', donation: { ...d, ...patch }, changed: true, grants };
      }
      case 'charge.refunded': {
        let paid: Applied = { outcome: 'ignored', donation: d };
        if (!d.succeeded_at) {
          if (obj.paid !== true) return { outcome: 'ignored_unpaid_charge', donation: d };
          paid = await succeed(trx, d, at, typeof obj.id === 'string' ? obj.id : null);
        }
        const r = await applyRefunds(trx, paid.donation!, refunds ?? [], obj.id, at);
        return { ...r, changed: r.changed || paid.changed, paidNow: paid.paidNow, donation: r.donation ?? paid.donation, grants: [...(paid.grants ?? []), ...(r.grants ?? [])] };
      }
      case 'charge.dispute.created': {
        let paid: Applied = { outcome: 'ignored', donation: d };
        if (!d.succeeded_at) paid = await succeed(trx, d, at, typeof obj.charge === 'string' ? obj.charge : null);
        const r = await applyDispute(trx, paid.donation!, obj, at);
        return { ...r, changed: r.changed || paid.changed, paidNow: paid.paidNow, donation: r.donation ?? paid.donation, grants: [...(paid.grants ?? []), ...(r.grants ?? [])] };
      }
      default:
        return { outcome: 'ignored_unhandled_type', donation: d };
    }
  }

  return {
    /** Processes one stored event; returns its outcome. Safe to call any number of times. */
    async process(eventId: string): Promise<string> {
      const stored = await db('processor_events').where({ id: eventId }).first();
      if (!stored) return 'missing';
      if (stored.processed_at) return 'already_processed';
      const event = stored.payload as StripeEventShape;
      const obj = event.data?.object ?? {};
      // Network calls happen before the transaction, never while holding row locks.
      const refunds: ProviderRefund[] | null = event.type === 'charge.refunded'
        ? (obj.refunds?.data as ProviderRefund[] | undefined) ?? (typeof obj.id === 'string' ? await deps.provider.listRefunds(obj.id) : [])
        : null;
      const fingerprint = event.type === 'payment_intent.succeeded' && deps.match && typeof obj.id === 'string'
        ? await deps.provider.fetchFingerprint(obj.id).catch((err) => {
          log.warn({ err, paymentRef: obj.id }, 'payment fingerprint unavailable');
          return null;
        })
        : null;

      const result = await db.transaction(async (trx) => {
        const row = await trx('processor_events').where({ id: eventId }).forUpdate().first('processed_at');
        if (row.processed_at) return { outcome: 'already_processed' } as Applied;
        const applied = await apply(trx, event, refunds, fingerprint);
        await trx('processor_events').where({ id: eventId }).update({ processed_at: trx.fn.now(), outcome: applied.outcome, attempts: trx.raw('attempts + 1'), last_error: null });
        return applied;
      });

      if (result.grants?.length) deps.match?.notify(result.grants);
      if (result.payout) {
        await deps.enqueue('reconcile-payout', { payoutId: result.payout }, `reconcile-${result.payout}`).catch((err) =>
          log.warn({ err, payout: result.payout }, 'reconciliation job not enqueued; the daily run will pick the payout up'));
      }
      if (result.changed && result.donation) {
        try {
          deps.onDonationChanged(result.donation);
        } catch (err) {
          log.warn({ err }, 'donation change hook failed');
        }
      }
      if (result.paidNow && result.donation) {
        await deps.enqueue('record-processor-fee', { donationId: result.donation.id }, `fee-${result.donation.id}`).catch((err) =>
          log.warn({ err, donationId: result.donation!.id }, 'fee job not enqueued; the sweeper will retry'),
        );
      }
      return result.outcome;
    },

    /** Records a failed attempt on the event row, for operators. */
    async noteFailure(eventId: string, err: unknown): Promise<void> {
      await db('processor_events').where({ id: eventId }).update({ attempts: db.raw('attempts + 1'), last_error: String((err as Error)?.message ?? err).slice(0, 500) });
    },
  };
}

export type PaymentEvents = ReturnType<typeof createPaymentEvents>;
