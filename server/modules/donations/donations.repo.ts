import type { Knex } from 'knex';

export type DonationStatus = 'pending' | 'succeeded' | 'failed' | 'partially_refunded' | 'refunded';

export interface DonationRow {
  id: string; campaign_id: number; campaign_slug?: string; amount_minor: number; currency: 'CNY'; status: DonationStatus;
  refunded_minor: number; fee_minor: number | null; donor_name: string | null; donor_email: string | null; donor_phone: string | null;
  anonymous: boolean; message: string | null; team: string | null; idempotency_key: string; request_fingerprint: string;
  provider: 'stripe' | 'sandbox'; payment_ref: string | null; client_secret: string | null; failure_reason: string | null;
  succeeded_at: Date | null; created_at: Date; updated_at: Date; disputed_minor: number;
  /** Match still reserved (pending or held) and committed net of clawbacks, from the matching module's allocations. */
  match_reserved?: number; match_committed?: number; user_id?: number | null;
  /** The processor's charge (`ch_…`), known once paid: what a payout's balance transaction names. */
  charge_ref?: string | null; release_id?: number | null; released_minor?: number;
}

const withSlug = (db: Knex | Knex.Transaction) =>
  db('donations as d')
    .join('campaigns as c', 'c.id', 'd.campaign_id')
    .select(
      'd.*',
      'c.slug as campaign_slug',
      db.raw(`(SELECT coalesce(sum(a.reserved_minor) FILTER (WHERE a.status IN ('reserved', 'held')), 0)::bigint FROM match_allocations a WHERE a.donation_id = d.id) AS match_reserved`),
      db.raw('(SELECT coalesce(sum(a.committed_minor - a.clawed_back_minor), 0)::bigint FROM match_allocations a WHERE a.donation_id = d.id) AS match_committed'),
    );

/** knex access to donations. State changes are the service's business; this only reads and writes. */
export const donationsRepo = {
  async insert(db: Knex | Knex.Transaction, row: Partial<Omit<DonationRow, 'match_reserved' | 'match_committed' | 'campaign_slug'>>): Promise<DonationRow> {
    const [r] = await db('donations').insert(row).returning('*');
    return r;
  },
  findById(db: Knex | Knex.Transaction, id: string): Promise<DonationRow | undefined> {
    return withSlug(db).where('d.id', id).first();
  },
  findByIdempotencyKey(db: Knex | Knex.Transaction, key: string): Promise<DonationRow | undefined> {
    return withSlug(db).where('d.idempotency_key', key).first();
  },
  /** Locks the donation row: every state change of one donation is serialised here. */
  lock(trx: Knex.Transaction, by: { id?: string; paymentRef?: string }): Promise<DonationRow | undefined> {
    const q = trx('donations').forUpdate().first();
    if (by.id) q.where('id', by.id);
    else if (by.paymentRef) q.where('payment_ref', by.paymentRef);
    else return Promise.resolve(undefined);
    return q;
  },
  async setPayment(db: Knex, id: string, p: { payment_ref: string; client_secret: string | null }): Promise<void> {
    await db('donations').where({ id }).whereNull('payment_ref').update({ ...p, updated_at: db.fn.now() });
  },
  async update(trx: Knex.Transaction, id: string, patch: Partial<DonationRow>): Promise<void> {
    await trx('donations').where({ id }).update({ ...patch, updated_at: trx.fn.now() });
  },
  /** The latest paid donations of a campaign, for its public list. */
  recentPaid(db: Knex, campaignId: number, limit: number): Promise<DonationRow[]> {
    return db('donations')
      .where({ campaign_id: campaignId })
      .whereIn('status', ['succeeded', 'partially_refunded'])
      .orderBy('succeeded_at', 'desc')
      .limit(limit);
  },
  /** One user's donations with their campaign, newest first. */
  ofUser(db: Knex, userId: number, limit: number) {
    return withSlug(db).select('c.title as campaign_title').where('d.user_id', userId).orderBy('d.created_at', 'desc').limit(limit);
  },
  /** Paid donations whose processor fee is not yet booked, oldest first. */
  feeUnknown(db: Knex, olderThan: Date, limit: number): Promise<{ id: string }[]> {
    return db('donations').whereNull('fee_minor').whereNotNull('succeeded_at').where('succeeded_at', '<', olderThan).orderBy('succeeded_at').limit(limit).select('id');
  },
};
