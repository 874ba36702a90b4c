import type { Knex } from 'knex';

/** Bearer API tokens, stored only as SHA-256 hashes. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_tokens (
      id           serial PRIMARY KEY,
      token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
      role         text NOT NULL CHECK (role IN ('association_admin','association_finance','street_officer','social_org','reviewer','auditor','sponsor')),
      street_id    integer REFERENCES streets(id),
      label        text NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at   timestamptz,
      CHECK (role <> 'street_officer' OR street_id IS NOT NULL)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_tokens');
}
