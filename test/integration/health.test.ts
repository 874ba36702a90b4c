import { expect } from 'chai';
import express from 'express';
import { Redis } from 'ioredis';
import supertest from 'supertest';
import { healthRouter } from '../../server/http/health.js';
import { h } from '../helpers/harness.js';

describe('health', () => {
  it('when PostgreSQL and Redis answer, then 200 {status, db, redis} all ok', async () => {
    const res = await h().api().get('/healthz').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok', db: 'ok', redis: 'ok' });
  });

  it('when Redis is unreachable, then 503 names redis', async () => {
    const dead = new Redis('redis://127.0.0.1:6390', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const res = await supertest(express().use(healthRouter({ db: h().db, redis: dead }))).get('/healthz').expect(503);
    expect(res.body).to.deep.equal({ status: 'degraded', db: 'ok', redis: 'down' });
    dead.disconnect();
  });

  it('when the API contract is fetched, then it is OpenAPI listing every endpoint', async () => {
    const res = await h().api().get('/api/openapi.json').expect(200);
    expect(res.body.openapi).to.match(/^3\./);
    expect(Object.keys(res.body.paths)).to.include.members(['/api/campaigns', '/api/campaigns/{slug}', '/api/campaigns/{slug}/donations', '/api/donations/{id}', '/api/ledger/trial-balance', '/webhooks/stripe', '/healthz']);
    expect(res.body.paths['/api/campaigns/{slug}/donations'].post.requestBody.content['application/json'].schema.properties.amount.maximum).to.equal(h().config.DONATION_MAX_AMOUNT);
  });
});
