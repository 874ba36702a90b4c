import type { Knex } from 'knex';

/**
 * The double-entry ledger. The database itself enforces:
 * - every journal balances per currency (deferred constraint triggers, checked at COMMIT);
 * - journals and entries are append-only (triggers block UPDATE and DELETE);
 * - restricted accounts never go negative (`CHECK (allow_negative OR balance >= 0)`);
 * - one journal per idempotency key (UNIQUE);
 * - an entry's currency is its account's currency (composite foreign key).
 * Sign convention: a positive entry amount is a debit, a negative one a credit (as in Beancount).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ledger_accounts (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      code            text NOT NULL UNIQUE,
      name            text NOT NULL,
      type            text NOT NULL CHECK (type IN ('asset','liability','net_assets','revenue','expense')),
      normal_balance  text NOT NULL CHECK (normal_balance IN ('debit','credit')),
      currency        char(3) NOT NULL,
      allow_negative  boolean NOT NULL DEFAULT false,
      tracks_balance  boolean NOT NULL DEFAULT true,
      lock_rank       smallint NOT NULL DEFAULT 0,
      balance         bigint NOT NULL DEFAULT 0,
      version         bigint NOT NULL DEFAULT 0,
      owner_type      text,
      owner_id        text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT ledger_accounts_balance_check CHECK (allow_negative OR balance >= 0),
      CONSTRAINT ledger_accounts_derived_check CHECK (tracks_balance OR (allow_negative AND balance = 0)),
      CONSTRAINT ledger_accounts_id_currency UNIQUE (id, currency)
    );
    CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_type, owner_id);

    CREATE TABLE ledger_journals (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      idempotency_key text NOT NULL CONSTRAINT ledger_journals_idempotency_key UNIQUE,
      kind            text NOT NULL,
      effective_at    timestamptz NOT NULL,
      memo            text,
      donation_id     uuid,
      refs            jsonb NOT NULL DEFAULT '{}',
      reverses_id     bigint UNIQUE REFERENCES ledger_journals(id),
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ledger_journals_donation ON ledger_journals (donation_id) WHERE donation_id IS NOT NULL;
    CREATE INDEX ledger_journals_kind ON ledger_journals (kind, effective_at);

    CREATE TABLE ledger_entries (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      journal_id      bigint NOT NULL REFERENCES ledger_journals(id),
      account_id      bigint NOT NULL,
      currency        char(3) NOT NULL,
      amount          bigint NOT NULL CONSTRAINT ledger_entries_nonzero CHECK (amount <> 0),
      balance_after   bigint,
      account_version bigint,
      CONSTRAINT ledger_entries_account FOREIGN KEY (account_id, currency) REFERENCES ledger_accounts (id, currency),
      CONSTRAINT ledger_entries_one_leg_per_account UNIQUE (journal_id, account_id)
    );
    CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);

    CREATE FUNCTION ledger_assert_journal_balanced(p_journal bigint) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE bad record;
    BEGIN
      SELECT currency, sum(amount) AS total INTO bad FROM ledger_entries
        WHERE journal_id = p_journal GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'ledger journal % does not balance in % (off by %)', p_journal, bad.currency, bad.total
          USING ERRCODE = 'check_violation';
      END IF;
    END $$;

    CREATE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM ledger_assert_journal_balanced(NEW.journal_id); RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entries_balanced();

    CREATE FUNCTION ledger_journals_complete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT count(*) FROM ledger_entries WHERE journal_id = NEW.id) < 2 THEN
        RAISE EXCEPTION 'ledger journal % has fewer than two entries', NEW.id USING ERRCODE = 'check_violation';
      END IF;
      PERFORM ledger_assert_journal_balanced(NEW.id);
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER ledger_journals_complete AFTER INSERT ON ledger_journals
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_journals_complete();

    CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only (% blocked); post a reversing journal instead', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
    CREATE TRIGGER ledger_journals_append_only BEFORE UPDATE OR DELETE ON ledger_journals
      FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

    -- Account identity never changes once created; only the cached balance and version move.
    CREATE FUNCTION ledger_accounts_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.code <> OLD.code OR NEW.currency <> OLD.currency OR NEW.type <> OLD.type
         OR NEW.normal_balance <> OLD.normal_balance OR NEW.tracks_balance <> OLD.tracks_balance THEN
        RAISE EXCEPTION 'ledger account % identity is immutable', OLD.code USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ledger_accounts_immutable BEFORE UPDATE ON ledger_accounts
      FOR EACH ROW EXECUTE FUNCTION ledger_accounts_immutable();
    CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
      FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE ledger_entries; DROP TABLE ledger_journals; DROP TABLE ledger_accounts;
    DROP FUNCTION ledger_entries_balanced(); DROP FUNCTION ledger_journals_complete();
    DROP FUNCTION ledger_assert_journal_balanced(bigint); DROP FUNCTION ledger_append_only();
    DROP FUNCTION ledger_accounts_immutable();
  `);
}
