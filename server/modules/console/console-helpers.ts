import type { Request, Response } from 'express';
import type { z } from 'zod';
import { issuesToFields } from '../../http/validation.js';
import { AppError, ForbiddenError } from '../../lib/errors.js';
import { auditContext } from '../audit/index.js';
import { can, type Action, type Subject } from '../auth/index.js';
import type { Container } from '../../container.js';

export { pagerLinks } from '../../http/pagination.js';

/** Throws 403 unless the signed-in principal may do this. */
export function allow(req: Request, action: Action, subject: Subject = {}): void {
  if (!can(req.principal, action, subject)) throw new ForbiddenError();
}

/** Parses a console form; on failure renders the view with 422 and field errors, returning null. */
export function formOr422<S extends z.ZodType>(req: Request, res: Response, schema: S, view: string, locals: Record<string, unknown>): z.infer<S> | null {
  const r = schema.safeParse(req.body ?? {});
  if (r.success) return r.data;
  res.status(422).render(view, { ...locals, values: req.body ?? {}, errors: issuesToFields(r.error.issues, req.t) });
  return null;
}

/** Appends an audit entry for a console write. */
export function audited(c: Container, req: Request, entry: Parameters<Container['audit']['record']>[1]): Promise<void> {
  return c.audit.record(auditContext(req), entry);
}

/** Shows a one-time message on the next page and redirects there. */
export function flashTo(req: Request, res: Response, to: string, text: string, kind: 'ok' | 'error' = 'ok', secret?: string): void {
  req.session.flash = [...(req.session.flash ?? []), { kind, text, ...(secret ? { secret } : {}) }];
  res.redirect(303, to);
}


/** The same URL as a CSV export (`/x?…` → `/x.csv?…`). */
export function csvHref(req: Request): string {
  const u = new URL(req.originalUrl, 'http://x');
  u.searchParams.delete('page');
  return `${u.pathname}.csv${u.search}`;
}

/**
 * Runs one console write: on success it is audited and the browser is sent to `to` with a saved
 * message; a refusal (a 4xx other than 403) re-renders the page through `again` with the field
 * errors and the message, 422 for bad input. Anything else propagates to the error handler.
 */
export async function consoleStep(c: Container, req: Request, res: Response, step: { action: string; subjectType: string; subjectId: string | number; to: string; again: (status: number, errors: Record<string, string>) => Promise<void> }, run: () => Promise<unknown>): Promise<void> {
  try {
    const out = await run();
    await audited(c, req, { action: step.action, subjectType: step.subjectType, subjectId: step.subjectId, after: out });
    flashTo(req, res, step.to, req.t('console.saved'));
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500 || err.status === 403) throw err;
    await step.again(err.status === 400 ? 422 : err.status, { ...(err.fields ?? {}), _: req.t(err.message, err.params) });
  }
}
