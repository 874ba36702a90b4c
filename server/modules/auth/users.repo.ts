import type { Knex } from 'knex';
import type { Role } from './roles.js';

type Db = Knex | Knex.Transaction;

export interface UserRow {
  id: number; email: string; display_name: string; password_hash: string | null; role: Role;
  street_id: number | null; organisation_id: number | null; sponsor_id: number | null;
  totp_secret: string | null; totp_enabled_at: Date | null; disabled_at: Date | null; last_login_at: Date | null; created_at: Date;
}

export interface UserBinding { role: Role; street_id?: number | null; organisation_id?: number | null; sponsor_id?: number | null }

export interface InvitationRow {
  id: number; token_hash: string; purpose: 'invite' | 'reset'; email: string; user_id: number | null; role: Role | null;
  street_id: number | null; organisation_id: number | null; sponsor_id: number | null; display_name: string | null;
  created_by: number; expires_at: Date; used_at: Date | null;
}

/** knex access to users, invitations and reset links. */
export const usersRepo = {
  find: (db: Db, id: number): Promise<UserRow | undefined> => db('users').where({ id }).first(),
  findByEmail: (db: Db, email: string): Promise<UserRow | undefined> => db('users').where({ email: email.trim().toLowerCase() }).first(),
  async insert(db: Db, row: Partial<UserRow>): Promise<UserRow> {
    const [u] = await db('users').insert(row).returning('*');
    return u;
  },
  async update(db: Db, id: number, patch: Partial<UserRow>): Promise<void> {
    await db('users').where({ id }).update(patch);
  },
  async list(db: Knex, f: { role?: string; street?: number; q?: string; disabled?: boolean }, page: number, perPage: number): Promise<{ rows: UserRow[]; total: number }> {
    const base = () => {
      const q = db('users');
      if (f.role) q.where('role', f.role);
      if (f.street) q.where('street_id', f.street);
      if (f.disabled !== undefined) (f.disabled ? q.whereNotNull('disabled_at') : q.whereNull('disabled_at'));
      if (f.q) q.where((w) => w.whereILike('email', `%${f.q!.replace(/[%_\\]/g, '\\$&')}%`).orWhereILike('display_name', `%${f.q!.replace(/[%_\\]/g, '\\$&')}%`));
      return q;
    };
    const [{ n }] = await base().count({ n: '*' });
    return { rows: await base().orderBy('id').limit(perPage).offset((page - 1) * perPage), total: Number(n) };
  },
  async insertInvitation(db: Db, row: Partial<InvitationRow>): Promise<InvitationRow> {
    const [r] = await db('user_invitations').insert(row).returning('*');
    return r;
  },
  /** An unused, unexpired link by its hash, locked so it is used once. */
  lockInvitation: (trx: Knex.Transaction, hash: string): Promise<InvitationRow | undefined> =>
    trx('user_invitations').where({ token_hash: hash }).whereNull('used_at').where('expires_at', '>', new Date()).forUpdate().first(),
  findInvitation: (db: Db, hash: string): Promise<InvitationRow | undefined> =>
    db('user_invitations').where({ token_hash: hash }).whereNull('used_at').where('expires_at', '>', new Date()).first(),
  async useInvitation(trx: Knex.Transaction, id: number): Promise<void> {
    await trx('user_invitations').where({ id }).update({ used_at: trx.fn.now() });
  },
};
