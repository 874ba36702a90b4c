import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { isUniqueViolation } from '../../db/pg-errors.js';
import { can, type Principal } from '../auth/index.js';

export const APPROVAL_KINDS = ['refund', 'grant_activation', 'adjustment', 'award', 'disbursement', 'exception_resolution', 'expense'] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

export interface ApprovalRow {
  id: number; kind: ApprovalKind; subject_type: string; subject_id: string; payload: Record<string, unknown>;
  status: 'pending' | 'approved' | 'rejected' | 'failed'; requested_by: number; requested_at: Date;
  decided_by: number | null; decided_at: Date | null; note: string | null; result: unknown;
}

/** Carries out an approved request; its result is stored on the approval. `onNotCarriedOut` undoes what asking set up, on a rejection or a failed execution. */
export type Executor = (a: ApprovalRow, approver: Principal) => Promise<unknown>;

/**
 * Four-eyes: refunds, grant activations, adjusting journals (reconciliation resolutions too),
 * awards and disbursements are
 * requested by one person and carried out only when a different person approves. The database
 * enforces it too (`approvals_four_eyes`: decided_by <> requested_by). One pending request per
 * subject and kind.
 */
export function createApprovals(deps: { db: Knex; log: Logger; executors: Partial<Record<ApprovalKind, Executor>>; onNotCarriedOut?: Partial<Record<ApprovalKind, (a: ApprovalRow) => Promise<void>>> }) {
  const { db } = deps;

  return {
    async request(p: Principal, kind: ApprovalKind, subjectType: string, subjectId: string | number, payload: Record<string, unknown>): Promise<ApprovalRow> {
      if (!p.userId) throw new ForbiddenError('errors.needs_user');
      try {
        const [row] = await db('approvals').insert({ kind, subject_type: subjectType, subject_id: String(subjectId), payload: JSON.stringify(payload), requested_by: p.userId }).returning('*');
        return row;
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError('approval_pending', 'errors.approval_pending');
        throw err;
      }
    },

    /** Approves (and carries out) or rejects a pending request. The requester can do neither. */
    async decide(p: Principal, id: number, decision: 'approve' | 'reject', note?: string): Promise<ApprovalRow> {
      const decided = await db.transaction(async (trx) => {
        const a: ApprovalRow | undefined = await trx('approvals').where({ id }).forUpdate().first();
        if (!a) throw new NotFoundError('approval');
        if (!can(p, 'approval.decide', { kind: a.kind })) throw new ForbiddenError();
        if (a.requested_by === p.userId) throw new ForbiddenError('errors.four_eyes');
        if (a.status !== 'pending') throw new ConflictError('approval_decided', 'errors.approval_decided');
        const [row] = await trx('approvals').where({ id }).update({ status: decision === 'approve' ? 'approved' : 'rejected', decided_by: p.userId, decided_at: trx.fn.now(), note: note ?? null }).returning('*');
        return row as ApprovalRow;
      });
      const undo = deps.onNotCarriedOut?.[decided.kind];
      if (decided.status !== 'approved') {
        await undo?.(decided);
        return decided;
      }
      const execute = deps.executors[decided.kind];
      if (!execute) return decided;
      try {
        const result = await execute(decided, p);
        const [row] = await db('approvals').where({ id }).update({ result: JSON.stringify(result ?? null) }).returning('*');
        return row;
      } catch (err) {
        deps.log.warn({ err, approval: id }, 'approved request failed to execute');
        const [row] = await db('approvals').where({ id }).update({ status: 'failed', result: JSON.stringify({ error: (err as Error).message }) }).returning('*');
        await undo?.(row);
        return row;
      }
    },

    get: async (id: number): Promise<ApprovalRow> => {
      const a = await db('approvals').where({ id }).first();
      if (!a) throw new NotFoundError('approval');
      return a;
    },

    pendingFor: (kind: ApprovalKind, subjectType: string, subjectId: string | number): Promise<ApprovalRow | undefined> =>
      db('approvals').where({ kind, subject_type: subjectType, subject_id: String(subjectId), status: 'pending' }).first(),

    async list(f: { status?: string; kind?: string }, page: number, perPage: number) {
      const base = () => {
        const q = db('approvals as a').join('users as u', 'u.id', 'a.requested_by').leftJoin('users as d', 'd.id', 'a.decided_by');
        if (f.status) q.where('a.status', f.status);
        if (f.kind) q.where('a.kind', f.kind);
        return q;
      };
      const [{ n }] = await base().count({ n: '*' });
      const rows = await base().select('a.*', 'u.display_name as requester', 'd.display_name as decider').orderBy('a.id', 'desc').limit(perPage).offset((page - 1) * perPage);
      return { rows, total: Number(n) };
    },
  };
}

export type Approvals = ReturnType<typeof createApprovals>;
