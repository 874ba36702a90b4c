import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { can, type Principal } from '../auth/index.js';
import type { CallRow } from './calls.js';

/**
 * The public notice of a shortlist (G-7): anyone may comment or object while it runs; an open
 * objection blocks the award until staff answer it with a reply, which is published with it.
 */
export function createNotices(deps: { db: Knex }) {
  const { db } = deps;
  return {
    async object(call: CallRow, input: { application?: number; author: string; contact?: string; body: string }, now = new Date()) {
      if (call.status !== 'notice' || !call.notice_ends_at || now >= call.notice_ends_at) throw new ConflictError('notice_not_running', 'errors.notice_not_running');
      if (input.application && !(await db('applications').where({ id: input.application, call_id: call.id }).first('id'))) throw new NotFoundError('application');
      const [row] = await db('objections').insert({ call_id: call.id, application_id: input.application ?? null, author: input.author, contact: input.contact ?? null, body: input.body }).returning(['id', 'status', 'created_at']);
      return row;
    },

    async reply(p: Principal, objectionId: number, reply: string) {
      const o = await db('objections as o').join('calls as c', 'c.id', 'o.call_id').where('o.id', objectionId).first('o.*', 'c.street_id');
      if (!o) throw new NotFoundError('objection');
      if (!can(p, 'objection.reply', { streetId: o.street_id })) throw new ForbiddenError();
      if (o.status !== 'open') throw new ConflictError('objection_answered', 'errors.objection_answered');
      // Only an open objection is answered: of two replies sent at once, the second is refused.
      const [row] = await db('objections').where({ id: objectionId, status: 'open' }).update({ status: 'resolved', reply, replied_by: p.userId, replied_at: db.fn.now() }).returning('*');
      if (!row) throw new ConflictError('objection_answered', 'errors.objection_answered');
      return { before: o, after: row };
    },

    /** Every objection with its reply (public: contacts are never shown). */
    ofCall: (callId: number) => db('objections').where({ call_id: callId }).orderBy('id').select('id', 'application_id', 'author', 'body', 'status', 'reply', 'replied_at', 'created_at'),

    openCount: async (callId: number) => Number((await db('objections').where({ call_id: callId, status: 'open' }).count({ n: '*' }).first())!.n),
  };
}

export type Notices = ReturnType<typeof createNotices>;
