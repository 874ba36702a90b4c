import pg from 'pg';

/**
 * Creates the database named in `databaseUrl` if it does not exist, by connecting to the
 * server's `postgres` maintenance database. Safe to run concurrently: a lost race is ignored.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`refusing to create a database with the name ${JSON.stringify(name)}`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === '42P04') return false; // created meanwhile
      throw err;
    }
  } finally {
    await client.end();
  }
}
