import { z } from 'zod';
import { PUBLISHED_DEMO_PASSWORD } from './modules/auth/demo-secrets.js';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));

/** Every setting the service reads, each documented; README's table mirrors this list. */
const schema = z
  .object({
    /** `development`, `test` or `production`. */
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    /** HTTP port for web pages, the API, the webhook and socket.io. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Address to listen on. */
    HOST: z.string().default('0.0.0.0'),
    /** Public base URL printed at start and used in links; defaults to http://localhost:PORT. */
    PUBLIC_URL: z.url().optional(),
    /** PostgreSQL, the system of record. The database is created if it is missing. */
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/shanhui'),
    /** Maximum PostgreSQL connections per process. */
    DB_POOL_MAX: z.coerce.number().int().min(2).max(200).default(10),
    /** Redis for queues, socket.io fan-out and live totals. */
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').default('redis://127.0.0.1:6379'),
    /** Prefix for every Redis key and queue, so several deployments can share one Redis. */
    REDIS_PREFIX: z.string().regex(/^[a-z0-9_-]+$/i).default('shanhui'),
    /** Stripe secret key. Without it the sandbox payment provider runs (test mode, no real money). */
    STRIPE_SECRET_KEY: z.string().startsWith('sk_').optional(),
    /** Stripe publishable key, for Stripe.js on the checkout page. */
    STRIPE_PUBLISHABLE_KEY: z.string().startsWith('pk_').optional(),
    /** Signing secret of the Stripe webhook endpoint. Required with STRIPE_SECRET_KEY. */
    STRIPE_WEBHOOK_SECRET: z.string().startsWith('whsec_').optional(),
    /** Override the Stripe API host (e.g. stripe-mock at localhost). */
    STRIPE_API_HOST: z.string().optional(),
    /** Override the Stripe API port. */
    STRIPE_API_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** Override the Stripe API protocol. */
    STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional(),
    /** Value of an association_admin API token that must exist after start. */
    BOOTSTRAP_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Seed demo data when the database is empty; defaults to true, except in production. */
    SEED_DEMO: bool.optional(),
    /** The demo users' password. Required to seed demo data in production, where the published one is refused. */
    SEED_DEMO_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(200).optional(),
    /** Run the sandbox payment provider in production (a test installation). Written loudly at start and on every page. */
    ALLOW_SANDBOX_IN_PRODUCTION: bool.default(false),
    /** Proxies whose X-Forwarded-For is trusted (Express `trust proxy`): a hop count, or addresses, CIDRs and `loopback`, comma-separated. */
    TRUST_PROXY: z.string().regex(/^(\d{1,2}|[\w.:/]+(\s*,\s*[\w.:/]+)*)$/, 'must be a hop count or a comma-separated list of addresses').optional(),
    /** `all` runs web and worker in one process; `web` or `worker` run one of them. */
    ROLE: z.enum(['all', 'web', 'worker']).default('all'),
    /** pino log level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Largest single donation, in fen (default ¥50,000). */
    DONATION_MAX_AMOUNT: z.coerce.number().int().min(100).max(10_000_000_000).default(5_000_000),
    /** Most new donations written (and their matches reserved) in one transaction; 1 writes each alone. */
    DONATION_BATCH_MAX: z.coerce.number().int().min(1).max(1000).default(64),
    /** Donation batches one process writes at once; further donations wait for the next batch. */
    DONATION_BATCH_IN_FLIGHT: z.coerce.number().int().min(1).max(200).default(2),
    /** The sandbox provider's processing fee, in basis points (60 = 0.6 %, the usual WeChat Pay / Alipay rate). */
    SANDBOX_FEE_BASIS_POINTS: z.coerce.number().int().min(0).max(1000).default(60),
    /** Days a processor movement may wait for a payout before reconciliation flags it missing at the processor. */
    RECONCILE_SETTLEMENT_DAYS: z.coerce.number().int().min(0).max(90).default(7),
    /** M-14: days of public notice after a campaign ends before its match moves into the pool. */
    RELEASE_NOTICE_DAYS: z.coerce.number().int().min(0).max(365).default(10),
    /** C-8: months without activity after which a fund is flagged dormant. */
    FUND_DORMANCY_MONTHS: z.coerce.number().int().min(1).max(120).default(12),
    /** C-7: the host's kind, which sets the management-cost limit (foundation 10 %, social_group 13 %). */
    ASSOCIATION_KIND: z.enum(['social_group', 'foundation']).default('social_group'),
    /** Where uploaded files (vouchers, reports) are kept, under `attachments/`; created if missing. */
    DATA_DIR: z.string().min(1).default('data'),
    /** Concurrency of each BullMQ worker. */
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
    /** How often the sweeper re-enqueues stored but unprocessed payment events, in ms. */
    EVENT_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000),
    /** How long a pending donation's match stays reserved before it is released, in ms. */
    MATCH_RESERVATION_TTL_MS: z.coerce.number().int().min(1000).default(30 * 60_000),
    /** Key for hashing donor emails, phones and payment fingerprints (risk identities). */
    IDENTITY_SECRET: z.string().min(16, 'must be at least 16 characters').default('shanhui-development-identity-key'),
    /** Key that signs session and CSRF cookies. Required in production. */
    SESSION_SECRET: z.string().min(16, 'must be at least 16 characters').default('shanhui-development-session-key'),
    /** Send cookies only over HTTPS (defaults to true when PUBLIC_URL is https). */
    COOKIE_SECURE: bool.optional(),
    /** Bearer token for GET /metrics; without it only admins may read metrics. */
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Donations one IP address may start per minute (API and form together). */
    DONATION_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30),
    /** Stored events younger than this are left to their own job by the sweeper, in ms. */
    EVENT_SWEEP_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.SESSION_SECRET === 'shanhui-development-session-key') {
      ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message: 'must be set in production' });
    }
    if (env.NODE_ENV === 'production' && env.IDENTITY_SECRET === 'shanhui-development-identity-key') {
      ctx.addIssue({ code: 'custom', path: ['IDENTITY_SECRET'], message: 'must be set in production' });
    }
    if (env.STRIPE_SECRET_KEY && !env.STRIPE_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['STRIPE_WEBHOOK_SECRET'], message: 'is required when STRIPE_SECRET_KEY is set' });
    }
    if (env.NODE_ENV !== 'production') return;
    if (!env.STRIPE_SECRET_KEY && !env.ALLOW_SANDBOX_IN_PRODUCTION) {
      ctx.addIssue({ code: 'custom', path: ['STRIPE_SECRET_KEY'], message: 'is required in production (the sandbox takes no real money; ALLOW_SANDBOX_IN_PRODUCTION=true runs it anyway, for a test installation)' });
    }
    if (env.SEED_DEMO && !env.SEED_DEMO_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['SEED_DEMO_PASSWORD'], message: 'is required to seed demo data in production (the published demo password is refused)' });
    }
    if (env.SEED_DEMO_PASSWORD === PUBLISHED_DEMO_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['SEED_DEMO_PASSWORD'], message: 'must not be the password published in README.md' });
    }
  });

