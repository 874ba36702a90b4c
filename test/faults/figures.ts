import type { Stack } from './stack.js';

/**
 * A scenario's report: the figures block printed under its test title, the verdict that collects
 * its checks (so every figure is printed before the first failure is thrown), and the formatters
 * of statuses, amounts and settle results.
 */

// ------------------------------------------------------------------ figures

/** Prints a scenario's figures (and its checks, when given) as a readable block under its test title. */
export function printFigures(title: string, rows: [string, unknown][], verdict?: Verdict): void {
  const width = Math.min(44, Math.max(...rows.map(([k]) => k.length), 10));
  const lines = rows.map(([k, v]) => `      │ ${k.padEnd(width)}  ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const checks = (verdict?.checks ?? []).map((c) => `      │ ${c.ok ? '✔' : '✘'} ${c.name}${c.ok ? '' : `: ${(c.detail ?? '').slice(0, 600)}`}`);
  process.stdout.write(`\n      ┌─ ${title}\n${lines.join('\n')}\n${checks.length ? `      ├─ checks\n${checks.join('\n')}\n` : ''}      └─\n`);
}

/** `{"201": 5, "503": 2}` as `201×5 503×2`. */
export function statuses(counts: Record<string, number>): string {
  const keys = Object.keys(counts).sort();
  return keys.length ? keys.map((k) => `${k === '0' ? 'no-answer' : k}×${counts[k]}`).join(' ') : 'none';
}

export const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;

// ------------------------------------------------------------------ verdicts

/** Collects a scenario's checks, so every figure is printed before the first failure is thrown. */
export class Verdict {
  readonly checks: { name: string; ok: boolean; detail?: string }[] = [];

  check(name: string, ok: boolean, detail?: unknown): boolean {
    this.checks.push({ name, ok, detail: detail === undefined ? undefined : typeof detail === 'string' ? detail : JSON.stringify(detail) });
    return ok;
  }

  /** Throws with every failed check named. */
  assert(): void {
    const failed = this.checks.filter((c) => !c.ok);
    if (failed.length) throw new Error(`${failed.length} of ${this.checks.length} checks failed:\n${failed.map((c) => `  - ${c.name}: ${(c.detail ?? '').slice(0, 800)}`).join('\n')}`);
  }
}

/** A settle result as one figure. */
export function settledFigure(s: Awaited<ReturnType<Stack['settle']>>): string {
  return `${s.ok ? '' : 'NOT '}settled in ${s.seconds.toFixed(1)} s (events done at ${s.eventsAt?.toFixed(1) ?? '–'} s, fees at ${s.feesAt?.toFixed(1) ?? '–'} s; left ${JSON.stringify(s.left)})`;
}
