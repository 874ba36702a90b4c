import { expect } from 'chai';
import express from 'express';
import { Redis } from 'ioredis';
import supertest from 'supertest';
import { healthRouter } from '../../server/http/health.js';
import { resetDb } from '../helpers/db.js';
import { h } from '../helpers/harness.js';

describe('health', () => {
  it('when PostgreSQL and Redis answer, then 200 {status, db, redis} all ok', async () => {
    const res = await h().api().get('/healthz').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok', db: 'ok', redis: 'ok' });
  });

  it('when Redis is unreachable, then 503 names redis', async () => {
    const dead = new Redis('redis://127.0.0.1:6390', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const res = await supertest(express().use(healthRouter({ db: h().db, redis: dead, queues: h().c.queues, schedules: h().c.schedules, staleAfterMs: 60_000 }))).get('/healthz').expect(503);
    expect(res.body).to.deep.equal({ status: 'degraded', db: 'ok', redis: 'down' });
    dead.disconnect();
  });

  describe('readiness', () => {
    beforeEach(resetDb);

    it('when the schedules exist and no stored event waits, then /readyz is 200 with the backlog', async () => {
      const res = await h().api().get('/readyz').expect(200);
      expect(res.body).to.deep.equal({ status: 'ok', db: 'ok', redis: 'ok', payments: { state: 'ok', unprocessed: 0, oldest_seconds: null }, schedules: { state: 'ok' } });
    });

    it('when a stored event has waited longer than the grace period and two sweeps, then /readyz is 503 and says the sweep is stale', async () => {
      const staleAfterMs = h().config.EVENT_SWEEP_GRACE_MS + 2 * h().config.EVENT_SWEEP_INTERVAL_MS;
      await h().db('processor_events').insert({ id: 'evt_waiting_fresh', provider: 'sandbox', type: 'payment_intent.succeeded', payload: {}, received_at: new Date() });
      expect((await h().api().get('/readyz').expect(200)).body.payments).to.include({ state: 'ok', unprocessed: 1 });
      await h().db('processor_events').insert({ id: 'evt_waiting_long', provider: 'sandbox', type: 'payment_intent.succeeded', payload: {}, received_at: new Date(Date.now() - staleAfterMs - 5000) });
      const res = await h().api().get('/readyz').expect(503);
      expect(res.body.status).to.equal('not_ready');
      expect(res.body.payments.state).to.equal('stale');
      expect(res.body.payments.unprocessed).to.equal(2);
      expect(res.body.payments.oldest_seconds).to.be.at.least(Math.floor(staleAfterMs / 1000));
      expect((await h().api().get('/healthz').expect(200)).body.status, 'liveness is a different question').to.equal('ok');
    });

    it('when a schedule is missing from Redis, then /readyz is 503 naming it', async () => {
      const schedules = [...h().c.schedules, { id: 'never-created.hourly', job: 'run-ledger-checks', queue: 'maintenance' as const, every: 3_600_000 }];
      const res = await supertest(express().use(healthRouter({ db: h().db, redis: h().c.redis, queues: h().c.queues, schedules, staleAfterMs: 60_000 }))).get('/readyz').expect(503);
      expect(res.body.schedules).to.deep.equal({ state: 'missing', missing: ['never-created.hourly'] });
    });
  });

  it('when the API contract is fetched, then it is OpenAPI listing every endpoint', async () => {
    const res = await h().api().get('/api/openapi.json').expect(200);
    expect(res.body.openapi).to.match(/^3\./);
    expect(Object.keys(res.body.paths)).to.include.members(['/api/campaigns', '/api/campaigns/{slug}', '/api/campaigns/{slug}/donations', '/api/donations/{id}', '/api/ledger/trial-balance', '/webhooks/stripe', '/healthz']);
    expect(res.body.paths['/api/campaigns/{slug}/donations'].post.requestBody.content['application/json'].schema.properties.amount.maximum).to.equal(h().config.DONATION_MAX_AMOUNT);
  });
});
