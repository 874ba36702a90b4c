import { AppError, ConflictError } from '../lib/errors.js';

interface PgError { code?: string; constraint?: string; detail?: string }

/** True when `err` is a PostgreSQL unique violation, optionally on a given constraint. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as PgError;
  return e?.code === '23505' && (!constraint || e.constraint === constraint);
}

/** Maps PostgreSQL errors callers can act on to AppErrors; anything else is rethrown as is. */
export function mapPgError(err: unknown): unknown {
  const e = err as PgError;
  if (e?.code === '23505') return new ConflictError('already_exists', 'errors.already_exists');
  if (e?.code === '23503') return new AppError(400, 'invalid_reference', 'errors.invalid_reference');
  return err;
}
