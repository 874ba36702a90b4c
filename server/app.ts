import path from 'node:path';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Container } from './container.js';
import { adminQueues } from './http/admin-queues.js';
import { healthRouter } from './http/health.js';
import { createMetrics } from './http/metrics.js';
import { sessionPrincipal } from './http/middleware/auth.js';
import { csrf } from './http/middleware/csrf.js';
import { errorHandler, notFound } from './http/middleware/error-handler.js';
import { i18n } from './http/middleware/i18n.js';
import { formGuard, inputGuard } from './http/middleware/input-guard.js';
import { jsonBody } from './http/middleware/json-body.js';
import { donationRateLimit } from './http/middleware/rate-limit.js';
import { requestLog } from './http/middleware/request-log.js';
import { sessions } from './http/middleware/session.js';
import { openapiRouter } from './http/openapi.js';
import { format } from './lib/money.js';
import { approvalsApi } from './modules/approvals/index.js';
import { authPages, can, type Action, type Subject } from './modules/auth/index.js';
import { campaignsApi, campaignsPages } from './modules/campaigns/index.js';
import { consolePages } from './modules/console/index.js';
import { donationPages, donationsApi, presentPublicDonation, sandboxPages, webhookRouter } from './modules/donations/index.js';
import { fundsApi, pledgesApi, poolsApi, poolsPages } from './modules/funds/index.js';
import { geoRepo } from './modules/geo/index.js';
import { ledgerRouter } from './modules/ledger/index.js';
import { grantsApi, organisationsApi, riskApi } from './modules/matching/index.js';
import { callsApi, contractsApi, purchasingPages } from './modules/purchasing/index.js';
import { reconciliationApi } from './modules/reconciliation/index.js';

const root = path.resolve(import.meta.dirname, '..');

