/** How long a client is asked to wait before trying again while a backing service is down, in seconds. */
export const OUTAGE_RETRY_AFTER_SECONDS = 10;

const PG_CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** pg's own messages for a lost connection; knex puts the failed SQL and ` - ` before them. */
const DATABASE_MESSAGES = /(^|- )(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect|Timeout acquiring a connection)/;
const REDIS_MESSAGES = /enableOfflineQueue|^Connection is closed|max retries per request|^Stream isn't writeable/i;

/**
 * Which backing service an error says is unreachable, or null for any other error: PostgreSQL
 * refusing or dropping connections (SQLSTATE class 08, shutdown and start-up codes, socket
 * errors, an exhausted pool), or Redis with no connection (the fail-fast client refuses at once).
 * Such a request changed nothing it could not finish, and is worth retrying: 503, not 500.
 */
export function outageOf(err: unknown, depth = 0): 'database' | 'redis' | null {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return null;
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.test(message)) return 'redis';
  if (e.name === 'KnexTimeoutError' || DATABASE_MESSAGES.test(message)) return 'database';
  if (typeof e.code === 'string' && (e.code.startsWith('08') || PG_CONNECTION_CODES.has(e.code))) return 'database';
  return depth < 3 ? outageOf(e.cause, depth + 1) : null;
}
