import knex, { type Knex } from 'knex';
import pg from 'pg';
import { knexConfig } from '../../knexfile.js';
import { toMinor } from '../lib/money.js';

/**
 * int8 (OID 20) is read back in exactly one place: as a JS number behind a safe-integer guard,
 * so an amount beyond 2^53 throws instead of silently losing fen.
 */
pg.types.setTypeParser(20, (v: string) => toMinor(v));

/** Creates the process's knex pool. */
export function createDb(databaseUrl: string, poolMax: number): Knex {
  return knex(knexConfig(databaseUrl, poolMax));
}

export type { Knex };
