import type { Knex } from 'knex';

/**
 * A payout's refunds and disputes, found without a look at its charges: matching them against
 * their journals reads only these few items, not the payout's thousands of charges.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX payout_items_refunds_disputes ON payout_items (payout_id) WHERE category IN ('refund', 'dispute')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX payout_items_refunds_disputes');
}
