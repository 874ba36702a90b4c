import { parseMajor } from '../../lib/money.js';

/** `YYYY-MM-DDTHH:MM` typed in a datetime-local field, read as China Standard Time; else undefined. */
export function cstLocal(value: unknown): string | undefined {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00+08:00` : undefined;
}

/** An ISO instant as a datetime-local value in China Standard Time. */
export function toCstLocal(d: Date | string): string {
  return new Date(new Date(d).getTime() + 8 * 3_600_000).toISOString().slice(0, 16);
}

/** Yuan typed in a form as fen; NaN (so validation names the field) when it is not an amount. */
export function yuan(value: unknown): number {
  return typeof value === 'string' ? (parseMajor(value) ?? Number.NaN) : Number.NaN;
}

/** A form's optional numeric id. */
export function optionalId(value: unknown): number | undefined {
  return typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

/** A single string out of a possibly repeated form field. */
export function one(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' ? v : undefined;
}

/** A whole number typed in a form; NaN (so validation names the field) when blank or not digits. */
export function wholeNumber(value: unknown): number {
  const v = one(value);
  return v !== undefined && /^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
}
