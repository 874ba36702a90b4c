import { badBodyValues, badParamValues, encodeJson, type Bad, type Schema } from './bad-inputs.js';

/**
 * Sends every route in `/api/openapi.json` the classes of bad input in `bad-inputs.ts`, anonymously
 * and with the admin token (so validation is reached), and with any other tokens given (wrong
 * roles): out-of-range and non-integers, NUL and lone surrogates in path, query and body, over-long
 * strings, wrong types, and bodies that are not JSON. A 5xx is always a failure; so is a 2xx for
 * a clearly bad input, a 4xx that is not `{error:{code,message}}`, and a 400 `validation_failed`
 * without `fields`. Writes are sent only clearly bad input, so nothing may change: `snapshot()` is
 * taken before and after, and any difference is a failure too. Path parameters get real values
 * (read from the collections the document lists) so bodies are judged against existing rows.
 *
 * Only HTTP and the callbacks are used (it runs against the test harness and against separately
 * started processes alike), and it prints nothing.
 */
export async function fuzzOpenApi(opts: { baseUrl: string; adminToken: string; tokens?: Record<string, string>; snapshot: () => Promise<string> }): Promise<{ requests: number; byStatus: Record<string, number>; failures: string[] }> {
  const doc = (await (await fetch(`${opts.baseUrl}/api/openapi.json`)).json()) as OpenApi;
  const ops = operationsOf(doc);
  const values = await discoverPathValues(opts, doc, ops);
  const cases = ops.flatMap((op) => [
    ...casesFor(op, values, 'anonymous', undefined, 'all'),
    ...casesFor(op, values, 'admin', opts.adminToken, 'all'),
    ...Object.entries(opts.tokens ?? {}).flatMap(([who, token]) => casesFor(op, values, who, token, 'few')),
  ]);
  const before = await opts.snapshot();
  const result = { requests: 0, byStatus: {} as Record<string, number>, failures: [] as string[] };
  await inParallel(cases, 6, async (c) => {
    const verdict = await send(opts.baseUrl, c);
    result.requests += 1;
    result.byStatus[verdict.status] = (result.byStatus[verdict.status] ?? 0) + 1;
    if (verdict.problem) result.failures.push(`${c.method.toUpperCase()} ${c.op} [${c.caller}] ${c.what} → ${verdict.status}: ${verdict.problem}`);
  });
  const after = await opts.snapshot();
  if (after !== before) result.failures.push(`rows changed:\n${diffLines(before, after)}`);
  return result;
}

interface OpenApi { paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { content?: Record<string, { schema?: Schema }> } }>> }
interface Param { name: string; in: string; schema?: Schema }
interface Operation { method: string; path: string; pathParams: Param[]; queryParams: Param[]; json?: Schema; csv: boolean; hasBody: boolean }
interface Case { op: string; method: string; caller: string; token?: string; url: string; body?: string; contentType?: string; what: string; clearlyBad: boolean }

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function operationsOf(doc: OpenApi): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).filter(([m]) => METHODS.includes(m)).map(([method, op]) => {
    const params = op.parameters ?? [];
    const content = op.requestBody?.content ?? {};
    return {
      method, path, pathParams: params.filter((p) => p.in === 'path'), queryParams: params.filter((p) => p.in === 'query'),
      json: content['application/json']?.schema, csv: 'text/csv' in content, hasBody: Object.keys(content).length > 0,
    };
  }));
}

/**
 * A real value for each path parameter, so bad bodies and queries reach an existing row: the
 * first item of the collection the parameter indexes (`/api/grants` for `/api/grants/{id}`),
 * read with the admin token; else a harmless stand-in.
 */
async function discoverPathValues(opts: { baseUrl: string; adminToken: string }, doc: OpenApi, ops: Operation[]): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  const lists = new Map<string, unknown>();
  const list = async (path: string) => {
    if (!lists.has(path)) {
      const res = await fetch(`${opts.baseUrl}${path}`, { headers: { authorization: `Bearer ${opts.adminToken}` } }).catch(() => undefined);
      lists.set(path, res?.ok ? await res.json().catch(() => null) : null);
    }
    return lists.get(path);
  };
  const resolve = async (template: string): Promise<void> => {
    for (const [, name] of template.matchAll(/\{(\w+)\}/g)) {
      const key = keyOf(template, name);
      if (values.has(key)) continue;
      const parent = template.slice(0, template.indexOf(`{${name}}`) - 1);
      await resolve(parent);
      const items = doc.paths[parent]?.get ? await list(fill(parent, values)) : null;
      const first = Array.isArray(items) ? (items[0] as Record<string, unknown> | undefined) : undefined;
      const found = first && (name === 'slug' ? first.slug : first[`${name}_id`] ?? first.id ?? first.slug);
      values.set(key, found !== undefined && found !== null ? encodeURIComponent(String(found)) : standIn(ops, template, name));
    }
  };
  for (const op of ops) await resolve(op.path);
  return values;
}

