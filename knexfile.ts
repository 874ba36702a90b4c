import type { Knex } from 'knex';

/** knex settings for the CLI and for `server/db/knex.ts`. Migrations are TypeScript under ESM. */
export function knexConfig(databaseUrl: string, poolMax = 10): Knex.Config {
  return {
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: poolMax },
    migrations: { directory: new URL('./migrations', import.meta.url).pathname, extension: 'ts', loadExtensions: ['.ts'] },
  };
}

export default knexConfig(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shanhui');
