import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { h } from '../../helpers/harness.js';

const ROUTES = ['calls.routes.ts', 'contracts.routes.ts'].map((f) => path.resolve(import.meta.dirname, '../../../server/modules/purchasing', f));

describe('purchase of services in /api/openapi.json', () => {
  it('when the document is read, then every purchasing API route is published with its method', async () => {
    const doc = (await h().api().get('/api/openapi.json').expect(200)).body;
    const routes = ROUTES.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\br\.(get|post|put|delete)\('([^']+)'/g)].map(([, method, p]) => [method, `/api${p.replace(/:(\w+)/g, '{$1}')}`]));
    expect(routes.length).to.be.at.least(25);
    const missing = routes.filter(([method, p]) => !doc.paths[p]?.[method]).map(([m, p]) => `${m} ${p}`);
    expect(missing, 'routes missing from the OpenAPI document').to.deep.equal([]);
    expect(doc.components.schemas.Call.properties.status.enum).to.include('notice');
    expect(doc.paths['/api/calls'].post.requestBody.content['application/json'].schema.required).to.include.members(['street', 'title', 'budget', 'criteria']);
  });
});
