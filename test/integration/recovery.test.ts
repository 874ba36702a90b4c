import { expect } from 'chai';
import supertest from 'supertest';
import { startService, type Service } from '../../server/boot.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/lib/logger.js';
import { resetDb, waitFor } from '../helpers/db.js';
import { TEST_ENV } from '../helpers/env.js';
import { fakeCampaign, fakeUser } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { ownRedis } from '../helpers/redis-server.js';
import { piSucceeded, sign } from '../helpers/stripe.js';

/**
 * Recovery without an operator: a second service (web and worker) on a Redis of the test's own,
 * which the test stops and brings back empty, as a Redis restart without persistence does.
 */
describe('recovery when Redis restarts empty', function () {
  this.timeout(60_000);
  let redis: Awaited<ReturnType<typeof ownRedis>>;
  let service: Service;

  before(async () => {
    redis = await ownRedis();
    const config = loadConfig({ ...process.env, ...TEST_ENV, REDIS_URL: redis.url, REDIS_PREFIX: 'shanhui-recovery', EVENT_SWEEP_INTERVAL_MS: '500', EVENT_SWEEP_GRACE_MS: '0' });
    service = await startService(config, createLogger(config.LOG_LEVEL));
  });
  after(async () => {
    await redis.start().catch(() => undefined);
    await service?.stop();
    await redis.stop();
  });
  beforeEach(resetDb);

  it('when Redis is down, then sign-in says plainly it is unavailable, a signed-in page answers 503 with Retry-After, and nothing answers 500', async () => {
    const campaign = await fakeCampaign();
    const user = await fakeUser('street_officer', { password: 'correct-horse-battery' });
    const officer = supertest.agent(service.url!);
    const csrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1];
    const login = await officer.get('/login').expect(200);
    await officer.post('/login').type('form').send({ email: user.email, password: 'correct-horse-battery', _csrf: csrf(login.text) }).expect(303);
    await officer.get('/console').expect(200);

    await redis.stop();
    const visitor = supertest.agent(service.url!);
    const page = await visitor.get('/login').expect(503);
    expect(page.headers['retry-after']).to.equal('10');
    expect(page.text).to.include('登录功能暂时不可用');
    const tried = await visitor.post('/login').type('form').send({ email: user.email, password: 'correct-horse-battery', _csrf: csrf(page.text) }).expect(503);
    expect(tried.text).to.include('登录功能暂时不可用');
    const signedIn = await officer.get('/console').expect(503);
    expect(signedIn.headers['retry-after']).to.equal('10');
    const statuses: Record<string, number> = {};
    for (const path of ['/', `/campaigns/${campaign.slug}`, `/api/campaigns/${campaign.slug}`, '/api/campaigns', '/pools', '/calls', '/readyz', '/healthz']) {
      statuses[path] = (await supertest(service.url!).get(path)).status;
    }
    const gift = await supertest(service.url!).post(`/api/campaigns/${campaign.slug}/donations`).send({ amount: 1000, currency: 'CNY', donor: {} });
    statuses.donate = gift.status;
    expect(Object.values(statuses).filter((s) => s >= 500 && s !== 503), JSON.stringify(statuses)).to.deep.equal([]);
    await redis.start();
    await waitFor(async () => (await supertest(service.url!).get('/login')).status === 200, 'sign-in available again');
  });

  it('when webhooks arrive while Redis is down and Redis comes back empty, then every stored event is applied with no restart, and /readyz says so meanwhile', async () => {
    const api = () => supertest(service.url!);
    const campaign = await fakeCampaign();
    const gifts: { id: string; amount: number; payment_ref: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api().post(`/api/campaigns/${campaign.slug}/donations`).send({ amount: 1000 + i, currency: 'CNY', donor: {} }).expect(201);
      const row = await h().db('donations').where({ id: res.body.id }).first('payment_ref');
      gifts.push({ id: res.body.id as string, amount: 1000 + i, payment_ref: row.payment_ref as string });
    }

    await redis.stop();
    for (const g of gifts) {
      const payload = JSON.stringify(piSucceeded(g));
      await api().post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', sign(payload)).send(payload).expect(200);
    }
    const down = await api().get('/readyz').expect(503);
    expect(down.body).to.include({ status: 'not_ready', redis: 'down' });
    expect(down.body.payments).to.include({ unprocessed: 5 });

    await redis.start();
    const succeeded = () => h().db('donations').whereIn('id', gifts.map((g) => g.id)).where({ status: 'succeeded' }).count({ n: '*' }).first();
    await waitFor(async () => Number((await succeeded())!.n) === gifts.length, 'every stored event applied after the restart', 30_000);
    expect(await h().db('processor_events').whereNull('processed_at').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    const ready = await waitFor(async () => {
      const res = await api().get('/readyz');
      return res.status === 200 && res.body;
    }, 'ready again');
    expect(ready.schedules).to.deep.equal({ state: 'ok' });
  });
});
