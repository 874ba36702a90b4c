import { expect } from 'chai';
import { ConfigError, loadConfig, SANDBOX_WEBHOOK_SECRET } from '../../server/config.js';

describe('config', () => {
  it('when nothing is set, then the documented defaults apply and the sandbox runs', () => {
    const c = loadConfig({});
    expect(c.PORT).to.equal(3000);
    expect(c.DATABASE_URL).to.equal('postgres://postgres@127.0.0.1:5432/shanhui');
    expect(c.REDIS_URL).to.equal('redis://127.0.0.1:6379');
    expect(c.DONATION_MAX_AMOUNT).to.equal(5_000_000);
    expect(c.paymentProvider).to.equal('sandbox');
    expect(c.webhookSecret).to.equal(SANDBOX_WEBHOOK_SECRET);
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
