import type { Knex } from 'knex';

export interface StreetRow { id: number; district_id: number; code: string; name: string; name_en: string | null }

/** knex access to districts, streets and communities. */
export const geoRepo = {
  async insertDistrict(db: Knex | Knex.Transaction, d: { code: string; name: string; name_en?: string }): Promise<number> {
    const [r] = await db('districts').insert(d).returning('id');
    return r.id;
  },
  async insertStreet(db: Knex | Knex.Transaction, s: { district_id: number; code: string; name: string; name_en?: string }): Promise<number> {
    const [r] = await db('streets').insert(s).returning('id');
    return r.id;
  },
  async insertCommunity(db: Knex | Knex.Transaction, c: { street_id: number; code: string; name: string; name_en?: string }): Promise<number> {
    const [r] = await db('communities').insert(c).returning('id');
    return r.id;
  },
  findStreet(db: Knex | Knex.Transaction, id: number): Promise<StreetRow | undefined> {
    return db('streets').where({ id }).first();
  },
  listStreets(db: Knex): Promise<StreetRow[]> {
    return db('streets').orderBy('id');
  },
};
