import { z } from 'zod';

/** Building blocks of the OpenAPI document: request bodies from the zod schemas that validate them, error replies, parameters. */
export const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const error = { $ref: '#/components/schemas/Error' };
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: `error ${c}`, content: { 'application/json': { schema: error } } }]));
export const json = (s: object, description: string) => ({ description, content: { 'application/json': { schema: s } } });
export const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: schema(s) } } });
export const bearer = [{ bearer: [] }];
export const path = (name: string, type: 'integer' | 'string' = 'integer') => ({ name, in: 'path', required: true, schema: { type } });
export const query = (name: string, s: object) => ({ name, in: 'query', schema: s });
export const paging = [query('page', { type: 'integer' }), query('per_page', { type: 'integer', maximum: 100 })];