/** Builds the Express app: middleware order, module routers, then the one error handler. */
export function createApp(c: Container): Express {
  const app = express();
  const stripe = c.provider.name === 'stripe';
  const secure = c.config.cookieSecure;
  app.set('view engine', 'ejs');
  app.set('views', path.join(root, 'views'));
  app.set('trust proxy', c.config.trustProxy);
  app.disable('x-powered-by');

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", ...(stripe ? ['https://js.stripe.com'] : [])],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'", 'ws:', 'wss:', ...(stripe ? ['https://api.stripe.com'] : [])],
          frameSrc: stripe ? ['https://js.stripe.com', 'https://hooks.stripe.com'] : ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
    }),
  );
  const metrics = createMetrics({ db: c.db, queues: c.queues });
  app.use(requestLog(c.log));
  app.use(metrics.observe);
  app.use(i18n());
  app.use(inputGuard);
  app.use((_req, res, next) => {
    res.locals.money = format;
    res.locals.cstTime = (iso: string) => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(11, 16);
    res.locals.cstDateTime = (at: Date) => new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    res.locals.testMode = c.provider.testMode;
    res.locals.sandboxInProduction = c.config.sandboxInProduction;
    res.locals.provider = c.provider.name;
    next();
  });
  app.use('/public', express.static(path.join(root, 'public'), { maxAge: '1h', index: false }));
  app.get('/favicon.ico', (_req, res) => res.type('image/svg+xml').sendFile(path.join(root, 'public/img/icon.svg'), { maxAge: '1d' }));
  app.get('/public/vendor/chart.umd.js', (_req, res) => res.sendFile(path.join(root, 'node_modules/chart.js/dist/chart.umd.js'), { maxAge: '1d' }));

  const { EVENT_SWEEP_GRACE_MS: grace, EVENT_SWEEP_INTERVAL_MS: sweep } = c.config;
  app.use(healthRouter({ db: c.db, redis: c.redis, queues: c.queues, schedules: c.schedules, staleAfterMs: grace + 2 * sweep }));
  app.use(webhookRouter({ intake: c.intake }));
  app.post(['/api/campaigns/:slug/donations', '/campaigns/:slug/donate'], donationRateLimit({ redis: c.redis, prefix: c.config.REDIS_PREFIX, perMinute: c.config.DONATION_RATE_LIMIT_PER_MINUTE }));

  const api = express.Router();
  api.use(jsonBody({ limit: '64kb' }));
  api.use(campaignsApi({ campaigns: c.campaigns, auth: c.auth, audit: c.audit, matchState: (row) => c.matching.state(row) }));
  api.use(donationsApi({ donations: c.donations, provider: c.provider, auth: c.auth, approvals: c.approvals, audit: c.audit, maxAmount: c.config.DONATION_MAX_AMOUNT, publicUrl: c.config.publicUrl }));
  api.use(ledgerRouter({ db: c.db, auth: c.auth, approvals: c.approvals, audit: c.audit }));
  api.use(grantsApi({ grants: c.grants, matching: c.matching, campaigns: c.campaigns, auth: c.auth, approvals: c.approvals, audit: c.audit }));
  api.use(riskApi({ matching: c.matching, auth: c.auth, audit: c.audit }));
  api.use(organisationsApi({ db: c.db, auth: c.auth, audit: c.audit }));
  api.use(approvalsApi({ approvals: c.approvals, auth: c.auth, audit: c.audit }));
  api.use(fundsApi({ funds: c.funds, auth: c.auth, audit: c.audit }));
  api.use(poolsApi({ db: c.db, pools: c.pools, releases: c.releases, statements: c.statements, auth: c.auth, audit: c.audit, associationKind: c.config.ASSOCIATION_KIND }));
  api.use(pledgesApi({ pledges: c.pledges, auth: c.auth, audit: c.audit }));
  api.use(callsApi({ purchasing: c.purchasing, auth: c.auth, audit: c.audit }));
  api.use(contractsApi({ purchasing: c.purchasing, auth: c.auth, audit: c.audit }));
  api.use(reconciliationApi({ reconciliation: c.reconciliation, runs: c.runs, sandbox: c.sandbox, auth: c.auth, audit: c.audit }));
  api.use(openapiRouter({ maxAmount: c.config.DONATION_MAX_AMOUNT }));
  app.use('/api', api);

  // Pages: sessions, form bodies, CSRF on every form, the signed-in user.
  app.use(sessions({ redis: c.redis, prefix: c.config.REDIS_PREFIX, secret: c.config.SESSION_SECRET, secure }));
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));
  const forms = csrf({ secret: c.config.SESSION_SECRET, secure });
  app.use(forms.expose, forms.protect, formGuard);
  app.use(sessionPrincipal(c.auth));
  app.use((req, res, next) => {
    res.locals.flash = req.session?.flash ?? [];
    if (req.session?.flash) delete req.session.flash;
    res.locals.can = (action: Action, subject?: Subject) => can(req.principal, action, subject);
    next();
  });
  app.use(metrics.router(c.config.METRICS_TOKEN));
  app.use(adminQueues(c.queues));

  app.use(authPages({ auth: c.auth, limiter: c.limiter, audit: c.audit, recentDonations: (userId) => c.donations.ofUser(userId) }));
  app.use(consolePages(c));
  const matchState = (row: Parameters<typeof c.matching.state>[0]) => c.matching.state(row);
  app.use(campaignsPages({ campaigns: c.campaigns, matchState, recentDonations: async (id, t) => (await c.donations.recentPaid(id)).map((d) => presentPublicDonation(d, t)) }));
  app.use(donationPages({ donations: c.donations, campaigns: c.campaigns, provider: c.provider, maxAmount: c.config.DONATION_MAX_AMOUNT, publishableKey: c.config.STRIPE_PUBLISHABLE_KEY, matchState, matchPreview: (row, amount) => c.matching.preview(row, amount) }));
  app.use(poolsPages({ pools: c.pools, projects: (id) => c.purchasing.contracts.ofStreet(id) }));
  app.use(purchasingPages({ purchasing: c.purchasing, pools: c.pools, streets: () => geoRepo.listStreets(c.db) }));
  if (c.sandbox) app.use(sandboxPages({ donations: c.donations, sandbox: c.sandbox }));

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
