import type { Knex } from 'knex';

/** An account's rules (may it go negative, its lock rank, its owner) are part of its identity too. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION ledger_accounts_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.code <> OLD.code OR NEW.currency <> OLD.currency OR NEW.type <> OLD.type
         OR NEW.normal_balance <> OLD.normal_balance OR NEW.tracks_balance <> OLD.tracks_balance
         OR NEW.allow_negative <> OLD.allow_negative OR NEW.lock_rank <> OLD.lock_rank
         OR NEW.owner_type IS DISTINCT FROM OLD.owner_type OR NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
        RAISE EXCEPTION 'ledger account % identity is immutable', OLD.code USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION ledger_accounts_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.code <> OLD.code OR NEW.currency <> OLD.currency OR NEW.type <> OLD.type
         OR NEW.normal_balance <> OLD.normal_balance OR NEW.tracks_balance <> OLD.tracks_balance THEN
        RAISE EXCEPTION 'ledger account % identity is immutable', OLD.code USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$;
  `);
}
