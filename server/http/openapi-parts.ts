import { z } from 'zod';
import { PG_BIGINT_ID_MAX, PG_INT_MAX } from './schemas.js';

/** Building blocks of the OpenAPI document: request bodies from the zod schemas that validate them, error replies, parameters. */
export const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const error = { $ref: '#/components/schemas/Error' };
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: `error ${c}`, content: { 'application/json': { schema: error } } }]));
export const json = (s: object, description: string) => ({ description, content: { 'application/json': { schema: s } } });
export const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } });
export const bearer = [{ bearer: [] }];
/** A path parameter: a database id (range-checked like `idParam`; `bigint` for bigserial keys) or a string. */
export const path = (name: string, type: 'integer' | 'bigint' | 'string' = 'integer') => ({
  name, in: 'path', required: true,
  schema: type === 'string' ? { type, maxLength: 200 } : { type: 'integer', minimum: 1, maximum: type === 'bigint' ? PG_BIGINT_ID_MAX : PG_INT_MAX },
});
export const query = (name: string, s: object) => ({ name, in: 'query', schema: s });
export const paging = [query('page', { type: 'integer' }), query('per_page', { type: 'integer', maximum: 100 })];
