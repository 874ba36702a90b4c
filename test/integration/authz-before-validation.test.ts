import { expect } from 'chai';
import type { Role } from '../../server/modules/auth/index.js';
import { resetDb } from '../helpers/db.js';
import { fakeCampaign, fakeStreet, tokenFor } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { fakeGrant } from '../helpers/matching.js';
import { rowSnapshot } from '../helpers/row-snapshot.js';

interface World { slug: string; streetId: number; fundId: number; grantId: number }

interface WriteRoute {
  method: 'post' | 'put' | 'patch';
  path: (w: World) => string;
  /** A role that may never do this: it must get 403 whatever it sends. */
  wrong: Role;
  /** A role that may: with the same bad body it gets 400, which shows the body is bad. */
  right: Role;
  contentType?: string;
}

const ROUTES: WriteRoute[] = [
  { method: 'post', path: () => '/api/campaigns', wrong: 'sponsor', right: 'street_officer' },
  { method: 'patch', path: (w) => `/api/campaigns/${w.slug}`, wrong: 'association_finance', right: 'association_admin' },
  { method: 'post', path: (w) => `/api/campaigns/${w.slug}/transition`, wrong: 'auditor', right: 'association_admin' },
  { method: 'post', path: () => '/api/grants', wrong: 'association_finance', right: 'association_admin' },
  { method: 'post', path: (w) => `/api/grants/${w.grantId}/top-up`, wrong: 'sponsor', right: 'association_admin' },
  { method: 'post', path: (w) => `/api/grants/${w.grantId}/invoices`, wrong: 'sponsor', right: 'association_finance' },
  { method: 'post', path: () => '/api/ledger/adjustments', wrong: 'auditor', right: 'association_finance' },
  { method: 'post', path: () => '/api/ledger/periods', wrong: 'auditor', right: 'association_finance' },
  { method: 'post', path: () => '/api/approvals/1/approve', wrong: 'auditor', right: 'association_finance' },
  { method: 'post', path: () => '/api/funds', wrong: 'association_finance', right: 'association_admin' },
  { method: 'put', path: (w) => `/api/funds/${w.fundId}/agreement`, wrong: 'street_officer', right: 'association_admin' },
  { method: 'post', path: (w) => `/api/pools/${w.streetId}/government`, wrong: 'auditor', right: 'association_finance' },
  { method: 'post', path: () => '/api/calls', wrong: 'sponsor', right: 'association_admin' },
  { method: 'post', path: () => '/api/reconciliation/run', wrong: 'auditor', right: 'association_finance' },
  { method: 'post', path: () => '/api/organisations', wrong: 'reviewer', right: 'association_admin' },
  { method: 'post', path: () => '/api/donations/00000000-0000-4000-8000-000000000000/refunds', wrong: 'auditor', right: 'association_finance' },
  { method: 'post', path: () => '/api/pledges/bank-statement', wrong: 'street_officer', right: 'association_finance', contentType: 'text/csv' },
];

/** Bodies that no route accepts: not JSON, a NUL, the wrong shape. */
const BAD_BODIES: { name: string; text: string }[] = [
  { name: 'not JSON', text: '{"title": ' },
  { name: 'a NUL', text: '{"title":"a\\u0000b","note":"a\\u0000b","csv":"a\\u0000b"}' },
  { name: 'the wrong shape', text: '{"title":5,"amount":"abc","note":7,"to":"nowhere","period":"x","days":"x","csv":5,"street":-1,"purpose":1}' },
];

/** Who may act is decided before the body is read. */
describe('authorization before validation', () => {
  let w: World;
  const tokens = new Map<Role, string>();
  let rowsBefore: string;

  before(async () => {
    await resetDb();
    const street = await fakeStreet();
    const c = await fakeCampaign({ streetId: street.streetId, status: 'draft' });
    const g = await fakeGrant({ activate: false });
    w = { slug: c.slug, streetId: street.streetId, fundId: street.fundId, grantId: g.id };
    tokens.clear();
    for (const role of new Set(ROUTES.flatMap((r) => [r.wrong, r.right]))) tokens.set(role, await tokenFor(role, role === 'street_officer' ? w.streetId : undefined));
    rowsBefore = await rowSnapshot();
  });
  after(async () => {
    expect(await rowSnapshot(), 'rows changed').to.equal(rowsBefore);
  });

  for (const r of ROUTES) {
    const label = `${r.method.toUpperCase()} ${r.path({ slug: ':slug', streetId: 0, fundId: 0, grantId: 0 }).replace(/\/0(\/|$)/g, '/:id$1')}`;
    for (const body of BAD_BODIES) {
      it(`when ${r.wrong} sends ${label} ${body.name}, then 403 (anonymous 401), while ${r.right} gets 400`, async () => {
        const send = (t?: string) => {
          const req = h().api()[r.method](r.path(w)).set('Content-Type', r.contentType ?? 'application/json');
          return (t ? req.set('Authorization', `Bearer ${t}`) : req).send(r.contentType ? body.text.replace(/\\u0000/g, '\u0000') : body.text);
        };
        const denied = await send(tokens.get(r.wrong));
        expect(denied.status, `${r.wrong}: ${denied.text.slice(0, 200)}`).to.equal(403);
        expect(denied.body.error.code).to.equal('forbidden');
        expect((await send()).status, 'anonymous').to.equal(401);
        const allowed = await send(tokens.get(r.right));
        expect(allowed.status, `${r.right}: ${allowed.text.slice(0, 200)}`).to.equal(400);
      });
    }
  }
});
