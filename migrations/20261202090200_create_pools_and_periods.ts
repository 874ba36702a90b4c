import type { Knex } from 'knex';

/**
 * Cleared money into each street's purchase-of-services pool: the releases (a campaign's
 * reconciled donations, or one grant's match on it, moved to its fund's pool less the management
 * fee), sponsors' pledge invoices and receipts, government allocations (财政资金), and closed
 * accounting periods, which the database keeps every journal out of.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE pool_releases (
      id            bigserial PRIMARY KEY,
      fund_id       integer NOT NULL REFERENCES community_funds(id),
      campaign_id   integer NOT NULL REFERENCES campaigns(id),
      source        text NOT NULL CHECK (source IN ('donations','match')),
      grant_id      integer REFERENCES grants(id),
      amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
      fee_minor     bigint NOT NULL CHECK (fee_minor >= 0 AND fee_minor <= amount_minor),
      fee_bp        integer NOT NULL,
      journal_id    bigint NOT NULL UNIQUE REFERENCES ledger_journals(id),
      created_at    timestamptz NOT NULL DEFAULT now(),
      CHECK ((source = 'match') = (grant_id IS NOT NULL))
    );
    CREATE INDEX pool_releases_fund ON pool_releases (fund_id, created_at);
    ALTER TABLE donations ADD COLUMN release_id bigint REFERENCES pool_releases(id);
    ALTER TABLE donations ADD COLUMN released_minor bigint NOT NULL DEFAULT 0 CHECK (released_minor >= 0);
    ALTER TABLE donations ADD CONSTRAINT donations_released_once CHECK ((release_id IS NULL) = (released_minor = 0));
    ALTER TABLE match_allocations ADD COLUMN release_id bigint REFERENCES pool_releases(id);
    ALTER TABLE match_allocations ADD COLUMN released_minor bigint NOT NULL DEFAULT 0 CHECK (released_minor >= 0);
    CREATE INDEX donations_release ON donations (release_id) WHERE release_id IS NOT NULL;
    CREATE INDEX match_allocations_release ON match_allocations (release_id) WHERE release_id IS NOT NULL;
    ALTER TABLE match_distributions ADD COLUMN release_id bigint REFERENCES pool_releases(id);

    CREATE TABLE sponsor_invoices (
      id           serial PRIMARY KEY,
      grant_id     integer NOT NULL REFERENCES grants(id),
      number       text NOT NULL UNIQUE,
      amount_minor bigint NOT NULL CHECK (amount_minor > 0),
      currency     char(3) NOT NULL DEFAULT 'CNY',
      issued_on    date NOT NULL,
      due_on       date,
      note         text,
      created_by   integer REFERENCES users(id),
      created_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE sponsor_receipts (
      id             serial PRIMARY KEY,
      grant_id       integer NOT NULL REFERENCES grants(id),
      invoice_id     integer REFERENCES sponsor_invoices(id),
      amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
      currency       char(3) NOT NULL DEFAULT 'CNY',
      reference      text NOT NULL UNIQUE,
      received_on    date NOT NULL,
      source         text NOT NULL CHECK (source IN ('manual','bank_statement')),
      statement_line jsonb,
      journal_id     bigint NOT NULL UNIQUE REFERENCES ledger_journals(id),
      created_by     integer REFERENCES users(id),
      created_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sponsor_receipts_grant ON sponsor_receipts (grant_id);

    CREATE TABLE government_allocations (
      id           serial PRIMARY KEY,
      street_id    integer NOT NULL REFERENCES streets(id),
      fund_id      integer NOT NULL REFERENCES community_funds(id),
      amount_minor bigint NOT NULL CHECK (amount_minor > 0),
      currency     char(3) NOT NULL DEFAULT 'CNY',
      reference    text NOT NULL UNIQUE,
      memo         text,
      received_on  date NOT NULL,
      journal_id   bigint NOT NULL UNIQUE REFERENCES ledger_journals(id),
      created_by   integer REFERENCES users(id),
      created_at   timestamptz NOT NULL DEFAULT now()
    );

    -- A closed month (China Standard Time) takes no journal, whoever posts it. Closing is final.
    CREATE TABLE ledger_periods (
      period     text PRIMARY KEY CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      starts_at  timestamptz NOT NULL,
      ends_at    timestamptz NOT NULL,
      closed_at  timestamptz NOT NULL DEFAULT now(),
      closed_by  integer REFERENCES users(id),
      CHECK (ends_at > starts_at)
    );
    CREATE INDEX ledger_periods_span ON ledger_periods (starts_at, ends_at);
    CREATE TRIGGER ledger_periods_append_only BEFORE UPDATE OR DELETE ON ledger_periods
      FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
    CREATE FUNCTION ledger_journals_open_period() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE v_period text;
    BEGIN
      SELECT period INTO v_period FROM ledger_periods WHERE NEW.effective_at >= starts_at AND NEW.effective_at < ends_at LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'ledger period % is closed; journal % cannot be posted into it', v_period, NEW.idempotency_key
          USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_journals_open_period';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ledger_journals_open_period BEFORE INSERT ON ledger_journals
      FOR EACH ROW EXECUTE FUNCTION ledger_journals_open_period();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER ledger_journals_open_period ON ledger_journals; DROP FUNCTION ledger_journals_open_period();
    DROP TABLE ledger_periods;
    DROP TABLE government_allocations; DROP TABLE sponsor_receipts; DROP TABLE sponsor_invoices;
    ALTER TABLE match_distributions DROP COLUMN release_id;
    ALTER TABLE match_allocations DROP COLUMN released_minor; ALTER TABLE match_allocations DROP COLUMN release_id;
    ALTER TABLE donations DROP CONSTRAINT donations_released_once;
    ALTER TABLE donations DROP COLUMN released_minor; ALTER TABLE donations DROP COLUMN release_id;
    DROP TABLE pool_releases;
  `);
}
