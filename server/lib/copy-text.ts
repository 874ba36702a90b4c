/**
 * Fields for PostgreSQL's COPY text format: one row a line, fields split by tabs, `\N` for null,
 * and backslash escapes for backslash, tab and line breaks.
 */
const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text field to write. */
export function copyText(v: string | null): string {
  if (v === null) return '\\N';
  return SPECIAL.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : v;
}

/** An integer field to write; anything else is refused rather than guessed at. */
export function copyInt(n: unknown, what: string): string {
  if (!Number.isSafeInteger(n)) throw new Error(`${what} is not an integer: ${String(n)}`);
  return String(n);
}
