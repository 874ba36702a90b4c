import type { Knex } from 'knex';
import { waitForIdleQueues } from './db.js';
import { h } from './harness.js';

/**
 * Columns written as a side effect of reading, left out of the snapshot: an API token's
 * `last_used_at` is set on every authenticated request. (Reads write nothing else: no audit
 * entry, no counter.)
 */
const SIDE_EFFECTS: Record<string, string[]> = { api_tokens: ['last_used_at'] };
const NOT_BUSINESS = ['knex_migrations', 'knex_migrations_lock'];

/**
 * Every table's row count and an md5 over its rows, one line per table (`donations 3 9f…`), so
 * two snapshots are equal exactly when no row was added, changed or removed.
 */
export async function rowSnapshot(db: Knex = h().db): Promise<string> {
  await waitForIdleQueues();
  const tables: string[] = await db('pg_tables').where({ schemaname: 'public' }).whereNotIn('tablename', NOT_BUSINESS).orderBy('tablename').pluck('tablename');
  const lines = await Promise.all(tables.map(async (t) => {
    const { rows } = await db.raw(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS sum FROM (SELECT to_jsonb(x) - ?::text[] AS r FROM ?? x) s`,
      [SIDE_EFFECTS[t] ?? [], t],
    );
    return `${t} ${rows[0].n} ${rows[0].sum}`;
  }));
  return lines.join('\n');
}
