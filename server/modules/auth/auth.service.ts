import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { isUniqueViolation } from '../../db/pg-errors.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import { DEMO_EMAIL_DOMAIN, PUBLISHED_DEMO_PASSWORD, PUBLISHED_DEMO_TOTP_SECRET } from './demo-secrets.js';
import { checkPassword, hashPassword } from './passwords.js';
import type { Principal, Role } from './roles.js';
import { tokensRepo } from './tokens.repo.js';
import { usersRepo, type UserBinding, type UserRow } from './users.repo.js';

/** Tokens and one-time links are long and random, so SHA-256 at rest is enough. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random API token: `sh_` plus 32 bytes of base64url. */
export const generateToken = (): string => `sh_${randomBytes(32).toString('base64url')}`;

const BOOTSTRAP_EMAIL = 'bootstrap@shanhui.local';
const INVITE_TTL_MS = 7 * 86_400_000;
const RESET_TTL_MS = 86_400_000;

/** The principal a user acts as. */
export function principalOf(u: UserRow, tokenId: number | null = null): Principal {
  return { userId: u.id, tokenId, role: u.role, streetId: u.street_id, organisationId: u.organisation_id, sponsorId: u.sponsor_id, name: `${u.display_name} <${u.email}>` };
}

/**
 * Accounts, passwords, one-time links and personal API tokens. A token acts as its user, with
 * the user's current role; a disabled user's tokens stop working.
 */
