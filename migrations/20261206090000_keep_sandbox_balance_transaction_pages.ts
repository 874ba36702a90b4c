import type { Knex } from 'knex';

/**
 * The sandbox answers a payout's balance-transaction list as Stripe does: in pages, each a JSON
 * array of transactions in the shape the provider interface hands on. The pages are written once,
 * when the payout is made (its transactions do not change after), and kept uncompressed, so a
 * page is read as it was written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sandbox_balance_transaction_pages (
      payout_id text NOT NULL REFERENCES sandbox_payouts(id),
      page      int NOT NULL CHECK (page >= 0),
      body      text NOT NULL,
      PRIMARY KEY (payout_id, page)
    );
    ALTER TABLE sandbox_balance_transaction_pages ALTER COLUMN body SET STORAGE EXTERNAL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE sandbox_balance_transaction_pages');
}
