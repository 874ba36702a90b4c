import type { Knex } from 'knex';

/** Campaigns: each belongs to a street's community fund and has its own ledger account. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE campaigns (
      id           serial PRIMARY KEY,
      slug         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
      fund_id      integer NOT NULL REFERENCES community_funds(id),
      title        text NOT NULL,
      story        text NOT NULL DEFAULT '',
      goal_minor   bigint NOT NULL CHECK (goal_minor > 0),
      currency     char(3) NOT NULL DEFAULT 'CNY',
      status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','live','closed')),
      starts_at    timestamptz NOT NULL,
      ends_at      timestamptz NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now(),
      CHECK (ends_at > starts_at)
    );
    CREATE INDEX campaigns_fund ON campaigns (fund_id);
    CREATE INDEX campaigns_status ON campaigns (status, starts_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('campaigns');
}
