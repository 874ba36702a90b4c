import type { Knex } from 'knex';

/** Runs `fn` in a transaction, reusing `db` when it already is one (Directus's pattern). */
export async function withTransaction<T>(db: Knex | Knex.Transaction, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Knex.Transaction);
  return db.transaction(fn);
}

/** SQLSTATEs worth a bounded retry: serialization failure and deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Retries a whole transaction on serialization failures or deadlocks, with jitter. */
export async function withRetryingTransaction<T>(db: Knex, fn: (trx: Knex.Transaction) => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      if (i >= attempts || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 20));
    }
  }
}
