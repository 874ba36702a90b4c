import http from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * The load driver's HTTP side: a keep-alive client that tallies every response by phase and
 * status (and its latency by label), the latency summary, and a helper that runs calls in lanes.
 */

// ------------------------------------------------------------------ HTTP

export interface Res<T = any> {
  status: number;
  body: T;
  text: string;
  headers: http.IncomingHttpHeaders;
  ms: number;
}

/**
 * An HTTP client that tallies every response by phase and status, keeps the 5xx other than 503
 * (the failures the suite is looking for) and counts network errors (status 0).
 */
export class Http {
  readonly agent: http.Agent;
  phase = 'load';
  readonly byPhase: Record<string, Record<string, number>> = {};
  readonly serverErrors: string[] = [];
  serverErrorCount = 0;
  readonly latencies: Record<string, number[]> = {};

  private turn = 0;
  /** Requests go round-robin over the bases (several web processes behind a client-side balancer). */
  constructor(readonly bases: string[], maxSockets = 256) {
    // Idle sockets are dropped after 4 s, before the server's 5 s keep-alive timeout closes them
    // under a request (which would show as a spurious "no answer").
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: 4000 });
  }

  get base(): string {
    return this.bases[0];
  }

  private tally(status: number, method: string, p: string, text: string): void {
    const bucket = (this.byPhase[this.phase] ??= {});
    bucket[String(status)] = (bucket[String(status)] ?? 0) + 1;
    if (status >= 500 && status !== 503) {
      this.serverErrorCount++;
      if (this.serverErrors.length < 20) this.serverErrors.push(`[${this.phase}] ${status} ${method} ${p.slice(0, 80)}: ${text.slice(0, 240)}`);
    }
  }

  /** Totals by status over every phase (or the phases given). */
  totals(phases?: string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [ph, b] of Object.entries(this.byPhase)) {
      if (phases && !phases.includes(ph)) continue;
      for (const [s, n] of Object.entries(b)) out[s] = (out[s] ?? 0) + n;
    }
    return out;
  }

  request<T = any>(method: string, p: string, opts: { json?: unknown; raw?: string; form?: Record<string, string>; headers?: Record<string, string>; token?: string; label?: string; timeoutMs?: number } = {}): Promise<Res<T>> {
    const url = new URL(p, this.bases[this.turn++ % this.bases.length]);
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.raw !== undefined) {
      body = opts.raw;
      headers['content-type'] ??= 'application/json';
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const label = opts.label ?? `${method} ${p.split('?')[0].replace(/[0-9a-f]{8}-[0-9a-f-]{27}|\d+/g, ':id')}`;
    return new Promise((resolve) => {
      const start = performance.now();
      const req = http.request(url, { method, agent: this.agent, headers, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: any = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          const ms = performance.now() - start;
          (this.latencies[label] ??= []).push(ms);
          this.tally(res.statusCode ?? 0, method, p, text);
          resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers, ms });
        });
        res.on('error', () => {
          this.tally(0, method, p, 'response error');
          resolve({ status: 0, body: undefined as T, text: 'response error', headers: {}, ms: performance.now() - start });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        this.tally(0, method, p, String(err.message));
        resolve({ status: 0, body: undefined as T, text: String(err.message), headers: {}, ms: performance.now() - start });
      });
      req.end(body);
    });
  }

  get<T = any>(p: string, token?: string) {
    return this.request<T>('GET', p, { token });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** p50 / p99 / max of samples, in ms. */
export function latency(samples: number[] = []): string {
  if (!samples.length) return 'n/a';
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return `p50 ${at(50).toFixed(0)} ms, p99 ${at(99).toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
}

/** Runs `fn` over `items` in `concurrency` lanes; resolves when every call has settled. */
export async function lanes<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}
