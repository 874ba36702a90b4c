import type { Knex } from 'knex';

/** District → streets (街道) → communities (社区), and each street's community fund (慈善基金). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('districts', (t) => {
    t.increments('id');
    t.text('code').notNullable().unique();
    t.text('name').notNullable();
    t.text('name_en');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('streets', (t) => {
    t.increments('id');
    t.integer('district_id').notNullable().references('districts.id');
    t.text('code').notNullable().unique();
    t.text('name').notNullable();
    t.text('name_en');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('communities', (t) => {
    t.increments('id');
    t.integer('street_id').notNullable().references('streets.id');
    t.text('code').notNullable().unique();
    t.text('name').notNullable();
    t.text('name_en');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('community_funds', (t) => {
    t.increments('id');
    t.integer('street_id').notNullable().references('streets.id');
    t.integer('community_id').references('communities.id');
    t.text('code').notNullable().unique();
    t.text('name').notNullable();
    t.text('name_en');
    t.text('status').notNullable().defaultTo('active');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE community_funds ADD CONSTRAINT community_funds_status_check CHECK (status IN ('active','closed'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('community_funds');
  await knex.schema.dropTable('communities');
  await knex.schema.dropTable('streets');
  await knex.schema.dropTable('districts');
}
