import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * A secret made once per installation and kept in PostgreSQL, so every process of the
 * installation (web and worker nodes) reads the same value and no secret is a constant in the
 * source. The first process to ask creates it; the others read what it wrote.
 */
export async function installationSecret(db: Knex, name: string, prefix = ''): Promise<string> {
  await db('installation_secrets').insert({ name, value: `${prefix}${randomBytes(32).toString('base64url')}` }).onConflict('name').ignore();
  return (await db('installation_secrets').where({ name }).first('value')).value as string;
}
