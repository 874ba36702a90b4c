import type { Knex } from 'knex';

/**
 * A payout's items become the processor's record as reported, copied in with one `COPY` and not
 * written again, except to name the problem of a mismatched one.
 *
 * What the match found is no longer stored on every item: an item's donation or journal is found
 * again by its source (the charge id, `refund:<re_…>`, `dispute:<dp_…>`) when it is needed, and
 * its state follows from its problem and its payout's (the `payout_item_states` view). The
 * processor's `created` is kept as the unix time it reports, with `created_at` computed from it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX payout_items_to_settle;
    DROP INDEX payout_items_journal;
    ALTER TABLE payout_items DROP CONSTRAINT payout_items_check;
    ALTER TABLE payout_items DROP COLUMN status, DROP COLUMN donation_id, DROP COLUMN journal_id, DROP COLUMN booked_fee_minor;
    ALTER TABLE payout_items ADD CONSTRAINT payout_items_problem
      CHECK (problem IN ('missing_in_ledger', 'amount_mismatch', 'fee_mismatch', 'currency_mismatch'));
    ALTER TABLE payout_items ADD COLUMN created bigint;
    UPDATE payout_items SET created = extract(epoch FROM created_at)::bigint;
    ALTER TABLE payout_items ALTER COLUMN created SET NOT NULL, DROP COLUMN created_at;
    ALTER TABLE payout_items ADD COLUMN created_at timestamptz GENERATED ALWAYS AS (to_timestamp(created)) STORED;
    -- The few items with a problem, found without a look at the rest of their payout.
    CREATE INDEX payout_items_problems ON payout_items (payout_id) WHERE problem IS NOT NULL;

    -- An item's state: the payout's own transaction is skipped; the rest are pending until their
    -- payout is reconciled, then matched unless a problem was found.
    CREATE VIEW payout_item_states AS
      SELECT i.*, CASE WHEN i.type = 'payout' THEN 'skipped' WHEN i.problem IS NOT NULL THEN 'exception'
                       WHEN p.reconciliation = 'pending' THEN 'pending' ELSE 'matched' END AS status
        FROM payout_items i JOIN payouts p ON p.id = i.payout_id;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP VIEW payout_item_states;
    DROP INDEX payout_items_problems;
    ALTER TABLE payout_items ADD COLUMN status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','matched','exception','skipped')),
      ADD COLUMN donation_id uuid, ADD COLUMN journal_id bigint, ADD COLUMN booked_fee_minor bigint;
    UPDATE payout_items i SET status = CASE WHEN i.type = 'payout' THEN 'skipped' WHEN i.problem IS NOT NULL THEN 'exception'
                                            WHEN p.reconciliation = 'pending' THEN 'pending' ELSE 'matched' END
      FROM payouts p WHERE p.id = i.payout_id;
    UPDATE payout_items i SET donation_id = d.id, booked_fee_minor = d.fee_minor FROM donations d WHERE i.category = 'charge' AND d.charge_ref = i.source;
    UPDATE payout_items i SET journal_id = j.id, donation_id = j.donation_id FROM ledger_journals j
     WHERE i.category IN ('refund', 'dispute') AND j.idempotency_key = (CASE i.category WHEN 'refund' THEN 'refund:' ELSE 'dispute:' END) || i.source;
    ALTER TABLE payout_items DROP CONSTRAINT payout_items_problem;
    ALTER TABLE payout_items ADD CONSTRAINT payout_items_check CHECK ((status = 'exception') = (problem IS NOT NULL));
    ALTER TABLE payout_items DROP COLUMN created_at;
    ALTER TABLE payout_items ADD COLUMN created_at timestamptz;
    UPDATE payout_items SET created_at = to_timestamp(created);
    ALTER TABLE payout_items ALTER COLUMN created_at SET NOT NULL, DROP COLUMN created;
    CREATE INDEX payout_items_journal ON payout_items (journal_id) WHERE journal_id IS NOT NULL;
    CREATE INDEX payout_items_to_settle ON payout_items (payout_id) WHERE status = 'exception' OR booked_fee_minor IS NULL;
  `);
}
