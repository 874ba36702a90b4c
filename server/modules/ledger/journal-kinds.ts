/**
 * What a journal records: one business event each. `docs/ledger.md` has a worked example
 * table per kind. Later capabilities add kinds (match, clawback, payout, release to pool …).
 */
export enum JournalKind {
  /** A donation's payment succeeded: the processor owes us the gross, the campaign holds it. */
  DONATION = 'donation',
  /** Money returned to a donor (full or partial), taken back from the campaign. */
  REFUND = 'refund',
  /** The processor's fee on a donation, borne by the association so campaigns receive the gross. */
  PROCESSOR_FEE = 'processor_fee',
  /** A staff correction between two accounts (four-eyes approval arrives with staff consoles). */
  ADJUSTMENT = 'adjustment',
  /** A dispute (chargeback): the processor takes the disputed amount back from the campaign. */
  DISPUTE = 'dispute',
  /** A sponsor's matching budget is pledged to a grant (activation or top-up). */
  GRANT_FUNDED = 'grant_funded',
  /** Budget moves into a pool bucket's shards (at activation, or when a daily slot opens). */
  POOL_OPENED = 'pool_opened',
  /** A donation's match is set aside from the pool when the donation is created. */
  MATCH_RESERVE = 'match_reserve',
  /** The payment succeeded: the reserved match goes to the campaign. */
  MATCH_COMMIT = 'match_commit',
  /** The payment failed, expired or was ruled fraudulent: the reservation goes back. */
  MATCH_RELEASE = 'match_release',
  /** A refund or dispute takes (part of) a committed match back. */
  MATCH_CLAWBACK = 'match_clawback',
  /** A grant closed: what is left goes back to the sponsor. */
  GRANT_CLOSED = 'grant_closed',
  /** At close, a stretch pool or a quadratic round shares the budget among campaigns. */
  MATCH_DISTRIBUTION = 'match_distribution',
  /** A processor payout arrived at the bank: clearing → bank, for the payout's amount. */
  PAYOUT = 'payout',
  /** Fees a payout's balance transactions report that were not booked yet (disputes, late fees). */
  PAYOUT_FEE = 'payout_fee',
  /** Cleared money moves into a fund's purchase-of-services pool, less the management fee. */
  POOL_RELEASE = 'pool_release',
  /** A sponsor paid (part of) its pledge: bank ← sponsor's pledge receivable. */
  SPONSOR_RECEIPT = 'sponsor_receipt',
  /** Government money (财政资金) allocated to a street's pool. */
  GOVERNMENT_ALLOCATION = 'government_allocation',
  /** A call for proposals is published: its budget is committed from the pool, by source. */
  CALL_COMMITTED = 'call_committed',
  /** A call closes: what no contract took goes back to the pool. */
  CALL_RELEASED = 'call_released',
  /** An award: the contract's amount moves from the call's commitment to the contract's. */
  TRANCHE_AWARD = 'tranche_award',
  /** A tranche is paid to the organisation: out of the contract's commitment, out of the bank. */
  TRANCHE_PAYMENT = 'tranche_payment',
}
