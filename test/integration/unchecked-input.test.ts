import { expect } from 'chai';
import type { Response } from 'supertest';
import { resetDb } from '../helpers/db.js';
import { fakeCampaign, fakeStreet, fakeUser, tokenFor } from '../helpers/factories.js';
import { signIn } from '../helpers/forms.js';
import { h } from '../helpers/harness.js';
import type { CampaignRow } from '../../server/modules/campaigns/index.js';
import { rowSnapshot } from '../helpers/row-snapshot.js';

const DAY = 86_400_000;

/** A 400 `validation_failed` whose `error.fields` names `field`. */
function expectFieldError(res: Response, field: string): void {
  expect(res.status, `${res.status} ${res.text.slice(0, 300)}`).to.equal(400);
  expect(res.body.error.code).to.equal('validation_failed');
  expect(res.body.error.fields, JSON.stringify(res.body.error)).to.have.property(field).that.is.a('string').and.not.empty;
}

/**
 * Input that PostgreSQL would refuse (an integer out of range, invalid JSON from a
 * lone surrogate, a NUL) is answered with a 400 naming the field, and no row changes.
 */
describe('input that would reach PostgreSQL unchecked', () => {
  let admin: string;
  let live: CampaignRow;
  let draft: CampaignRow;
  let streetId: number;
  let before: string;
  beforeEach(async () => {
    await resetDb();
    admin = await tokenFor('association_admin');
    ({ streetId } = await fakeStreet());
    live = await fakeCampaign({ streetId });
    draft = await fakeCampaign({ streetId, status: 'draft' });
    before = await rowSnapshot();
  });
  afterEach(async () => {
    expect(await rowSnapshot(), 'rows changed').to.equal(before);
  });

  for (const path of ['/api/campaigns', '/api/calls', '/api/funds']) {
    it(`when ${path}?street=99999999999 is asked for, then 400 naming street (not integer out of range)`, async () => {
      const res = await h().api().get(`${path}?street=99999999999`).set('Authorization', `Bearer ${admin}`);
      expectFieldError(res, 'street');
    });
  }

  for (const field of ['message', 'donor.name']) {
    it(`when a donation's ${field} holds a lone surrogate (\\ud800), then 400 naming ${field} and no donation`, async () => {
      const body = field === 'message' ? '{"amount":5000,"currency":"CNY","message":"加油\\ud800"}' : '{"amount":5000,"currency":"CNY","donor":{"name":"\\ud800王"}}';
      const res = await h().api().post(`/api/campaigns/${live.slug}/donations`).set('Content-Type', 'application/json').send(body);
      expectFieldError(res, field);
      expect(res.body.error.fields[field]).to.match(/surrogate|代理项/);
    });
  }

  it('when a path slug is a NUL (/api/campaigns/%00/donations), then 400 naming slug', async () => {
    const res = await h().api().post('/api/campaigns/%00/donations').send({ amount: 5000, currency: 'CNY' });
    expectFieldError(res, 'slug');
  });

  it('when a campaign story holds a NUL, then 400 naming story, on create and on edit', async () => {
    const body = { slug: 'nul-story', title: '困境儿童居住空间改造', story: '第一段\u0000第二段', goal: 5_000_000, street: streetId, ends_at: new Date(Date.now() + 30 * DAY).toISOString() };
    expectFieldError(await h().api().post('/api/campaigns').set('Authorization', `Bearer ${admin}`).send(body), 'story');
    expectFieldError(await h().api().patch(`/api/campaigns/${draft.slug}`).set('Authorization', `Bearer ${admin}`).send({ story: 'a\u0000b' }), 'story');
  });
});

/** The same classes of input on pages: the error page with a 4xx, never a 500. */
describe('pages given input that would reach PostgreSQL unchecked', () => {
  before(async () => {
    await resetDb();
  });

  for (const path of ['/pools/99999999999', '/calls/99999999999', '/projects/99999999999']) {
    it(`when ${path} is opened, then the 404 page (the id is out of range, so it names nothing)`, async () => {
      await h().api().get(path).set('Accept', 'text/html').expect(404).expect('Content-Type', /html/);
    });
  }

  it('when staff revoke a token whose id is out of range, then nothing is revoked and they are sent back to /account, not shown a 500', async () => {
    const user = await fakeUser('street_officer', { password: 'correct-horse-battery' });
    const { id } = await h().c.auth.issueToken({ userId: user.id, label: 'kept' });
    const b = await signIn(user.email, 'correct-horse-battery');
    const res = await b.post('/account/tokens/99999999999/revoke', {}, '/account');
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/account');
    expect(await h().db('api_tokens').where({ id }).first('revoked_at')).to.deep.equal({ revoked_at: null });
  });

  it('when a query word holds a NUL (/campaigns?q=a%00b), then the 400 page', async () => {
    await h().api().get('/campaigns?q=a%00b').set('Accept', 'text/html').expect(400).expect('Content-Type', /html/);
  });

  it('when a path holds bytes that are no UTF-8 (a lone surrogate, %ED%A0%80), then 400 naming the path, for pages and the API', async () => {
    await h().api().get('/campaigns/%ED%A0%80').set('Accept', 'text/html').expect(400).expect('Content-Type', /html/);
    const res = await h().api().get('/api/campaigns/%ED%A0%80');
    expectFieldError(res, 'path');
  });
});
