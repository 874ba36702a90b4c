import type { Currency } from '../../lib/money.js';

/** The shape of a ledger account; `code` is its stable, human-readable identity. */
export interface AccountSpec {
  code: string;
  name: string;
  type: 'asset' | 'liability' | 'net_assets' | 'revenue' | 'expense';
  normalBalance: 'debit' | 'credit';
  currency: Currency;
  /** Only external or clearing accounts may go negative. */
  allowNegative?: boolean;
  /**
   * False for very hot accounts whose limit never matters (processor clearing, fee expense):
   * no cached balance and no row lock, their balance is derived from entries.
   */
  tracksBalance?: boolean;
  /** Lock order: rank 0 first, higher ranks (hot pools) last. */
  lockRank?: number;
  ownerType?: string;
  ownerId?: string | number;
}

/** The chart of accounts (docs/ledger.md). Each function names one account per owner and currency. */
export const chart = {
  /** Asset: what the payment processor owes us for settled payments, before payout. Hot, derived. */
  processorClearing: (provider: string, currency: Currency): AccountSpec => ({
    code: `processor:${provider}:clearing:${currency}`,
    name: `Payment processor clearing (${provider})`,
    type: 'asset',
    normalBalance: 'debit',
    currency,
    allowNegative: true,
    tracksBalance: false,
    ownerType: 'processor',
    ownerId: provider,
  }),
  /** Expense: processor fees, absorbed by the association so every donated fen reaches the campaign. */
  processorFees: (currency: Currency): AccountSpec => ({
    code: `association:expense:processor_fees:${currency}`,
    name: 'Payment processing fees',
    type: 'expense',
    normalBalance: 'debit',
    currency,
    allowNegative: true,
    tracksBalance: false,
    ownerType: 'association',
    ownerId: 'expense',
  }),
  /** Restricted net assets: donations held for one campaign until released to its street's pool. */
  campaignDonations: (campaignId: number, currency: Currency): AccountSpec => ({
    code: `campaign:${campaignId}:donations:${currency}`,
    name: `Campaign ${campaignId} donations`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    ownerType: 'campaign',
    ownerId: campaignId,
  }),
  /** Restricted net assets: matched money committed to one campaign. */
  campaignMatch: (campaignId: number, currency: Currency): AccountSpec => ({
    code: `campaign:${campaignId}:match:${currency}`,
    name: `Campaign ${campaignId} matched funds`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    ownerType: 'campaign',
    ownerId: campaignId,
  }),
  /** Asset: what a sponsor has pledged to its grants and not yet paid. */
  sponsorPledges: (sponsorId: number, currency: Currency): AccountSpec => ({
    code: `sponsor:${sponsorId}:pledges:${currency}`,
    name: `Sponsor ${sponsorId} pledges receivable`,
    type: 'asset',
    normalBalance: 'debit',
    currency,
    ownerType: 'sponsor',
    ownerId: sponsorId,
  }),
  /** Liability: match money owed back to a sponsor (left at close, or clawed back after it). */
  sponsorReturns: (sponsorId: number, currency: Currency): AccountSpec => ({
    code: `sponsor:${sponsorId}:returns:${currency}`,
    name: `Sponsor ${sponsorId} returns`,
    type: 'liability',
    normalBalance: 'credit',
    currency,
    ownerType: 'sponsor',
    ownerId: sponsorId,
  }),
  /** Restricted: a grant's budget not yet opened into a pool bucket. Locked last. */
  grantBudget: (grantId: number, currency: Currency): AccountSpec => ({
    code: `grant:${grantId}:budget:${currency}`,
    name: `Grant ${grantId} unopened budget`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    lockRank: 1,
    ownerType: 'grant',
    ownerId: grantId,
  }),
  /** Restricted: one shard of a grant's pool bucket; the hot rows, locked last. */
  grantPoolShard: (grantId: number, bucket: string, shard: number, currency: Currency): AccountSpec => ({
    code: `grant:${grantId}:pool:${bucket}:${shard}:${currency}`,
    name: `Grant ${grantId} pool ${bucket} shard ${shard}`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    lockRank: 1,
    ownerType: 'grant',
    ownerId: grantId,
  }),
  /**
   * Restricted: match set aside for pending donations. Hot and derived: each reservation is
   * tracked by its allocation row, which an invariant check reconciles with this balance.
   */
  grantReserved: (grantId: number, currency: Currency): AccountSpec => ({
    code: `grant:${grantId}:reserved:${currency}`,
    name: `Grant ${grantId} reserved match`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    allowNegative: true,
    tracksBalance: false,
    ownerType: 'grant',
    ownerId: grantId,
  }),
  /** Restricted net assets: a community fund's purchase-of-services pool (filled by reconciliation). */
  fundPool: (fundId: number, currency: Currency): AccountSpec => ({
    code: `fund:${fundId}:pool:${currency}`,
    name: `Community fund ${fundId} purchase-of-services pool`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    ownerType: 'fund',
    ownerId: fundId,
  }),
};
