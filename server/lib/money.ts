/**
 * Money in integer minor units (fen for CNY).
 *
 * Amounts are JavaScript numbers that must be safe integers: PostgreSQL stores them as
 * `bigint`, `server/db/knex.ts` parses int8 back through {@link toMinor}, and every helper
 * here asserts integrality, so a fraction or an unsafe value fails loudly instead of rounding.
 */

/** Currencies the service accepts, with their minor-unit exponent (Medusa's table, trimmed). */
export const CURRENCY_EXPONENTS = { CNY: 2 } as const;
export type Currency = keyof typeof CURRENCY_EXPONENTS;
export const DEFAULT_CURRENCY: Currency = 'CNY';

export interface Money {
  amountMinor: number;
  currency: Currency;
}

/** Asserts a value is a safe integer number of minor units and returns it. */
export function toMinor(value: unknown): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new RangeError(`not a safe integer amount of minor units: ${String(value)}`);
  }
  return n;
}

/** @example add(150, 250) === 400 */
export function add(...amounts: number[]): number {
  let total = 0;
  for (const a of amounts) total = toMinor(total + toMinor(a));
  return total;
}

/** @example subtract(1000, 250) === 750 */
export function subtract(a: number, b: number): number {
  return toMinor(toMinor(a) - toMinor(b));
}

/**
 * Splits `total` by integer weights with the largest-remainder method, so the parts always
 * sum to `total` exactly. Ties go to the earlier weight.
 * @example allocate(100, [1, 1, 1]) → [34, 33, 33]
 * @example allocate(1000, [50, 30, 20]) → [500, 300, 200]
 */
export function allocate(total: number, weights: number[]): number[] {
  toMinor(total);
  if (weights.length === 0) throw new RangeError('allocate needs at least one weight');
  const sum = weights.reduce((s, w) => s + toMinor(w), 0);
  if (sum <= 0 || weights.some((w) => w < 0)) throw new RangeError('weights must be non-negative with a positive sum');
  const big = BigInt(total);
  const bigSum = BigInt(sum);
  const parts = weights.map((w) => (big * BigInt(w)) / bigSum);
  const remainders = weights.map((w, i) => ({ i, r: (big * BigInt(w)) % bigSum }));
  let left = Number(big - parts.reduce((s, p) => s + p, 0n));
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (let k = 0; left > 0; k++, left--) parts[remainders[k % remainders.length].i] += 1n;
  return parts.map((p) => Number(p));
}

/**
 * `amount × numerator / denominator`, rounded half up, in exact integer arithmetic.
 * @example scale(5000, 60, 10000) === 30   // 0.6 % of ¥50.00
 * @example scale(125, 1, 2) === 63        // 62.5 rounds half up
 */
export function scale(amount: number, numerator: number, denominator: number): number {
  const a = BigInt(toMinor(amount));
  const n = BigInt(toMinor(numerator));
  const d = BigInt(toMinor(denominator));
  if (d <= 0n) throw new RangeError('denominator must be positive');
  const product = a * n;
  const q = product / d;
  const r = product % d;
  const rounded = 2n * (r < 0n ? -r : r) >= d ? q + (product < 0n ? -1n : 1n) : q;
  return toMinor(Number(rounded));
}

/**
 * Parses a yuan amount typed by a person ("50", "50.5", "1,234.56") into fen without floats.
 * Returns null when the text is not a plain non-negative amount with at most two decimals.
 * @example parseMajor('50.5') === 5050
 */
export function parseMajor(text: string, currency: Currency = DEFAULT_CURRENCY): number | null {
  const exp = CURRENCY_EXPONENTS[currency];
  const cleaned = text.trim().replace(/^[¥￥]/, '').replace(/,/g, '');
  const m = new RegExp(`^(\\d{1,13})(?:\\.(\\d{1,${exp}}))?$`).exec(cleaned);
  if (!m) return null;
  const fraction = (m[2] ?? '').padEnd(exp, '0');
  return toMinor(Number(m[1]) * 10 ** exp + Number(fraction || 0));
}

/**
 * Formats minor units for people: `¥1,234.50`; negative amounts get a leading minus.
 * @example format(123450) === '¥1,234.50'
 */
export function format(amountMinor: number, currency: Currency = DEFAULT_CURRENCY): string {
  const exp = CURRENCY_EXPONENTS[currency];
  const v = toMinor(amountMinor);
  const abs = Math.abs(v);
  const major = Math.floor(abs / 10 ** exp).toLocaleString('en-US');
  const minor = String(abs % 10 ** exp).padStart(exp, '0');
  return `${v < 0 ? '-' : ''}${currency === 'CNY' ? '¥' : `${currency} `}${major}.${minor}`;
}

/** The amount Stripe expects: CNY is a two-decimal currency there too, so fen pass through. */
export function toStripeAmount(money: Money): number {
  return toMinor(money.amountMinor);
}
