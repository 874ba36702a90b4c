import type { Request, RequestHandler } from 'express';
import { ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import { textProblem } from '../schemas.js';

const MAX_FIELDS = 20;

/** A place in a body: its key and the place holding it, so a path is spelled out only when needed. */
interface Place { key: string; parent: Place | null }

/** `donor.name`; past 32 levels only the first 32 are spelled out, then `…`. */
const spell = (p: Place | null): string => {
  const keys: string[] = [];
  for (let at = p; at; at = at.parent) keys.push(at.key);
  keys.reverse();
  return (keys.length > 32 ? [...keys.slice(0, 32), '…'] : keys).join('.') || '_';
};

/**
 * Every place in `value` holding text PostgreSQL cannot store (a NUL or a lone surrogate, in a
 * key or a string), as `{ "donor.name": message }`: the same dotted names zod gives, so the
 * answer reads like a schema's. Walks with its own stack and links each place to its parent, so
 * a deeply nested body costs linear time and cannot overflow the call stack; stops after 20 fields.
 */
export function brokenTextFields(value: unknown, t: Translate): Record<string, string> {
  const fields: Record<string, string> = {};
  const stack: [unknown, Place | null][] = [[value, null]];
  while (stack.length && Object.keys(fields).length < MAX_FIELDS) {
    const [v, place] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) fields[spell(place)] ??= t(problem);
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const here = { key: k, parent: place };
        const problem = textProblem(k);
        if (problem) fields[spell(here)] ??= t(problem);
        else stack.push([child, here]);
      }
    }
  }
  return fields;
}

/** Throws a 400 when `fields` names anything. */
function rejectIf(fields: Record<string, string>): void {
  if (Object.keys(fields).length) throw new ValidationError(fields);
}

/** True for the JSON API, whose path parameters each route checks by name (`pathId`, `pathName`). */
const isApi = (req: Request) => req.path.startsWith('/api/') || req.path.startsWith('/webhooks/');

/**
 * The net under the per-schema checks, for every request: a path with broken percent-encoding
 * (which Express would otherwise fail on with a 500), and any query value holding a NUL or a lone
 * surrogate, is a 400 with `fields`. On pages a NUL in the path is refused here too; API routes
 * name the parameter themselves. Bodies are checked once parsed: `formGuard` for forms,
 * `jsonBody` for the API (after authorization).
 */
export const inputGuard: RequestHandler = (req, _res, next) => {
  const fields: Record<string, string> = {};
  for (const segment of req.path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      fields.path = req.t('validation.url_encoding');
      break;
    }
    const problem = isApi(req) ? null : textProblem(decoded);
    if (problem) fields.path ??= req.t(problem);
  }
  Object.assign(fields, brokenTextFields(req.query, req.t));
  rejectIf(fields);
  next();
};

/** For pages: a parsed form body holding a NUL or a lone surrogate gets the 400 error page, not a 500. */
export const formGuard: RequestHandler = (req, _res, next) => {
  if (req.body && typeof req.body === 'object') rejectIf(brokenTextFields(req.body, req.t));
  next();
};
