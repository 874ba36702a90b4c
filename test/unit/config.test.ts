import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../server/config.js';

describe('config', () => {
  it('when nothing is set, then the documented defaults apply and the sandbox runs', () => {
    const c = loadConfig({});
    expect(c.PORT).to.equal(3000);
    expect(c.DATABASE_URL).to.equal('postgres://postgres@127.0.0.1:5432/shanhui');
    expect(c.REDIS_URL).to.equal('redis://127.0.0.1:6379');
    expect(c.DONATION_MAX_AMOUNT).to.equal(5_000_000);
    expect(c.paymentProvider).to.equal('sandbox');
    expect(c.SEED_DEMO).to.equal(true);
    expect(c.ROLE).to.equal('all');
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it('when a variable is bad, then boot fails with a message naming it', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).to.throw(ConfigError, /PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).to.throw(ConfigError, /DATABASE_URL/);
    expect(() => loadConfig({ ROLE: 'both' })).to.throw(ConfigError, /ROLE/);
    expect(() => loadConfig({ BOOTSTRAP_ADMIN_TOKEN: 'short' })).to.throw(ConfigError, /BOOTSTRAP_ADMIN_TOKEN/);
  });

  it('when a Stripe key is set without a webhook secret, then STRIPE_WEBHOOK_SECRET is named', () => {
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'sk_test_123' })).to.throw(ConfigError, /STRIPE_WEBHOOK_SECRET/);
    const c = loadConfig({ STRIPE_SECRET_KEY: 'sk_test_123', STRIPE_WEBHOOK_SECRET: 'whsec_abc' });
    expect(c.paymentProvider).to.equal('stripe');
  });
});

describe('config in production', () => {
  const secrets = { NODE_ENV: 'production', SESSION_SECRET: 'a-long-random-session-key', IDENTITY_SECRET: 'a-long-random-identity-key' };
  const stripe = { STRIPE_SECRET_KEY: 'sk_live_123', STRIPE_WEBHOOK_SECRET: 'whsec_live_abc' };

  it('when production has no Stripe key, then it refuses to start naming STRIPE_SECRET_KEY, unless the sandbox is explicitly allowed (and then says so)', () => {
    expect(() => loadConfig(secrets)).to.throw(ConfigError, /STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ ...secrets, STRIPE_SECRET_KEY: 'sk_live_123' })).to.throw(ConfigError, /STRIPE_WEBHOOK_SECRET/);
    expect(loadConfig({ ...secrets, ...stripe })).to.include({ paymentProvider: 'stripe', sandboxInProduction: false });
    expect(loadConfig({ ...secrets, ALLOW_SANDBOX_IN_PRODUCTION: 'true' })).to.include({ paymentProvider: 'sandbox', sandboxInProduction: true });
    expect(loadConfig({ ALLOW_SANDBOX_IN_PRODUCTION: 'true' }).sandboxInProduction, 'outside production the sandbox is simply test mode').to.equal(false);
  });

  it('when production starts without SEED_DEMO, then no demo is seeded; asked for, it needs its own password and refuses the published one', () => {
    expect(loadConfig({ ...secrets, ...stripe }).SEED_DEMO).to.equal(false);
    expect(() => loadConfig({ ...secrets, ...stripe, SEED_DEMO: 'true' })).to.throw(ConfigError, /SEED_DEMO_PASSWORD/);
    expect(() => loadConfig({ ...secrets, ...stripe, SEED_DEMO: 'true', SEED_DEMO_PASSWORD: 'shanhui-demo-2026' })).to.throw(ConfigError, /SEED_DEMO_PASSWORD: must not be the password published/);
    expect(loadConfig({ ...secrets, ...stripe, SEED_DEMO: 'true', SEED_DEMO_PASSWORD: 'a-private-demo-password' })).to.include({ SEED_DEMO: true, demoPassword: 'a-private-demo-password' });
  });

  it('when production is started with the development secrets, then each is named', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ...stripe })).to.throw(ConfigError, /SESSION_SECRET[\s\S]*IDENTITY_SECRET|IDENTITY_SECRET[\s\S]*SESSION_SECRET/);
  });

  it('when no proxy is configured, then production trusts no X-Forwarded-For while development trusts loopback; TRUST_PROXY sets it', () => {
    expect(loadConfig({ ...secrets, ...stripe }).trustProxy).to.equal(false);
    expect(loadConfig({}).trustProxy).to.equal('loopback');
    expect(loadConfig({ ...secrets, ...stripe, TRUST_PROXY: '10.0.0.0/8, 10.1.2.3' }).trustProxy).to.equal('10.0.0.0/8, 10.1.2.3');
    expect(loadConfig({ ...secrets, ...stripe, TRUST_PROXY: '1' }).trustProxy).to.equal(1);
    expect(() => loadConfig({ TRUST_PROXY: 'a b; c' })).to.throw(ConfigError, /TRUST_PROXY/);
  });
});
