import type { Knex } from 'knex';

export interface FundRow { id: number; street_id: number; community_id: number | null; code: string; name: string; name_en: string | null; status: string }

/** knex access to community funds. */
export const fundsRepo = {
  async insert(db: Knex | Knex.Transaction, f: { street_id: number; community_id?: number | null; code: string; name: string; name_en?: string }): Promise<FundRow> {
    const [row] = await db('community_funds').insert(f).returning('*');
    return row;
  },
  find(db: Knex | Knex.Transaction, id: number): Promise<FundRow | undefined> {
    return db('community_funds').where({ id }).first();
  },
  /** The street-level fund (no community) of a street. */
  findStreetFund(db: Knex | Knex.Transaction, streetId: number): Promise<FundRow | undefined> {
    return db('community_funds').where({ street_id: streetId, status: 'active' }).whereNull('community_id').orderBy('id').first();
  },
};
