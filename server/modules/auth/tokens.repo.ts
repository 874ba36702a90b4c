import type { Knex } from 'knex';
import type { Role } from './roles.js';

export interface TokenRow {
  id: number;
  token_hash: string;
  role: Role;
  street_id: number | null;
  user_id: number | null;
  label: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** knex access to `api_tokens`. */
export const tokensRepo = {
  findActiveByHash(db: Knex, hash: string): Promise<TokenRow | undefined> {
    return db('api_tokens').where({ token_hash: hash }).whereNull('revoked_at').first();
  },
  async insert(db: Knex | Knex.Transaction, row: { token_hash: string; role: Role; street_id: number | null; label: string; user_id: number }): Promise<number> {
    const [r] = await db('api_tokens').insert(row).onConflict('token_hash').merge({ role: row.role, street_id: row.street_id, user_id: row.user_id, revoked_at: null }).returning('id');
    return r.id;
  },
  touch(db: Knex, id: number): Promise<number> {
    return db('api_tokens').where({ id }).update({ last_used_at: db.fn.now() });
  },
  listForUser(db: Knex, userId: number): Promise<TokenRow[]> {
    return db('api_tokens').where({ user_id: userId }).orderBy('id', 'desc').select('id', 'label', 'created_at', 'last_used_at', 'revoked_at');
  },
  revoke(db: Knex, userId: number, id: number): Promise<number> {
    return db('api_tokens').where({ id, user_id: userId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
  },
  revokeByLabelExcept(db: Knex, label: string, keepHash: string): Promise<number> {
    return db('api_tokens').where({ label }).whereNot({ token_hash: keepHash }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
  },
};
