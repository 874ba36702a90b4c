import { expect } from 'chai';
import supertest from 'supertest';
import { createApp } from '../../server/app.js';
import { csrfOf } from '../helpers/forms.js';
import { resetDb } from '../helpers/db.js';
import { fakeUser } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';

const PASSWORD = 'correct-horse-battery';

/** A browser at one address (as the trusted proxy reports it in X-Forwarded-For). */
function from(ip: string, target: string | ReturnType<typeof createApp> = h().url) {
  const agent = supertest.agent(target);
  return {
    async login(email: string, password: string) {
      const page = await agent.get('/login').set('X-Forwarded-For', ip);
      return agent.post('/login').set('X-Forwarded-For', ip).type('form').send({ email, password, _csrf: csrfOf(page.text) });
    },
  };
}

async function clearLoginKeys(): Promise<void> {
  const keys = await h().c.redis.keys(`${h().config.REDIS_PREFIX}:login:*`);
  if (keys.length) await h().c.redis.del(...keys);
}

describe('sign-in throttling (nobody can lock someone else out)', () => {
  beforeEach(resetDb);
  afterEach(clearLoginKeys);

  it('when one address fails five times, then that address is locked for the account, and the right password from another address still signs in', async () => {
    const u = await fakeUser('street_officer', { password: PASSWORD });
    const attacker = from('203.0.113.7');
    for (let i = 0; i < 5; i++) expect((await attacker.login(u.email, 'wrong-password-1')).status).to.equal(401);
    const locked = await attacker.login(u.email, PASSWORD);
    expect(locked.status, 'the attacking address stays locked').to.equal(429);
    expect(Number(locked.headers['retry-after'])).to.be.within(60, 15 * 60);
    const owner = await from('198.51.100.20').login(u.email, PASSWORD);
    expect(owner.status, 'the owner, elsewhere, is not locked out').to.equal(303);
  });

  it('when failures come from many addresses, then the account slows down by seconds, never locks, and the right password gets through after the wait', async () => {
    const u = await fakeUser('street_officer', { password: PASSWORD });
    for (let i = 0; i < 10; i++) expect((await from(`203.0.113.${i + 10}`).login(u.email, 'wrong-password-1')).status).to.equal(401);
    const owner = from('198.51.100.30');
    const slowed = await owner.login(u.email, PASSWORD);
    expect(slowed.status, 'right after the tenth failure the account asks for a short wait').to.equal(429);
    const wait = Number(slowed.headers['retry-after']);
    expect(wait).to.be.within(1, 30);
    expect(slowed.text).to.match(/秒后再试/);
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    expect((await owner.login(u.email, PASSWORD)).status, 'then it signs in').to.equal(303);
  });

  it('when no proxy is trusted (production default), then X-Forwarded-For is ignored and rotating it does not dodge the lock', async () => {
    const app = createApp({ ...h().c, config: { ...h().c.config, trustProxy: false } });
    const u = await fakeUser('street_officer', { password: PASSWORD });
    for (let i = 0; i < 5; i++) expect((await from(`203.0.113.${i + 50}`, app).login(u.email, 'wrong-password-1')).status).to.equal(401);
    expect((await from('198.51.100.40', app).login(u.email, PASSWORD)).status, 'the forged address is not the address').to.equal(429);
  });
});
