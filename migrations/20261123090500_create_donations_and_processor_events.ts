import type { Knex } from 'knex';

/**
 * Donations, the payment processor's events (stored before the webhook is acknowledged)
 * and the sandbox provider's own payment records.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE donations (
      id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      campaign_id         integer NOT NULL REFERENCES campaigns(id),
      amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
      currency            char(3) NOT NULL,
      status              text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending','succeeded','failed','partially_refunded','refunded')),
      refunded_minor      bigint NOT NULL DEFAULT 0,
      fee_minor           bigint CHECK (fee_minor >= 0),
      donor_name          text,
      donor_email         text,
      donor_phone         text,
      anonymous           boolean NOT NULL DEFAULT true,
      message             text,
      team                text,
      idempotency_key     text NOT NULL CONSTRAINT donations_idempotency_key UNIQUE,
      request_fingerprint text NOT NULL,
      provider            text NOT NULL CHECK (provider IN ('stripe','sandbox')),
      payment_ref         text UNIQUE,
      client_secret       text,
      failure_reason      text,
      succeeded_at        timestamptz,
      created_at          timestamptz NOT NULL DEFAULT now(),
      updated_at          timestamptz NOT NULL DEFAULT now(),
      CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
      CHECK ((status IN ('pending','failed')) = (succeeded_at IS NULL))
    );
    CREATE INDEX donations_campaign_status ON donations (campaign_id, status) INCLUDE (amount_minor, refunded_minor);
    CREATE INDEX donations_recent ON donations (campaign_id, succeeded_at DESC) WHERE succeeded_at IS NOT NULL;
    CREATE INDEX donations_fee_unknown ON donations (succeeded_at) WHERE fee_minor IS NULL AND succeeded_at IS NOT NULL;

    ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_donation
      FOREIGN KEY (donation_id) REFERENCES donations(id);
    ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_donation_required
      CHECK (kind NOT IN ('donation','refund','processor_fee') OR donation_id IS NOT NULL);

    CREATE TABLE processor_events (
      id           text PRIMARY KEY,
      provider     text NOT NULL,
      type         text NOT NULL,
      payload      jsonb NOT NULL,
      received_at  timestamptz NOT NULL DEFAULT now(),
      processed_at timestamptz,
      outcome      text,
      attempts     integer NOT NULL DEFAULT 0,
      last_error   text
    );
    CREATE INDEX processor_events_unprocessed ON processor_events (received_at) WHERE processed_at IS NULL;

    CREATE TABLE sandbox_payments (
      payment_ref  text PRIMARY KEY,
      donation_id  uuid NOT NULL UNIQUE REFERENCES donations(id),
      charge_id    text NOT NULL UNIQUE,
      amount_minor bigint NOT NULL,
      currency     char(3) NOT NULL,
      status       text NOT NULL DEFAULT 'requires_payment_method'
                   CHECK (status IN ('requires_payment_method','succeeded')),
      fee_minor    bigint,
      refunds      jsonb NOT NULL DEFAULT '[]',
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE sandbox_payments; DROP TABLE processor_events;
    ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_donation_required;
    ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_donation;
    DROP TABLE donations;
  `);
}
