import type { Knex } from 'knex';

/** Secrets made once per installation (the sandbox's webhook signing secret), never constants in the source. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE installation_secrets (
      name       text PRIMARY KEY,
      value      text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE installation_secrets');
}
