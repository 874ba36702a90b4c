import http from 'node:http';
import { performance } from 'node:perf_hooks';

/** A keep-alive agent holding at most `sockets` connections (one per concurrent lane). */
export const keepAliveAgent = (sockets: number) => new http.Agent({ keepAlive: true, maxSockets: sockets });

/** POSTs a raw body and resolves with the status and the time until the response has ended, in ms. */
export function post(url: URL, body: string, headers: Record<string, string>, agent: http.Agent): Promise<{ status: number; ms: number; body: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
