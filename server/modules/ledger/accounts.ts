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
  /**
   * Restricted net assets: one source of a community fund's purchase-of-services pool (G-15):
   * released donations, released match by sponsor kind, or government allocations (财政资金).
   */
  fundPool: (fundId: number, source: PoolSource, currency: Currency): AccountSpec => ({
    code: `fund:${fundId}:pool:${source}:${currency}`,
    name: `Community fund ${fundId} purchase-of-services pool (${source})`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    ownerType: 'fund',
    ownerId: fundId,
  }),
  /** Asset: the association's bank account, where payouts, sponsors' and government money arrive. */
  bank: (currency: Currency): AccountSpec => ({
    code: `association:bank:${currency}`,
    name: 'Bank account',
    type: 'asset',
    normalBalance: 'debit',
    currency,
    allowNegative: true,
    ownerType: 'association',
    ownerId: 'bank',
  }),
  /** Revenue: the management fee charged on money released to a pool (C-7), by each fund's agreement. */
  managementFees: (currency: Currency): AccountSpec => ({
    code: `association:revenue:management_fees:${currency}`,
    name: 'Management fees',
    type: 'revenue',
    normalBalance: 'credit',
    currency,
    allowNegative: true,
    tracksBalance: false,
    ownerType: 'association',
    ownerId: 'revenue',
  }),
  /** Restricted: a published call's budget, committed from its street's pool, by source (G-1, G-15). */
  callCommitted: (callId: number, source: PoolSource, currency: Currency): AccountSpec => ({
    code: `call:${callId}:committed:${source}:${currency}`,
    name: `Call ${callId} committed (${source})`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    ownerType: 'call',
    ownerId: callId,
  }),
  /** Restricted: an awarded contract's amount not yet paid out in tranches, by source. */
  contractCommitted: (contractId: number, source: PoolSource, currency: Currency): AccountSpec => ({
    code: `contract:${contractId}:committed:${source}:${currency}`,
    name: `Contract ${contractId} committed (${source})`,
    type: 'net_assets',
    normalBalance: 'credit',
    currency,
    ownerType: 'contract',
    ownerId: contractId,
  }),
  /** Suspense: the usual other side of an adjusting journal that resolves a reconciliation exception. */
  reconciliationSuspense: (currency: Currency): AccountSpec => ({
    code: `association:suspense:reconciliation:${currency}`,
    name: 'Reconciliation suspense',
    type: 'asset',
    normalBalance: 'debit',
    currency,
    allowNegative: true,
    ownerType: 'association',
    ownerId: 'suspense',
  }),
};

/** Where money in a pool came from (G-15): each source is its own account and keeps its own restriction. */
export const POOL_SOURCES = ['donations', 'match_platform', 'match_foundation', 'match_enterprise', 'match_government', 'government'] as const;
export type PoolSource = (typeof POOL_SOURCES)[number];

/** The pool source of a sponsor's match, by the sponsor's kind. */
export const matchSource = (sponsorKind: string): PoolSource => `match_${sponsorKind}` as PoolSource;
