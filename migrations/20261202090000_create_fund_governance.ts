import type { Knex } from 'knex';

/**
 * Community funds as the association hosts them (C-1 … C-9): a fund is a sub-ledger of the
 * association with no bank account, seal or sub-fund of its own; it receives donations only under
 * a signed cooperation agreement (purpose, management-fee rate, surplus disposal); its committee
 * has at least five unpaid members, an odd number, and a supervisor; a fund without activity for
 * months is flagged dormant.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE fund_agreements (
      id                serial PRIMARY KEY,
      fund_id           integer NOT NULL REFERENCES community_funds(id),
      purpose           text NOT NULL CHECK (length(purpose) > 0),
      management_fee_bp integer NOT NULL CHECK (management_fee_bp BETWEEN 0 AND 2000),
      surplus_disposal  text NOT NULL CHECK (length(surplus_disposal) > 0),
      signed_on         date NOT NULL,
      signatories       text NOT NULL,
      created_by        integer REFERENCES users(id),
      created_at        timestamptz NOT NULL DEFAULT now(),
      superseded_at     timestamptz
    );
    CREATE UNIQUE INDEX fund_agreements_current ON fund_agreements (fund_id) WHERE superseded_at IS NULL;

    CREATE TABLE fund_committee_members (
      id          serial PRIMARY KEY,
      fund_id     integer NOT NULL REFERENCES community_funds(id),
      name        text NOT NULL,
      role        text NOT NULL CHECK (role IN ('chair','member','supervisor')),
      affiliation text,
      unpaid      boolean NOT NULL DEFAULT true CHECK (unpaid),
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX fund_committee_members_fund ON fund_committee_members (fund_id);

    ALTER TABLE community_funds ADD COLUMN dormant_since timestamptz;
    ALTER TABLE community_funds ADD COLUMN last_activity_at timestamptz;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE community_funds DROP COLUMN last_activity_at;
    ALTER TABLE community_funds DROP COLUMN dormant_since;
    DROP TABLE fund_committee_members; DROP TABLE fund_agreements;
  `);
}
