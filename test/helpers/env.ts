/** The test environment: its own database and Redis database, quiet logs, no sweeper timer. */
export const TEST_ENV = {
  NODE_ENV: 'test',
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/shanhui_test',
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15',
  REDIS_PREFIX: 'shanhui-test',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  SEED_DEMO: 'false',
  EVENT_SWEEP_INTERVAL_MS: '3600000',
  EVENT_SWEEP_GRACE_MS: '0',
  WORKER_CONCURRENCY: '8',
  DB_POOL_MAX: '20',
  STRIPE_SECRET_KEY: '',
  DONATION_RATE_LIMIT_PER_MINUTE: '1000000',
  RECONCILE_SETTLEMENT_DAYS: '0',
  DATA_DIR: `${process.env.TMPDIR ?? '/tmp'}/shanhui-test-data`,
};