/** A value for a parameter no collection lists: its first enum member, a uuid, or 1. */
function standIn(ops: Operation[], template: string, name: string): string {
  const s = ops.find((o) => o.path.startsWith(template.slice(0, template.indexOf(`{${name}}`))))?.pathParams.find((p) => p.name === name)?.schema ?? {};
  if (s.enum?.length) return String(s.enum[0]);
  if (s.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
  return ([] as string[]).concat(s.type ?? 'integer').includes('integer') ? '1' : 'no-such-thing';
}

/** The cases for one operation and caller; `few` (other roles) sends one bad body and one bad parameter. */
function casesFor(op: Operation, values: Map<string, string>, caller: string, token: string | undefined, depth: 'all' | 'few'): Case[] {
  const base = fill(op.path, values);
  const at = (what: string, bad: Bad, url: string, body?: { text: string; type: string }): Case => ({ op: op.path, method: op.method, caller, token, url, what: `${what} = ${bad.label}`, clearlyBad: bad.clearlyBad, ...(body ? { body: body.text, contentType: body.type } : {}) });
  const out: Case[] = [];
  for (const p of op.pathParams) {
    for (const bad of badParamValues(p.schema ?? {}, 'path')) out.push(at(`path ${p.name}`, bad, fill(op.path, values, [p.name, String(bad.value)])));
  }
  for (const q of op.queryParams) {
    for (const bad of badParamValues(q.schema ?? {}, 'query')) out.push(at(`query ${q.name}`, bad, `${base}?${q.name}=${bad.value}`));
  }
  out.push(at('query fuzz', { label: 'NUL', value: '%00', clearlyBad: true }, `${base}?fuzz=%00`));
  if (op.method !== 'get') {
    const json = (text: string) => ({ text, type: 'application/json' });
    out.push(at('body', { label: 'not JSON', value: '', clearlyBad: true }, base, json('{"broken":')));
    if (op.json?.type === 'object') out.push(at('body', { label: 'a JSON array for an object', value: '', clearlyBad: true }, base, json('[1]')));
    out.push(at('body.fuzz', { label: 'NUL', value: '', clearlyBad: true }, base, json('{"fuzz":"a\\u0000b"}')));
    out.push(at('body.fuzz', { label: 'NUL 10,000 arrays deep', value: '', clearlyBad: true }, base, json(`{"fuzz":${'['.repeat(10_000)}"a\\u0000"${']'.repeat(10_000)}}`)));
    if (op.csv) out.push(at('body (text/csv)', { label: 'NUL', value: '', clearlyBad: true }, base, { text: 'date,amount,reference\n2026-01-01,1.00,a\u0000b\n', type: 'text/csv' }));
    for (const [field, bad] of op.json ? bodyFields(op.json, [], 0) : []) out.push(at(`body.${field.join('.')}`, bad, base, json(encodeJson(nest(field, bad.value)))));
  }
  // A write is sent only what is clearly bad: an odd but valid value (a rule's donor count of
  // 99999999999) would be carried out, and the fuzz must change nothing.
  if (op.method !== 'get') out.splice(0, out.length, ...out.filter((c) => c.clearlyBad));
  if (depth === 'all') return out;
  return [out.find((c) => c.what.startsWith('body')), out.find((c) => c.what.startsWith('path')), out.find((c) => c.what.startsWith('query'))].filter((c): c is Case => Boolean(c));
}

/** Each field of a body schema (nested objects and array items to depth 2) with its bad values. */
function bodyFields(s: Schema, path: string[], depth: number): [string[], Bad][] {
  const out: [string[], Bad][] = [];
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    const here = [...path, name];
    for (const bad of badBodyValues(child)) out.push([here, bad]);
    if (depth < 2 && child.properties) out.push(...bodyFields(child, here, depth + 1));
    if (depth < 2 && child.items?.properties) out.push(...bodyFields(child.items, [...here, '0'], depth + 1));
  }
  return out;
}

/** `{a: {b: value}}` for the path `['a', 'b']`; a numeric step makes an array. */
function nest(path: string[], value: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => (/^\d+$/.test(key) ? [inner] : { [key]: inner }), value);
}

/** The key a discovered value is kept under: the template up to and including the parameter. */
const keyOf = (template: string, name: string) => `${template.slice(0, template.indexOf(`{${name}}`))}{${name}}`;

/** The template with each parameter's discovered value, or `raw` for the one named `override`. */
function fill(template: string, values: Map<string, string>, override?: [string, string]): string {
  return template.replace(/\{(\w+)\}/g, (_m, n: string) => (n === override?.[0] ? override[1] : values.get(keyOf(template, n)) ?? '1'));
}

/** Sends one case and judges the answer. */
async function send(baseUrl: string, c: Case): Promise<{ status: string; problem?: string }> {
  const headers: Record<string, string> = {};
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  if (c.contentType) headers['content-type'] = c.contentType;
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${c.url}`, { method: c.method.toUpperCase(), headers, body: c.body, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    return { status: 'error', problem: `no answer (${(err as Error).message})` };
  }
  const text = await res.text();
  const status = String(res.status);
  if (res.status >= 500) return { status, problem: `server error ${text.slice(0, 200)}` };
  if (res.status < 300 && c.clearlyBad) return { status, problem: `accepted a clearly bad input ${text.slice(0, 200)}` };
  if (res.status >= 400) {
    let body: { error?: { code?: string; message?: string; fields?: Record<string, string> } } = {};
    try {
      body = JSON.parse(text);
    } catch {
      return { status, problem: `error is not JSON: ${text.slice(0, 120)}` };
    }
    if (!body.error?.code || !body.error.message) return { status, problem: `error is not {error:{code,message}}: ${text.slice(0, 120)}` };
    if (body.error.code === 'validation_failed' && !Object.keys(body.error.fields ?? {}).length) return { status, problem: 'validation_failed without error.fields' };
  }
  return { status };
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

function diffLines(before: string, after: string): string {
  const a = new Set(before.split('\n'));
  const b = new Set(after.split('\n'));
  return [...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`), ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`)].join('\n');
}
