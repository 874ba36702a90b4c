import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface FundRow {
  id: number; street_id: number; community_id: number | null; code: string; name: string; name_en: string | null; status: string;
  dormant_since: Date | null; last_activity_at: Date | null;
}

export interface AgreementRow {
  id: number; fund_id: number; purpose: string; management_fee_bp: number; surplus_disposal: string; signed_on: Date; signatories: string;
  created_at: Date; superseded_at: Date | null;
}

export interface CommitteeMemberRow { id: number; fund_id: number; name: string; role: 'chair' | 'member' | 'supervisor'; affiliation: string | null; unpaid: boolean }

/** knex access to community funds, their agreements and committees. */
export const fundsRepo = {
  async insert(db: Db, f: { street_id: number; community_id?: number | null; code: string; name: string; name_en?: string }): Promise<FundRow> {
    const [row] = await db('community_funds').insert(f).returning('*');
    return row;
  },
  find(db: Db, id: number): Promise<FundRow | undefined> {
    return db('community_funds').where({ id }).first();
  },
  /** The street-level fund (no community) of a street. */
  findStreetFund(db: Db, streetId: number): Promise<FundRow | undefined> {
    return db('community_funds').where({ street_id: streetId, status: 'active' }).whereNull('community_id').orderBy('id').first();
  },
  currentAgreement(db: Db, fundId: number): Promise<AgreementRow | undefined> {
    return db('fund_agreements').where({ fund_id: fundId }).whereNull('superseded_at').first();
  },
  /** Supersedes the fund's agreement (if any) and records the new one. */
  async replaceAgreement(trx: Knex.Transaction, fundId: number, a: Omit<AgreementRow, 'id' | 'fund_id' | 'created_at' | 'superseded_at'> & { created_by: number | null }): Promise<AgreementRow> {
    await trx('fund_agreements').where({ fund_id: fundId }).whereNull('superseded_at').update({ superseded_at: trx.fn.now() });
    const [row] = await trx('fund_agreements').insert({ fund_id: fundId, ...a }).returning('*');
    return row;
  },
  committee(db: Db, fundId: number): Promise<CommitteeMemberRow[]> {
    return db('fund_committee_members').where({ fund_id: fundId }).orderByRaw("CASE role WHEN 'chair' THEN 0 WHEN 'member' THEN 1 ELSE 2 END, id");
  },
  async replaceCommittee(trx: Knex.Transaction, fundId: number, members: Omit<CommitteeMemberRow, 'id' | 'fund_id'>[]): Promise<void> {
    await trx('fund_committee_members').where({ fund_id: fundId }).del();
    if (members.length) await trx('fund_committee_members').insert(members.map((m) => ({ fund_id: fundId, ...m })));
  },
  /** Funds with their street, current agreement and committee counts, for lists. */
  list(db: Db, f: { streetId?: number; dormant?: boolean }) {
    const q = db('community_funds as f')
      .join('streets as s', 's.id', 'f.street_id')
      .leftJoin('fund_agreements as a', (j) => j.on('a.fund_id', 'f.id').andOnNull('a.superseded_at'))
      .select(
        'f.*', 's.name as street_name', 's.name_en as street_name_en', 'a.id as agreement_id', 'a.management_fee_bp',
        db.raw("(SELECT count(*) FROM fund_committee_members m WHERE m.fund_id = f.id AND m.role <> 'supervisor')::int AS voting_members"),
        db.raw("(SELECT count(*) FROM fund_committee_members m WHERE m.fund_id = f.id AND m.role = 'supervisor')::int AS supervisors"),
      )
      .orderBy('f.id');
    if (f.streetId) q.where('f.street_id', f.streetId);
    if (f.dormant !== undefined) q.where((w) => (f.dormant ? w.whereNotNull('f.dormant_since') : w.whereNull('f.dormant_since')));
    return q;
  },
};
