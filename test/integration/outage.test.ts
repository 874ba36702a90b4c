import { expect } from 'chai';
import express from 'express';
import { Redis } from 'ioredis';
import knex from 'knex';
import pg from 'pg';
import supertest from 'supertest';
import { errorHandler } from '../../server/http/middleware/error-handler.js';
import { i18n } from '../../server/http/middleware/i18n.js';
import { outageOf } from '../../server/http/outage.js';
import { createDonationsService } from '../../server/modules/donations/index.js';
import { fakeCampaign } from '../helpers/factories.js';
import { waitFor } from '../helpers/db.js';
import { h } from '../helpers/harness.js';
import { freePort } from '../helpers/redis-server.js';

/** knex's own warnings about the refused connections the tests make on purpose. */
const quiet = { warn: () => undefined, error: () => undefined, debug: () => undefined, deprecate: () => undefined };

const caught = async (fn: () => Promise<unknown>): Promise<unknown> => fn().then(() => expect.fail('expected an error'), (err: unknown) => err);

describe('outages answer 503, other errors do not', () => {
  it('when PostgreSQL refuses connections, drops one mid-session or the pool times out, then the error is a database outage', async () => {
    const port = await freePort();
    const refused = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
    expect(outageOf(await caught(() => refused.connect()))).to.equal('database');

    const pool = knex({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${port}/x`, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 300, log: quiet });
    expect(outageOf(await caught(() => pool.raw('SELECT 1')))).to.equal('database');
    await pool.destroy();

    const client = new pg.Client({ connectionString: h().config.DATABASE_URL });
    client.on('error', () => undefined);
    await client.connect();
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    await h().db.raw('SELECT pg_terminate_backend(?)', [rows[0].pid]);
    expect(outageOf(await caught(() => client.query('SELECT 1'))), 'a backend terminated as by a restart').to.equal('database');
    await client.end().catch(() => undefined);

    // A pool of its own, so the harness's pool never hands out the connection cut here.
    const own = knex({ client: 'pg', connection: h().config.DATABASE_URL, pool: { min: 0, max: 1 }, log: quiet });
    const sleeping = Promise.resolve(own.raw(`SELECT pg_sleep(5), 'outage-test'`));
    sleeping.catch(() => undefined);
    const pid = await waitFor(async () => (await h().db.raw(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%''outage-test''' AND state = 'active'`)).rows[0]?.pid, 'the sleeping query');
    await h().db.raw('SELECT pg_terminate_backend(?)', [pid]);
    expect(outageOf(await caught(() => sleeping)), 'a pooled query cut off as by a restart, its SQL before the message').to.equal('database');
    await own.destroy();
    expect(outageOf(new Error('SELECT * FROM donations_write_batch($1::jsonb, $2::jsonb) - Connection terminated unexpectedly')), 'a socket closed without a word, as knex reports it').to.equal('database');
  });

  it('when Redis cannot be reached by the fail-fast client, then the error is a Redis outage', async () => {
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => undefined);
    await redis.connect().catch(() => undefined);
    expect(outageOf(await caught(() => redis.get('x')))).to.equal('redis');
    redis.disconnect();
  });

  it('when the database fails while a payment is being created, then the donation answers 503 (our outage), not 502 (the processor)', async () => {
    const refused = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x` });
    const outage = await caught(() => refused.connect());
    const donations = createDonationsService({
      db: h().db, campaigns: h().c.campaigns, log: h().c.log,
      provider: { ...h().c.provider, createPayment: () => Promise.reject(outage) },
    });
    const campaign = await fakeCampaign();
    const err = await caught(() => donations.create(campaign.slug, { amount: 1000, currency: 'CNY', donor: {} }));
    expect(err).to.equal(outage);
  });

  it('when the error is a bug or bad SQL, then it is no outage', async () => {
    expect(outageOf(await caught(() => h().db.raw('SELEC 1')))).to.equal(null);
    expect(outageOf(await caught(() => h().db.raw('SELECT 1/0')))).to.equal(null);
    expect(outageOf(new TypeError("Cannot read properties of undefined (reading 'id')"))).to.equal(null);
    expect(outageOf(undefined)).to.equal(null);
  });

  it('when a request meets an outage, then JSON clients get 503 {error} and pages get a 503 page, both with Retry-After', async () => {
    const dead = knex({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${await freePort()}/x`, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 300, log: quiet });
    const app = express().use(i18n());
    app.get(['/api/thing', '/thing'], async () => dead('campaigns').first());
    app.get('/bug', () => {
      throw new Error('a plain bug');
    });
    app.set('views', `${import.meta.dirname}/../../views`).set('view engine', 'ejs').use(errorHandler);
    const json = await supertest(app).get('/api/thing').expect(503);
    expect(json.headers['retry-after']).to.equal('10');
    expect(json.body.error.code).to.equal('service_unavailable');
    expect(json.body.error.message).to.match(/数据库/);
    const page = await supertest(app).get('/thing').set('Accept', 'text/html').expect(503);
    expect(page.headers['retry-after']).to.equal('10');
    expect(page.text).to.include('服务暂时不可用');
    await supertest(app).get('/bug').expect(500);
    await dead.destroy();
  });
});
