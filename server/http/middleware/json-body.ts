import express, { type Request, type RequestHandler } from 'express';
import { ValidationError } from '../../lib/errors.js';
import { brokenTextFields } from './input-guard.js';

/** A body's problem, held until the route has decided whether the caller may act at all. */
const deferred = new WeakMap<Request, unknown>();

/**
 * Parses JSON bodies for the API, but holds back what is wrong with one (not JSON, too large,
 * text PostgreSQL cannot store): authorization comes first, so an anonymous or
 * unauthorised caller gets its 401/403 and never a 400 about the body. The problem is raised by
 * `permit()` once the caller has passed, or by any read of `req.body` (public routes), so a
 * broken body can never be used by mistake.
 */
export function jsonBody(opts: Parameters<typeof express.json>[0]): RequestHandler {
  const parse = express.json(opts);
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      const status = (err as { status?: number } | undefined)?.status;
      if (err && !(status && status >= 400 && status < 500)) return next(err);
      const problem = err ?? bodyProblem(req);
      if (problem) holdBack(req, problem);
      next();
    });
  };
}

/** Text PostgreSQL cannot store anywhere in the parsed body, as a 400 naming each field. */
function bodyProblem(req: Request): ValidationError | undefined {
  const fields = brokenTextFields(req.body, req.t);
  return Object.keys(fields).length ? new ValidationError(fields) : undefined;
}

/** Replaces `req.body` by a getter that throws `problem`; assigning a new body lifts it. */
function holdBack(req: Request, problem: unknown): void {
  deferred.set(req, problem);
  Object.defineProperty(req, 'body', {
    configurable: true,
    enumerable: true,
    get() {
      throw problem;
    },
    set(value: unknown) {
      deferred.delete(req);
      Object.defineProperty(req, 'body', { configurable: true, enumerable: true, writable: true, value });
    },
  });
}

/** What was wrong with the body, if anything: `permit()` passes it to `next` after its check. */
export function heldBodyProblem(req: Request): unknown {
  return deferred.get(req);
}
