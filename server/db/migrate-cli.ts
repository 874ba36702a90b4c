import { loadConfig } from '../config.js';
import { loadDotEnv } from '../lib/dotenv.js';
import { createDb } from './knex.js';
import { prepareDatabase } from './migrate.js';

/** `npm run migrate`: create the database if needed and migrate to the latest version. */
loadDotEnv();
const config = loadConfig();
const db = createDb(config.DATABASE_URL, 2);
try {
  const { created, applied } = await prepareDatabase(config.DATABASE_URL, db);
  console.log(`${created ? 'created database; ' : ''}${applied.length ? `applied ${applied.join(', ')}` : 'already up to date'}`);
} finally {
  await db.destroy();
}
