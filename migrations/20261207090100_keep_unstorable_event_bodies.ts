import type { Knex } from 'knex';

/**
 * The raw body of a processor event whose text jsonb cannot hold (a NUL or a lone surrogate):
 * the event is stored with that text replaced, parked with a reason, and its bytes kept for review.
 * Refused and parked events are listed for review newest first; few are, so the index is partial.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE processor_events ADD COLUMN raw_body bytea;
    CREATE INDEX processor_events_for_review ON processor_events (received_at DESC) WHERE outcome LIKE 'rejected%' OR outcome LIKE 'parked%';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX processor_events_for_review; ALTER TABLE processor_events DROP COLUMN raw_body');
}
