import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { isUniqueViolation } from '../../db/pg-errors.js';
import { can, type Principal } from '../auth/index.js';

const PUBLIC = ['id', 'name', 'registration_no', 'registered_on', 'certificate_expires_on', 'rating', 'credit_status', 'annual_report_ok', 'verified_at', 'sanctioned_at', 'sanction_reason'];

/**
 * Social organisations as applicants (G-3): they register with their certificate details, staff
 * verify them against the registry, and record their credit standing as civil affairs publishes
 * it. Eligibility reads all of it when they apply.
 */
export function createOrganisations(deps: { db: Knex }) {
  const { db } = deps;
  return {
    async register(input: { name: string; registration_no: string; registered_on: Date; certificate_expires_on: Date; rating?: string; contact?: string }, userId: number | null) {
      try {
        const [row] = await db('organisations').insert({ ...input, rating: input.rating ?? null, contact: input.contact ?? null, registered_by: userId }).returning(PUBLIC);
        return row;
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError('organisation_exists', 'errors.already_exists');
        throw err;
      }
    },

    async verify(p: Principal, id: number) {
      if (!can(p, 'organisation.verify')) throw new ForbiddenError();
      const [row] = await db('organisations').where({ id }).update({ verified_at: db.fn.now(), verified_by: p.userId }).returning(PUBLIC);
      if (!row) throw new NotFoundError('organisation');
      return row;
    },

    async setStanding(p: Principal, id: number, s: { credit_status: string; annual_report_ok: boolean; rating?: string | null }) {
      if (!can(p, 'organisation.verify')) throw new ForbiddenError();
      const before = await db('organisations').where({ id }).first(PUBLIC);
      if (!before) throw new NotFoundError('organisation');
      const [after] = await db('organisations').where({ id }).update({ credit_status: s.credit_status, annual_report_ok: s.annual_report_ok, ...(s.rating !== undefined ? { rating: s.rating } : {}) }).returning(PUBLIC);
      return { before, after };
    },

    list: () => db('organisations').orderBy('id').select(PUBLIC),
  };
}

export type Organisations = ReturnType<typeof createOrganisations>;
