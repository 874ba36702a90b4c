import { expect } from 'chai';
import type { CampaignRow } from '../../../server/modules/campaigns/index.js';
import { resetDb } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';

const count = async (table: string) => Number((await h().db(table).count({ n: '*' }).first())!.n);

describe('donations API', () => {
  let campaign: CampaignRow;
  beforeEach(async () => {
    await resetDb();
    campaign = await fakeCampaign();
  });

  const give = (body: unknown, key?: string) => {
    const req = h().api().post(`/api/campaigns/${campaign.slug}/donations`);
    if (key) req.set('Idempotency-Key', key);
    return req.send(body as object);
  };

  it('when a donation is created, then it is pending with a sandbox payment and no reserved match', async () => {
    const res = await give({ amount: 5000, currency: 'CNY', donor: { name: '王阿姨', email: 'wang@example.com', phone: '13800000000' }, message: '加油' }, 'k-1').expect(201);
    expect(res.body).to.include({ status: 'pending', amount: 5000, currency: 'CNY', matched: 0, campaign: campaign.slug });
    expect(res.body.match).to.deep.equal({ reserved: 0, committed: 0 });
    expect(res.body.payment.provider).to.equal('sandbox');
    expect(res.body.payment.test_mode).to.equal(true);
    expect(res.body.payment.payment_intent).to.match(/^pi_sandbox_/);
    expect(res.body.payment.client_secret).to.be.a('string');
    expect(res.body.payment.checkout_url).to.match(new RegExp(`/sandbox/checkout/${res.body.id}$`));

    const got = await h().api().get(`/api/donations/${res.body.id}`).expect(200);
    expect(got.body).to.include({ id: res.body.id, status: 'pending', amount: 5000, matched: 0 });
    const text = JSON.stringify(got.body) + JSON.stringify(res.body);
    expect(text).not.to.include('wang@example.com');
    expect(text).not.to.include('13800000000');
  });

  it('when the donor gives a name without opting out, then the public name is still 爱心人士 (D-5)', async () => {
    const anon = await give({ amount: 5000, currency: 'CNY', donor: { name: '王阿姨' } }).expect(201);
    expect(anon.body.donor).to.deep.equal({ display_name: '爱心人士', anonymous: true });
    const named = await give({ amount: 5000, currency: 'CNY', donor: { name: '王阿姨', anonymous: false } }).expect(201);
    expect(named.body.donor).to.deep.equal({ display_name: '王阿姨', anonymous: false });
    const en = await h().api().get(`/api/donations/${anon.body.id}?lang=en`).expect(200);
    expect(en.body.donor.display_name).to.equal('Caring donor');
  });

  it('when the same Idempotency-Key is sent again, then the same donation comes back and nothing new is stored', async () => {
    const body = { amount: 8800, currency: 'CNY' };
    const a = await give(body, 'same-key').expect(201);
    const b = await give(body, 'same-key').expect(201);
    expect(b.body).to.deep.equal(a.body);
    expect(a.headers['idempotent-replayed']).to.equal('false');
    expect(b.headers['idempotent-replayed']).to.equal('true');
    expect(await count('donations')).to.equal(1);
    expect(await count('sandbox_payments')).to.equal(1);
  });

  it('when twenty requests race with one key, then exactly one donation and one payment exist', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => give({ amount: 1000, currency: 'CNY' }, 'race-key')));
    expect(results.map((r) => r.status)).to.deep.equal(Array(20).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).to.equal(1);
    expect(new Set(results.map((r) => r.body.payment.payment_intent)).size).to.equal(1);
    expect(await count('donations')).to.equal(1);
    expect(await count('sandbox_payments')).to.equal(1);
  });

  it('when a key is reused for a different request, then 409 and the first donation is unchanged', async () => {
    const first = await give({ amount: 1000, currency: 'CNY' }, 'reuse').expect(201);
    const res = await give({ amount: 2000, currency: 'CNY' }, 'reuse').expect(409);
    expect(res.body.error.code).to.equal('idempotency_key_reused');
    const got = await h().api().get(`/api/donations/${first.body.id}`).expect(200);
    expect(got.body.amount).to.equal(1000);
    expect(await count('donations')).to.equal(1);
  });

  it('when the campaign is a draft, unknown or outside its window, then nothing is stored', async () => {
    const draft = await fakeCampaign({ status: 'draft' });
    const ended = await fakeCampaign({ startsAt: new Date(Date.now() - 10 * 864e5), endsAt: new Date(Date.now() - 864e5) });
    const future = await fakeCampaign({ startsAt: new Date(Date.now() + 864e5), endsAt: new Date(Date.now() + 10 * 864e5) });
    await h().api().post(`/api/campaigns/${draft.slug}/donations`).send({ amount: 1000, currency: 'CNY' }).expect(404);
    await h().api().post('/api/campaigns/no-such-campaign/donations').send({ amount: 1000, currency: 'CNY' }).expect(404);
    for (const c of [ended, future]) {
      const res = await h().api().post(`/api/campaigns/${c.slug}/donations`).send({ amount: 1000, currency: 'CNY' }).expect(409);
      expect(res.body.error.code).to.equal('campaign_not_accepting');
    }
    expect(await count('donations')).to.equal(0);
  });

  describe('bad input gets a 4xx naming the field and stores nothing', () => {
    const cases: [string, unknown, string][] = [
      ['zero', { amount: 0, currency: 'CNY' }, 'amount'],
      ['negative', { amount: -500, currency: 'CNY' }, 'amount'],
      ['fractional', { amount: 100.5, currency: 'CNY' }, 'amount'],
      ['below ¥1', { amount: 99, currency: 'CNY' }, 'amount'],
      ['above the maximum', { amount: 5_000_001, currency: 'CNY' }, 'amount'],
      ['huge', { amount: 1e20, currency: 'CNY' }, 'amount'],
      ['a string amount', { amount: '5000', currency: 'CNY' }, 'amount'],
      ['no amount', { currency: 'CNY' }, 'amount'],
      ['a wrong currency', { amount: 5000, currency: 'USD' }, 'currency'],
      ['<script> in the name', { amount: 5000, currency: 'CNY', donor: { name: '<script>alert(1)</script>' } }, 'donor.name'],
      ['<script> in the message', { amount: 5000, currency: 'CNY', message: 'hi <script>alert(1)</script>' }, 'message'],
      ['an img onerror in the message', { amount: 5000, currency: 'CNY', message: '<img src=x onerror=alert(1)>' }, 'message'],
      ['a bad email', { amount: 5000, currency: 'CNY', donor: { email: 'not-an-email' } }, 'donor.email'],
      ['a too long message', { amount: 5000, currency: 'CNY', message: '长'.repeat(201) }, 'message'],
      ['a control character', { amount: 5000, currency: 'CNY', donor: { name: 'a\u0007b' } }, 'donor.name'],
    ];
    for (const [name, body, field] of cases) {
      it(`when the body has ${name}, then 400 names ${field}`, async () => {
        const res = await give(body, `bad-${name.replace(/\W+/g, "-")}`).expect(400);
        expect(res.body.error.code).to.equal('validation_failed');
        expect(res.body.error.message).to.be.a('string').and.not.empty;
        expect(res.body.error.fields).to.have.property(field);
        expect(JSON.stringify(res.body)).not.to.include('<script>');
        expect(await count('donations')).to.equal(0);
        expect(await count('sandbox_payments')).to.equal(0);
      });
    }

    it('when the body is not JSON, then 400 invalid_json', async () => {
      const res = await h().api().post(`/api/campaigns/${campaign.slug}/donations`).set('Content-Type', 'application/json').send('{amount: 5000,').expect(400);
      expect(res.body.error.code).to.equal('invalid_json');
      const plain = await h().api().post(`/api/campaigns/${campaign.slug}/donations`).set('Content-Type', 'text/plain').send('amount=5000').expect(400);
      expect(plain.body.error.fields).to.have.property('amount');
      expect(await count('donations')).to.equal(0);
    });

    it('when the Idempotency-Key is not printable ASCII, then 400', async () => {
      const res = await give({ amount: 5000, currency: 'CNY' }, 'x'.repeat(300)).expect(400);
      expect(res.body.error.code).to.equal('validation_failed');
      expect(await count('donations')).to.equal(0);
    });

    it('when errors are asked for in English, then the message is English', async () => {
      const res = await h().api().post(`/api/campaigns/${campaign.slug}/donations`).set('Accept-Language', 'en').send({ amount: 50, currency: 'CNY' }).expect(400);
      expect(res.body.error.fields.amount).to.equal('The amount must be at least ¥1.00.');
    });
  });

  it('when an unknown donation id or a malformed one is asked for, then 404 JSON', async () => {
    const res = await h().api().get('/api/donations/00000000-0000-4000-8000-000000000000').expect(404);
    expect(res.body.error.code).to.equal('not_found');
    await h().api().get('/api/donations/not-a-uuid').expect(404);
  });
});