export function createAuthService(deps: { db: Knex }) {
  const { db } = deps;

  async function issueLink(purpose: 'invite' | 'reset', row: Record<string, unknown>, ttl: number): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    await usersRepo.insertInvitation(db, { ...row, purpose, token_hash: hashToken(token), expires_at: new Date(Date.now() + ttl) });
    return token;
  }

  return {
    /** Verifies a bearer token and returns its user's principal, or null. */
    async authenticate(token: string): Promise<Principal | null> {
      const row = await tokensRepo.findActiveByHash(db, hashToken(token));
      if (!row?.user_id) return null;
      const user = await usersRepo.find(db, row.user_id);
      if (!user || user.disabled_at || user.role === 'resident') return null;
      void tokensRepo.touch(db, row.id).catch(() => undefined);
      return principalOf(user, row.id);
    },

    /** Email and password; null for a wrong pair, a disabled user or an unfinished invitation. */
    async checkCredentials(email: string, password: string): Promise<UserRow | null> {
      const user = await usersRepo.findByEmail(db, email);
      const ok = await checkPassword(user?.password_hash ?? null, password);
      return ok && user && !user.disabled_at ? user : null;
    },

    findUser: (id: number) => usersRepo.find(db, id),

    /** Creates a user directly (seeds, tests, resident sign-up). */
    async createUser(input: UserBinding & { email: string; displayName: string; password?: string; totpSecret?: string }): Promise<UserRow> {
      try {
        return await usersRepo.insert(db, {
          email: input.email.trim().toLowerCase(), display_name: input.displayName, role: input.role,
          street_id: input.street_id ?? null, organisation_id: input.organisation_id ?? null, sponsor_id: input.sponsor_id ?? null,
          password_hash: input.password ? await hashPassword(input.password) : null,
          totp_secret: input.totpSecret ?? null, totp_enabled_at: input.totpSecret ? new Date() : null,
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError('email_taken', 'errors.email_taken');
        throw err;
      }
    },

    /** An admin invites a staff member; the one-time link is shown to the admin (there is no mail server). */
    async invite(createdBy: number, input: UserBinding & { email: string; displayName: string }): Promise<string> {
      if (await usersRepo.findByEmail(db, input.email)) throw new ConflictError('email_taken', 'errors.email_taken');
      return issueLink('invite', { email: input.email.trim().toLowerCase(), display_name: input.displayName, role: input.role, street_id: input.street_id ?? null, organisation_id: input.organisation_id ?? null, sponsor_id: input.sponsor_id ?? null, created_by: createdBy }, INVITE_TTL_MS);
    },

    /** An admin makes a one-time password reset link for a user. */
    async resetLink(createdBy: number, userId: number): Promise<string> {
      const user = await usersRepo.find(db, userId);
      if (!user) throw new NotFoundError('user');
      return issueLink('reset', { email: user.email, user_id: user.id, created_by: createdBy }, RESET_TTL_MS);
    },

    /** What a one-time link is for (to render its page), or null if used or expired. */
    linkInfo: (token: string) => usersRepo.findInvitation(db, hashToken(token)),

    /** Uses a one-time link: an invitation creates the user, a reset sets a new password. Each link works once. */
    async useLink(token: string, password: string): Promise<UserRow> {
      return db.transaction(async (trx) => {
        const link = await usersRepo.lockInvitation(trx, hashToken(token));
        if (!link) throw new ValidationError({ token: 'validation.link_invalid' });
        await usersRepo.useInvitation(trx, link.id);
        const password_hash = await hashPassword(password);
        if (link.purpose === 'reset') {
          await usersRepo.update(trx, link.user_id!, { password_hash });
          return (await usersRepo.find(trx, link.user_id!))!;
        }
        try {
          return await usersRepo.insert(trx, {
            email: link.email, display_name: link.display_name ?? link.email, role: link.role!, password_hash,
            street_id: link.street_id, organisation_id: link.organisation_id, sponsor_id: link.sponsor_id,
          });
        } catch (err) {
          if (isUniqueViolation(err)) throw new ConflictError('email_taken', 'errors.email_taken');
          throw err;
        }
      });
    },

    /**
     * Emails of accounts that still hold a secret README.md publishes: the demo TOTP key, or the
     * demo password on any staff account or demo address. Residents elsewhere are not checked (a
     * hash check each would slow the start), and no form accepts the published password.
     */
    async usersWithPublishedSecrets(): Promise<string[]> {
      const rows: Pick<UserRow, 'email' | 'password_hash' | 'totp_secret'>[] = await db('users')
        .where((w) => w.whereNot('role', 'resident').orWhereLike('email', `%${DEMO_EMAIL_DOMAIN}`).orWhere('totp_secret', PUBLISHED_DEMO_TOTP_SECRET))
        .whereNull('disabled_at')
        .select('email', 'password_hash', 'totp_secret');
      const exposed = await Promise.all(rows.map(async (u) => u.totp_secret === PUBLISHED_DEMO_TOTP_SECRET || (await checkPassword(u.password_hash, PUBLISHED_DEMO_PASSWORD))));
      return rows.filter((_, i) => exposed[i]).map((u) => u.email).sort();
    },

    async setPassword(userId: number, password: string): Promise<void> {
      await usersRepo.update(db, userId, { password_hash: await hashPassword(password) });
    },

    async enableTotp(userId: number, secret: string): Promise<void> {
      await usersRepo.update(db, userId, { totp_secret: secret, totp_enabled_at: new Date() });
    },

    async touchLogin(userId: number): Promise<void> {
      await usersRepo.update(db, userId, { last_login_at: new Date() });
    },

    /** Changes a user's role and binding, or disables/enables them. */
    async updateUser(userId: number, patch: Partial<UserBinding> & { disabled?: boolean; displayName?: string }): Promise<{ before: UserRow; after: UserRow }> {
      const before = await usersRepo.find(db, userId);
      if (!before) throw new NotFoundError('user');
      const next: Partial<UserRow> = {};
      if (patch.role) Object.assign(next, { role: patch.role, street_id: patch.street_id ?? null, organisation_id: patch.organisation_id ?? null, sponsor_id: patch.sponsor_id ?? null });
      if (patch.displayName) next.display_name = patch.displayName;
      if (patch.disabled !== undefined) next.disabled_at = patch.disabled ? new Date() : null;
      await usersRepo.update(db, userId, next);
      return { before, after: (await usersRepo.find(db, userId))! };
    },

    listUsers: (f: Parameters<typeof usersRepo.list>[1], page: number, perPage: number) => usersRepo.list(db, f, page, perPage),

    /** Issues a personal API token for a user and returns its value once; only the hash is kept. */
    async issueToken(input: { userId: number; label: string; token?: string }): Promise<{ id: number; token: string }> {
      const user = await usersRepo.find(db, input.userId);
      if (!user) throw new NotFoundError('user');
      const token = input.token ?? generateToken();
      if (user.role === 'resident') throw new ForbiddenError();
      const id = await tokensRepo.insert(db, { token_hash: hashToken(token), role: user.role, street_id: user.street_id, label: input.label, user_id: user.id });
      return { id, token };
    },

    listTokens: (userId: number) => tokensRepo.listForUser(db, userId),

    async revokeToken(userId: number, tokenId: number): Promise<boolean> {
      return (await tokensRepo.revoke(db, userId, tokenId)) > 0;
    },

    /**
     * Makes the bootstrap admin token exist, held by a bootstrap admin user. With no configured
     * value outside production, a fresh random one is issued and returned so it can be printed;
     * earlier bootstrap tokens are revoked.
     */
    async ensureBootstrapToken(configured: string | undefined, production: boolean): Promise<string | null> {
      if (!configured && production) return null;
      const user = (await usersRepo.findByEmail(db, BOOTSTRAP_EMAIL)) ?? (await usersRepo.insert(db, { email: BOOTSTRAP_EMAIL, display_name: 'Bootstrap admin', role: 'association_admin' as Role }));
      const token = configured ?? generateToken();
      await this.issueToken({ userId: user.id, label: 'bootstrap', token });
      await tokensRepo.revokeByLabelExcept(db, 'bootstrap', hashToken(token));
      return token;
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
