/**
 * PostgreSQL's COPY text format, both ways: one row a line, fields split by tabs, `\N` for null,
 * and backslash escapes for backslash, tab and line breaks (and, on reading, the other escapes
 * COPY writes: `\b`, `\f`, `\v`).
 */
const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

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

/** A field read back: null for `\N`, escapes undone. */
export function readCopyText(field: string): string | null {
  if (field === '\\N') return null;
  return field.includes('\\') ? field.replace(/\\(.)/g, (_, c: string) => UNESCAPES[c] ?? c) : field;
}

/** The rows of COPY text output, each as its fields read back. */
export function readCopyRows(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  for (const line of text.split('\n')) {
    if (line) rows.push(line.split('\t').map(readCopyText));
  }
  return rows;
}