export type Config = Readonly<Omit<z.infer<typeof schema>, 'SEED_DEMO'>> & {
  /** Whether an empty database gets the demo data (SEED_DEMO, else true outside production). */
  readonly SEED_DEMO: boolean;
  /** `stripe` when a secret key is set, else the offline `sandbox`. */
  readonly paymentProvider: 'stripe' | 'sandbox';
  /** True when production runs the sandbox (ALLOW_SANDBOX_IN_PRODUCTION): said at start and on every page. */
  readonly sandboxInProduction: boolean;
  /** The demo users' password: SEED_DEMO_PASSWORD, or outside production the published one. */
  readonly demoPassword: string;
  /** What Express trusts for X-Forwarded-For: TRUST_PROXY, else loopback outside production and nothing in production. */
  readonly trustProxy: string | number | false;
  readonly publicUrl: string;
  /** Whether cookies carry the Secure flag. */
  readonly cookieSecure: boolean;
};


/** Thrown at boot with one line per bad variable, naming it. */
export class ConfigError extends Error {}

function trustProxy(value: string | undefined, env: string): string | number | false {
  if (value === undefined) return env === 'production' ? false : 'loopback';
  return /^\d+$/.test(value) ? Number(value) : value.split(',').map((v) => v.trim()).join(', ');
}

/** Parses an environment once; fails fast with a message naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return Object.freeze({
    ...c,
    SEED_DEMO: c.SEED_DEMO ?? c.NODE_ENV !== 'production',
    paymentProvider: c.STRIPE_SECRET_KEY ? 'stripe' : 'sandbox',
    sandboxInProduction: c.NODE_ENV === 'production' && !c.STRIPE_SECRET_KEY,
    demoPassword: c.SEED_DEMO_PASSWORD ?? PUBLISHED_DEMO_PASSWORD,
    trustProxy: trustProxy(c.TRUST_PROXY, c.NODE_ENV),
    publicUrl: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/$/, ''),
    cookieSecure: c.COOKIE_SECURE ?? (c.PUBLIC_URL ?? '').startsWith('https://'),
  } as const);
}
