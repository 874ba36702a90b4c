import { z } from 'zod';

/**
 * Shared input pieces. Amounts arrive as integer fen; `moneyInput` is the one parser for them.
 * Ids, slugs and free text go through the validators below, so nothing PostgreSQL would refuse
 * (an integer out of range, a NUL, an unpaired UTF-16 surrogate) ever reaches a query: such input
 * is a 400 naming the field instead of a 500.
 */
export const fen = (max: number, min = 100) =>
  z.number({ error: 'validation.amount_integer' }).int({ error: 'validation.amount_integer' })
    .min(min, { error: 'validation.amount_min' }).max(max, { error: 'validation.amount_max' });

/** The largest PostgreSQL `integer`: every `serial` key. */
export const PG_INT_MAX = 2_147_483_647;
/**
 * The largest `bigserial` key we accept: 2^53 − 1, where a JS number stops being exact; still far
 * inside PostgreSQL's `bigint` (match allocations, audit entries and pool releases are keyed so).
 */
export const PG_BIGINT_ID_MAX = Number.MAX_SAFE_INTEGER;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why PostgreSQL cannot store `s` as text, as a message key, or null when it can: a NUL
 * (`\u0000`, refused by `text`/`jsonb`) or a lone surrogate (`\ud800`–`\udfff` without its pair,
 * which makes invalid UTF-8 and invalid JSON).
 * @example textProblem('加油') // null
 * @example textProblem('a\u0000b') // 'validation.nul_char'
 * @example textProblem('\ud83d\ude00') // null (a pair is one emoji)
 * @example textProblem('\ud800') // 'validation.lone_surrogate'
 */
export function textProblem(s: string): 'validation.nul_char' | 'validation.lone_surrogate' | null {
  if (s.includes('\u0000')) return 'validation.nul_char';
  if (LONE_SURROGATE.test(s)) return 'validation.lone_surrogate';
  return null;
}

/** `s` with each NUL and lone surrogate replaced by U+FFFD, so PostgreSQL can store it. */
export const toStorableText = (s: string): string => s.replace(/\u0000/g, '\ufffd').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');

/** Adds the NUL and lone-surrogate checks to a string schema, each with its own message. */
const storable = (s: z.ZodString) =>
  s.refine((v) => !v.includes('\u0000'), { error: 'validation.nul_char' })
    .refine((v) => !LONE_SURROGATE.test(v), { error: 'validation.lone_surrogate' });

/** Free text PostgreSQL can store (story, query words): at most `max` characters, no NUL, no lone surrogate. */
export const safeText = (max: number) => storable(z.string().max(max));

/** Rejects text that looks like markup (`<tag`, `</`, `<!`), control characters, and anything `safeText` refuses. */
export const plainText = (max: number) =>
  storable(z.string().trim().max(max))
    .refine((s) => !/<\s*[a-z!/?]/i.test(s), { error: 'validation.no_markup' })
    .refine((s) => !/[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), { error: 'validation.control_chars' });

/**
 * A database id in a JSON body: a whole number from 1 to `max` (PostgreSQL `integer` unless the
 * key is a `bigserial`).
 */
export const dbId = (max = PG_INT_MAX) =>
  z.number({ error: 'validation.id' }).int().min(1).max(max, { error: 'validation.too_big' });

/**
 * A database id from a path or query string, with the same range as `dbId`. Only plain digits
 * count: `1.5`, `-1`, `1e3`, `0x10` and `abc` are refused rather than coerced.
 * @example idParam().parse('42') // 42
 */
export const idParam = (max = PG_INT_MAX) =>
  z.preprocess((v) => (typeof v === 'string' && /^\d{1,20}$/.test(v) ? Number(v) : v), dbId(max));

/**
 * For pages and console forms, where a bad id simply names nothing: the id, or 0 (no row has it,
 * so the lookup answers 404) when `v` is not a whole number from 1 to `max`.
 * @example idOrZero('42') // 42
 * @example idOrZero('99999999999') // 0
 */
export function idOrZero(v: unknown, max = PG_INT_MAX): number {
  const r = idParam(max).safeParse(Array.isArray(v) ? v[0] : v);
  return r.success ? r.data : 0;
}

/** Campaign slugs (and other codes named like them): lowercase letters, digits and hyphens. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const slug = z.string().regex(SLUG_PATTERN, { error: 'validation.slug' });

/** Any uuid's text form (donations, attachments); PostgreSQL's `uuid` type refuses anything else. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A string path parameter (slug, uuid, payout id) as text first: its own pattern is checked by the route. */
export const pathText = safeText(200);

/** Only CNY is accepted for now; case-insensitive on input. */
export const currency = z
  .string({ error: 'validation.currency' })
  .transform((s) => s.toUpperCase())
  .pipe(z.literal('CNY', { error: 'validation.currency' }));

/** An ISO-8601 date or date-time, as a Date. */
export const isoDate = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)), { error: 'validation.date' })
  .transform((s) => new Date(s));

/** Page and page size for any list. */
export const pagination = {
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
};

/** The `Idempotency-Key` header: optional, printable, at most 255 characters. */
export const IdempotencyKey = z.string().regex(/^[\x21-\x7e]{1,255}$/, { error: 'validation.idempotency_key' });
