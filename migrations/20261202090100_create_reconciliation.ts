import type { Knex } from 'knex';

/**
 * Reconciliation against the processor: its payouts, the balance transactions each carried (a
 * copy of the processor's data, matched to our ledger), and the exceptions found. The ledger is
 * never edited; an exception is resolved by an adjusting journal under four-eyes, with a note.
 * The sandbox provider keeps its own payouts and balance transactions, shaped like Stripe's.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE donations ADD COLUMN charge_ref text;
    CREATE UNIQUE INDEX donations_charge_ref ON donations (charge_ref) WHERE charge_ref IS NOT NULL;

    CREATE TABLE payouts (
      id             text PRIMARY KEY,
      provider       text NOT NULL CHECK (provider IN ('stripe','sandbox')),
      amount_minor   bigint NOT NULL,
      currency       char(3) NOT NULL,
      status         text NOT NULL,
      created_at     timestamptz NOT NULL,
      arrival_at     timestamptz,
      reconciliation text NOT NULL DEFAULT 'pending' CHECK (reconciliation IN ('pending','reconciled','exceptions')),
      items          integer NOT NULL DEFAULT 0,
      matched        integer NOT NULL DEFAULT 0,
      exceptions     integer NOT NULL DEFAULT 0,
      gross_minor    bigint NOT NULL DEFAULT 0,
      fee_minor      bigint NOT NULL DEFAULT 0,
      net_minor      bigint NOT NULL DEFAULT 0,
      journal_id     bigint REFERENCES ledger_journals(id),
      received_at    timestamptz NOT NULL DEFAULT now(),
      reconciled_at  timestamptz,
      -- Set once every cleared donation the payout carried is in a pool; cleared again when one
      -- of its exceptions is resolved, so that donation is released too.
      released_at    timestamptz
    );
    CREATE INDEX payouts_unreleased ON payouts (created_at) WHERE released_at IS NULL AND reconciliation <> 'pending';
    CREATE INDEX payouts_arrival ON payouts (arrival_at DESC);

    -- One row per balance transaction of a payout, matched as it is copied in: donation_id and
    -- journal_id are filled by the matching join itself (so they are valid by construction), and
    -- problem names the exception a mismatched one raised. booked_fee_minor is the fee the ledger
    -- had for a charge when it was matched (null: not booked yet, so reconciliation books it).
    CREATE TABLE payout_items (
      id           text NOT NULL,
      payout_id    text NOT NULL,
      type         text NOT NULL,
      category     text,
      source       text,
      amount_minor bigint NOT NULL,
      fee_minor    bigint NOT NULL,
      net_minor    bigint NOT NULL,
      currency     char(3) NOT NULL,
      created_at   timestamptz NOT NULL,
      donation_id  uuid,
      journal_id   bigint,
      booked_fee_minor bigint,
      status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','matched','exception','skipped')),
      problem      text,
      CHECK ((status = 'exception') = (problem IS NOT NULL)),
      PRIMARY KEY (payout_id, id)
    );
    CREATE INDEX payout_items_journal ON payout_items (journal_id) WHERE journal_id IS NOT NULL;

    CREATE TABLE reconciliation_exceptions (
      id                    serial PRIMARY KEY,
      kind                  text NOT NULL CHECK (kind IN ('missing_in_ledger','missing_at_processor','amount_mismatch','fee_mismatch','currency_mismatch','payout_sum_mismatch')),
      payout_id             text REFERENCES payouts(id),
      item_id               text,
      journal_id            bigint REFERENCES ledger_journals(id),
      donation_id           uuid REFERENCES donations(id),
      expected              jsonb NOT NULL DEFAULT '{}',
      actual                jsonb NOT NULL DEFAULT '{}',
      difference_minor      bigint NOT NULL DEFAULT 0,
      status                text NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved')),
      note                  text,
      approval_id           integer REFERENCES approvals(id),
      resolution_journal_id bigint REFERENCES ledger_journals(id),
      resolved_at           timestamptz,
      created_at            timestamptz NOT NULL DEFAULT now(),
      CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
    );
    CREATE UNIQUE INDEX reconciliation_exceptions_once
      ON reconciliation_exceptions (kind, coalesce(payout_id, ''), coalesce(item_id, ''), coalesce(journal_id, 0));
    CREATE INDEX reconciliation_exceptions_open ON reconciliation_exceptions (status, created_at);

    ALTER TABLE approvals DROP CONSTRAINT approvals_kind_check;
    ALTER TABLE approvals ADD CONSTRAINT approvals_kind_check
      CHECK (kind IN ('refund','grant_activation','adjustment','award','disbursement','exception_resolution'));

    CREATE TABLE sandbox_payouts (
      id           text PRIMARY KEY,
      amount_minor bigint NOT NULL,
      currency     char(3) NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      injected     text[] NOT NULL DEFAULT '{}'
    );
    CREATE TABLE sandbox_balance_transactions (
      id           text PRIMARY KEY,
      payout_id    text NOT NULL REFERENCES sandbox_payouts(id),
      type         text NOT NULL,
      category     text NOT NULL,
      source       text NOT NULL,
      amount_minor bigint NOT NULL,
      fee_minor    bigint NOT NULL,
      net_minor    bigint NOT NULL,
      currency     char(3) NOT NULL,
      created_at   timestamptz NOT NULL
    );
    CREATE INDEX sandbox_balance_transactions_payout ON sandbox_balance_transactions (payout_id, id);
    CREATE UNIQUE INDEX sandbox_balance_transactions_source ON sandbox_balance_transactions (source, type);
    -- A payment the sandbox keeps out of every payout (the missing-at-processor discrepancy).
    ALTER TABLE sandbox_payments ADD COLUMN withheld boolean NOT NULL DEFAULT false;
    ALTER TABLE sandbox_payments ADD COLUMN disputes jsonb NOT NULL DEFAULT '[]';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE sandbox_payments DROP COLUMN disputes; ALTER TABLE sandbox_payments DROP COLUMN withheld;
    DROP TABLE sandbox_balance_transactions; DROP TABLE sandbox_payouts;
    ALTER TABLE approvals DROP CONSTRAINT approvals_kind_check;
    ALTER TABLE approvals ADD CONSTRAINT approvals_kind_check CHECK (kind IN ('refund','grant_activation','adjustment','award','disbursement'));
    DROP TABLE reconciliation_exceptions; DROP TABLE payout_items; DROP TABLE payouts;
    DROP INDEX donations_charge_ref; ALTER TABLE donations DROP COLUMN charge_ref;
  `);
}
