import { expect } from 'chai';
import { h } from '../helpers/harness.js';
import { mountedRoutes, toOpenApiPath } from '../helpers/mounted-routes.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const isPublicApi = (p: string) => p.startsWith('/api/') || p.startsWith('/webhooks/');

/** The OpenAPI document and the mounted routes are the same set, both ways. */
describe('/api/openapi.json against the mounted routes', () => {
  it('when the app is walked, then every /api and /webhooks route is in the document with its method', async () => {
    const doc = (await h().api().get('/api/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const routes = mountedRoutes().filter((r) => isPublicApi(r.path) && r.path !== '/api/openapi.json');
    expect(routes.length, 'routes found by walking the router stack').to.be.at.least(80);
    const missing = routes.filter((r) => !doc.paths[toOpenApiPath(r.path)]?.[r.method]).map((r) => `${r.method.toUpperCase()} ${toOpenApiPath(r.path)}`);
    expect(missing, 'mounted routes missing from the OpenAPI document').to.deep.equal([]);
  });

  it('when the document is read, then every path and method in it is mounted', async () => {
    const doc = (await h().api().get('/api/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const mounted = new Set(mountedRoutes().map((r) => `${r.method} ${toOpenApiPath(r.path)}`));
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m} ${p}`));
    expect(documented.length).to.be.at.least(80);
    expect(documented.filter((d) => !mounted.has(d)), 'documented but not mounted').to.deep.equal([]);
  });
});
