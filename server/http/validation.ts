import type { Request } from 'express';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import type { Translate } from '../lib/i18n.js';
import { format } from '../lib/money.js';
import { idParam, pathText, PG_INT_MAX } from './schemas.js';

type Issue = z.core.$ZodIssue;

/** Turns one zod issue into a translated message; schema messages starting `validation.` are keys. */
function issueMessage(issue: Issue, t: Translate): string {
  const i = issue as Issue & Record<string, unknown>;
  const params: Record<string, string | number> = {};
  for (const bound of ['minimum', 'maximum'] as const) {
    const v = i[bound];
    if (typeof v === 'number' || typeof v === 'bigint') {
      params[bound === 'minimum' ? 'min' : 'max'] = Number(v);
      if (Number.isSafeInteger(Number(v))) params[`${bound === 'minimum' ? 'min' : 'max'}_money`] = format(Number(v));
    }
  }
  if (issue.message?.startsWith('validation.')) return t(issue.message, params);
  switch (issue.code) {
    case 'invalid_type':
      if (i.input === undefined) return t('validation.required');
      if (i.expected === 'int') return t('validation.integer');
      return t('validation.type', { expected: String(i.expected) });
    case 'too_small':
      return t(i.origin === 'string' ? 'validation.too_short' : 'validation.too_small', params);
    case 'too_big':
      return t(i.origin === 'string' ? 'validation.too_long' : 'validation.too_big', params);
    case 'invalid_value':
      return t('validation.one_of', { values: (i.values as unknown[]).map(String).join(', ') });
    case 'invalid_format':
      return t(i.format === 'email' ? 'validation.email' : 'validation.format');
    default:
      return t('validation.invalid');
  }
}

/** Maps zod issues to `{ "donor.name": "message" }`, first message per field. */
export function issuesToFields(issues: readonly Issue[], t: Translate): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path, key].join('.')] ??= t('validation.unknown_field');
      continue;
    }
    const path = issue.path.map(String).join('.') || '_';
    fields[path] ??= issueMessage(issue, t);
  }
  return fields;
}

/** Parses `value` with `schema` or throws a 400 ValidationError carrying translated field messages. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, t: Translate): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(issuesToFields(r.error.issues, t));
  return r.data;
}

/**
 * A numeric id from the URL path (`:id`, `:street`, `:app`), range-checked: anything but a whole
 * number from 1 to `max` is a 400 naming the parameter, so it never reaches PostgreSQL.
 */
export function pathId(req: Request, param: string, max = PG_INT_MAX): number {
  return parseOrThrow(z.object({ [param]: idParam(max) }), { [param]: req.params[param] }, req.t)[param] as number;
}

/**
 * A name from the URL path (slug, uuid, payout id). Text PostgreSQL cannot hold (a NUL, a lone
 * surrogate, over 200 characters) is a 400 naming the parameter; a well-formed string that does
 * not fit `pattern` cannot name anything, so it is a 404 for `what`.
 */
export function pathName(req: Request, param: string, pattern: RegExp, what: string): string {
  const value = parseOrThrow(z.object({ [param]: pathText }), { [param]: req.params[param] }, req.t)[param] as string;
  if (!pattern.test(value)) throw new NotFoundError(what);
  return value;
}
