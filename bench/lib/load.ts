import { performance } from 'node:perf_hooks';
import { summarize, type LatencySummary } from './stats.js';

export interface LoadResult {
  /** Calls that resolved. */
  ok: number;
  /** Calls that rejected (counted, never rethrown). */
  errors: number;
  /** Rejections by SQLSTATE (or error name), e.g. {"40P01": 2} for deadlocks. */
  error_codes: Record<string, number>;
  first_error: string | null;
  /** From the first call to the last call settling. */
  seconds: number;
  /** Resolved calls per second. */
  tps: number;
  /** Latency of resolved calls. */
  latency_ms: LatencySummary;
}

/**
 * Calls `fn` back to back in `concurrency` lanes, until `seconds` have passed or `n` calls have
 * started (whichever is given; both: whichever comes first). Each call's index is passed to `fn`.
 * Unlike runPool, a rejection is tallied and the lanes carry on, so a run reports every error.
 */
export async function drive(opts: { concurrency: number; seconds?: number; n?: number }, fn: (i: number) => Promise<unknown>): Promise<LoadResult> {
  const samples: number[] = [];
  const codes: Record<string, number> = {};
  let first: string | null = null;
  let next = 0;
  const t0 = performance.now();
  const deadline = opts.seconds === undefined ? Infinity : t0 + opts.seconds * 1000;
  const limit = opts.n ?? Infinity;
  async function lane(): Promise<void> {
    while (next < limit && performance.now() < deadline) {
      const i = next++;
      const start = performance.now();
      try {
        await fn(i);
        samples.push(performance.now() - start);
      } catch (err) {
        const e = err as { code?: string; name?: string; message?: string };
        const code = e.code ?? e.name ?? 'unknown';
        codes[code] = (codes[code] ?? 0) + 1;
        first ??= `${code}: ${String(e.message ?? err).split('\n')[0].slice(0, 200)}`;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const errors = Object.values(codes).reduce((a, b) => a + b, 0);
  return {
    ok: samples.length, errors, error_codes: codes, first_error: first,
    seconds: Math.round(seconds * 1000) / 1000, tps: Math.round((samples.length / seconds) * 10) / 10, latency_ms: summarize(samples),
  };
}
