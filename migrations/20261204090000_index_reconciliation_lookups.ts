import type { Knex } from 'knex';

/**
 * Two indexes for reconciling a payout of many transactions.
 *
 * Each of a payout's charges is looked up by its charge id and compared with the donation's
 * amount, currency and fee. Carrying those columns in the charge-id index answers the lookup from
 * the index alone, without a visit to the donation's row. They are all written when the charge
 * succeeds (the fee at most once more, when it is booked), so the wider index costs the donation
 * path little.
 *
 * Settling a payout then looks only at its items that need something: exceptions, and items
 * whose fee was not booked when they were matched (a charge whose fee is still to be booked, a
 * refund or dispute, the payout's own transaction). A payout of matched charges with booked fees
 * has few of them, so they get an index of their own rather than a scan of all the items.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX donations_charge_ref;
    CREATE UNIQUE INDEX donations_charge_ref ON donations (charge_ref)
      INCLUDE (id, amount_minor, currency, fee_minor, succeeded_at) WHERE charge_ref IS NOT NULL;
    CREATE INDEX payout_items_to_settle ON payout_items (payout_id) WHERE status = 'exception' OR booked_fee_minor IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX payout_items_to_settle;
    DROP INDEX donations_charge_ref;
    CREATE UNIQUE INDEX donations_charge_ref ON donations (charge_ref) WHERE charge_ref IS NOT NULL;
  `);
}
