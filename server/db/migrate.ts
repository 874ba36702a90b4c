import type { Knex } from 'knex';
import { ensureDatabase } from './ensure-database.js';

/** Creates the database if missing, then applies every pending migration. */
export async function prepareDatabase(databaseUrl: string, db: Knex): Promise<{ created: boolean; applied: string[] }> {
  const created = await ensureDatabase(databaseUrl);
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return { created, applied };
}
