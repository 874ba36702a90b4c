import type { Request } from 'express';
import type { Knex } from 'knex';
import type { Principal } from '../auth/index.js';

/** Who acted and from where, taken from the request. */
export interface AuditContext {
  principal: Principal;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export function auditContext(req: Request, principal = req.principal): AuditContext {
  if (!principal) throw new Error('audit needs a principal');
  return { principal, ip: req.ip ?? null, userAgent: req.get('User-Agent')?.slice(0, 300) ?? null, requestId: String(req.id ?? '') || null };
}

export interface AuditEntry {
  action: string;
  subjectType: string;
  subjectId?: string | number | null;
  before?: unknown;
  after?: unknown;
}

const SECRET_KEYS = new Set(['password_hash', 'totp_secret', 'token_hash', 'client_secret', 'password', 'token']);

/** Drops secrets from a snapshot before it is logged. */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k) ? '[redacted]' : redact(v)]));
  }
  return value;
}

export interface AuditFilter { actor?: number; action?: string; subjectType?: string; subjectId?: string; from?: Date; to?: Date }

function filtered(db: Knex, f: AuditFilter) {
  const q = db('audit_log');
  if (f.actor) q.where('actor_user_id', f.actor);
  if (f.action) q.where('action', 'like', `${f.action.replace(/[%_\\]/g, '\\$&')}%`);
  if (f.subjectType) q.where('subject_type', f.subjectType);
  if (f.subjectId) q.where('subject_id', f.subjectId);
  if (f.from) q.where('at', '>=', f.from);
  if (f.to) q.where('at', '<', f.to);
  return q;
}

/** The append-only audit log of staff actions (a trigger refuses UPDATE and DELETE). */
export function createAudit(deps: { db: Knex }) {
  return {
    /** Appends one entry; inside `trx` when given, so it commits with the change it records. */
    async record(ctx: AuditContext, e: AuditEntry, trx?: Knex.Transaction): Promise<void> {
      await (trx ?? deps.db)('audit_log').insert({
        actor_user_id: ctx.principal.userId,
        actor_label: ctx.principal.name,
        action: e.action,
        subject_type: e.subjectType,
        subject_id: e.subjectId === undefined || e.subjectId === null ? null : String(e.subjectId),
        before: e.before === undefined ? null : JSON.stringify(redact(e.before)),
        after: e.after === undefined ? null : JSON.stringify(redact(e.after)),
        ip: ctx.ip,
        user_agent: ctx.userAgent,
        request_id: ctx.requestId,
      });
    },

    async search(f: AuditFilter, page: number, perPage: number) {
      const [{ n }] = await filtered(deps.db, f).count({ n: '*' });
      const rows = await filtered(deps.db, f).orderBy('id', 'desc').limit(perPage).offset((page - 1) * perPage);
      return { rows, total: Number(n) };
    },

    /** Up to `limit` matching entries, newest first, for CSV export. */
    all: (f: AuditFilter, limit = 50_000) => filtered(deps.db, f).orderBy('id', 'desc').limit(limit),
  };
}

export type Audit = ReturnType<typeof createAudit>;
