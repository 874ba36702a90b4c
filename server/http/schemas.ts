import { z } from 'zod';

/**
 * Shared input pieces. Amounts arrive as integer fen; `moneyInput` is the one parser for them.
 */
export const fen = (max: number, min = 100) =>
  z.number({ error: 'validation.amount_integer' }).int({ error: 'validation.amount_integer' })
    .min(min, { error: 'validation.amount_min' }).max(max, { error: 'validation.amount_max' });

/** Only CNY is accepted for now; case-insensitive on input. */
export const currency = z
  .string({ error: 'validation.currency' })
  .transform((s) => s.toUpperCase())
  .pipe(z.literal('CNY', { error: 'validation.currency' }));

/** Rejects text that looks like markup (`<tag`, `</`, `<!`), and control characters. */
export const plainText = (max: number) =>
  z.string().trim().max(max)
    .refine((s) => !/<\s*[a-z!/?]/i.test(s), { error: 'validation.no_markup' })
    .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), { error: 'validation.control_chars' });

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
