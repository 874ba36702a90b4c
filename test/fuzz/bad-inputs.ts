/**
 * The classes of bad input the OpenAPI fuzz sends: integers out of range or not
 * integers, NUL, lone surrogates, over-long strings, wrong types. Each value says whether it is
 * clearly bad by the document (so a 2xx for it is a failure) or only has to be answered without a
 * 5xx.
 */

/** The subset of JSON Schema the document uses. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

/** A JSON fragment written into the body text as is: `"\ud800"` and `1e400` cannot be made by JSON.stringify. */
export class RawJson {
  constructor(readonly json: string) {}
}

export interface Bad { label: string; value: unknown; clearlyBad: boolean }

const typesOf = (s: Schema): string[] => (s.type === undefined ? [] : ([] as string[]).concat(s.type));

/** JSON text for a body that may hold `RawJson` fragments. */
export function encodeJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_k, v) => (v instanceof RawJson ? `\u0001RAW${raws.push(v.json) - 1}\u0001` : v));
  return text.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]);
}

/** Bad values for a JSON body field of schema `s`. */
export function badBodyValues(s: Schema): Bad[] {
  const types = typesOf(s);
  const out: Bad[] = [];
  const union = s.anyOf ?? s.oneOf;
  if (union) return [{ label: 'wrong type (boolean for a union)', value: true, clearlyBad: !union.some((u) => typesOf(u).includes('boolean')) }, ...stringBad(s, true)];
  if (types.includes('integer') || types.includes('number')) {
    const max = s.maximum;
    const min = s.minimum;
    out.push(
      { label: '99999999999', value: 99999999999, clearlyBad: max !== undefined && max < 99999999999 },
      { label: '-1', value: -1, clearlyBad: min !== undefined && min > -1 },
      { label: '2^63', value: new RawJson('9223372036854775808'), clearlyBad: types.includes('integer') || (max !== undefined && max < 2 ** 63) },
      { label: '1e400', value: new RawJson('1e400'), clearlyBad: true },
      { label: '"1.5"', value: '1.5', clearlyBad: true },
      { label: '"abc"', value: 'abc', clearlyBad: true },
    );
    if (types.includes('integer')) out.push({ label: '1.5', value: 1.5, clearlyBad: true });
  }
  if (types.includes('string') || s.enum) out.push(...stringBad(s, types.includes('string') || Boolean(s.enum)));
  if (types.includes('boolean')) out.push({ label: '"yes"', value: 'yes', clearlyBad: true });
  if (types.includes('array')) out.push({ label: 'wrong type (string for an array)', value: 'x', clearlyBad: true });
  if (types.includes('object')) out.push({ label: 'wrong type (string for an object)', value: 'x', clearlyBad: true });
  return out;
}

/** NUL, lone surrogates, over-long, wrong type and (for enums) a non-member, for a string field. */
function stringBad(s: Schema, isString: boolean): Bad[] {
  const long = s.maxLength !== undefined ? Math.min(s.maxLength + 1, 60_000) : 5000;
  const constrained = s.maxLength !== undefined || Boolean(s.enum) || s.pattern !== undefined;
  return [
    { label: 'NUL', value: 'a\u0000b', clearlyBad: true },
    { label: 'lone surrogate \\ud800', value: new RawJson('"\\ud800"'), clearlyBad: true },
    { label: 'lone surrogate \\udfff', value: new RawJson('"x\\udfff"'), clearlyBad: true },
    { label: `over-long (${long})`, value: 'a'.repeat(long), clearlyBad: constrained },
    ...(isString ? [{ label: 'wrong type (number for a string)', value: 12345, clearlyBad: s.anyOf === undefined && s.oneOf === undefined }] : []),
    ...(s.enum ? [{ label: 'not in the enum', value: 'not-a-member', clearlyBad: !s.enum.includes('not-a-member') }] : []),
  ];
}

/**
 * Bad values for a path or query parameter, already percent-encoded for the URL. A lone
 * surrogate cannot be percent-encoded in UTF-8, so it arrives as bytes that do not decode
 * (`%ED%A0%80`): in a path that is a 400; a query string decodes them leniently to U+FFFD, which
 * only has to be answered without a 5xx.
 */
export function badParamValues(s: Schema, where: 'path' | 'query'): Bad[] {
  const types = typesOf(s);
  const integer = types.includes('integer');
  const constrained = integer || s.maxLength !== undefined || Boolean(s.enum) || s.pattern !== undefined || s.format !== undefined;
  return [
    { label: '99999999999', value: '99999999999', clearlyBad: integer },
    { label: '-1', value: '-1', clearlyBad: integer },
    { label: '2^63', value: '9223372036854775808', clearlyBad: integer },
    { label: '1e400', value: '1e400', clearlyBad: integer },
    { label: '1.5', value: '1.5', clearlyBad: integer },
    { label: 'abc', value: 'abc', clearlyBad: integer || Boolean(s.enum) },
    { label: 'NUL', value: '%00', clearlyBad: true },
    { label: 'a NUL b', value: 'a%00b', clearlyBad: true },
    { label: 'lone surrogate \\ud800 (bytes)', value: '%ED%A0%80', clearlyBad: where === 'path' },
    { label: 'lone surrogate \\udfff (bytes)', value: 'x%ED%BF%BF', clearlyBad: where === 'path' },
    { label: 'broken percent-encoding', value: '%E0%A4%A', clearlyBad: where === 'path' },
    { label: 'over-long (3000)', value: 'a'.repeat(3000), clearlyBad: constrained },
  ];
}
