import { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { createQueues, withTimeout, type Queues } from '../jobs/queues.js';
import { installationSecret } from './db/installation-secrets.js';
import { JOBS, SCHEDULES } from '../jobs/registry.js';
import type { Config } from './config.js';
import { DEFAULT_LANG, translator } from './lib/i18n.js';
import type { Logger } from './lib/logger.js';
import { createAuthService, createLoginLimiter } from './modules/auth/index.js';
import { campaignsRepo, createCampaignsService, createCampaignTotals } from './modules/campaigns/index.js';
import {
  createDonationsService, createPaymentEvents, createProcessorFees, createSandboxProvider, createStripeProvider, createWebhookIntake,
  displayName, donationsRepo, presentDonationStatus, type Enqueue, type PaymentProvider, type ReserveMatch, type SandboxProvider, type WebhookIntake,
} from './modules/donations/index.js';
import { createFundsService, createPledges, createPools, createReleases, createStatements } from './modules/funds/index.js';
import { createPurchasing } from './modules/purchasing/index.js';
import { createReconciliation, type RunQueue } from './modules/reconciliation/index.js';
import { createApprovals } from './modules/approvals/index.js';
import { createAudit } from './modules/audit/index.js';
import { createLedgerService, credit, debit, JournalKind } from './modules/ledger/index.js';
import { createAllocations, createGrantsService, createMatchingService, presentGrantTotals, type GrantRow, type MatchingService } from './modules/matching/index.js';
import { createPublisher } from './modules/realtime/index.js';

/** How long a producer waits for Redis before giving up (the sweeper covers the rest). */
const ENQUEUE_TIMEOUT_MS = 2000;

/**
 * The composition root: builds every client and service once, wires their dependencies,
 * and closes them in reverse order. Nothing else holds module-level state.
 */
export async function createContainer(config: Config, log: Logger, db: Knex) {
  const prefix = config.REDIS_PREFIX;
  // Fail-fast client for caches and producers: a Redis outage must never stall a request.
  const redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  // Buffering client for socket.io fan-out: publishes wait out a short outage.
  const pubsub = new Redis(config.REDIS_URL, { lazyConnect: true });
  redis.on('error', (err) => log.debug({ err }, 'redis error'));
  pubsub.on('error', (err) => log.debug({ err }, 'redis pubsub error'));
  await Promise.all([redis.connect(), pubsub.connect()]);

  const queues: Queues = createQueues(redis, prefix, (err) => log.debug({ err }, 'queue error'));
  const jobQueue = new Map(JOBS.map((j) => [j.name, j]));
  const enqueue: Enqueue = async (name, payload, jobId, opts) => {
    const def = jobQueue.get(name)!;
    const queue = queues[def.queue];
    await withTimeout(queue.add(name, payload, { ...def.options, jobId, ...(opts?.delay ? { delay: opts.delay } : {}) }), ENQUEUE_TIMEOUT_MS, `enqueue ${name}`);
    if (opts?.revive && (await queue.getJobState(jobId)) === 'failed') await (await queue.getJob(jobId))?.retry();
  };

  const ledger = createLedgerService();
  const auth = createAuthService({ db });
  const funds = createFundsService({ db, ledger });
  let matching: MatchingService | undefined;
  const totals = createCampaignTotals({ db, redis, prefix, log, contributors: [(q, ids) => matching!.totalsFor(q, ids)] });
  const campaigns = createCampaignsService({ db, ledger, totals });

  // The webhook signing secret: Stripe's, or the sandbox's own, made once per installation.
  const webhookSecret = config.STRIPE_WEBHOOK_SECRET ?? (await installationSecret(db, 'sandbox_webhook_secret', 'whsec_'));
  let intake: WebhookIntake | undefined;
  let sandbox: SandboxProvider | undefined;
  let provider: PaymentProvider;
  if (config.STRIPE_SECRET_KEY) {
    provider = createStripeProvider({ secretKey: config.STRIPE_SECRET_KEY, host: config.STRIPE_API_HOST, port: config.STRIPE_API_PORT, protocol: config.STRIPE_API_PROTOCOL });
  } else {
    sandbox = createSandboxProvider({ db, webhookSecret, feeBasisPoints: config.SANDBOX_FEE_BASIS_POINTS, deliver: () => (raw, sig) => intake!.receive(raw, sig) });
    provider = sandbox;
  }
  intake = createWebhookIntake({ db, secret: webhookSecret, provider: provider.name, enqueue, log });

  const liveT = translator(DEFAULT_LANG);
  const publisher = createPublisher({
    redis: pubsub,
    prefix,
    totals,
    log,
    grantTotals: async (id) => {
      const g = await grants.get(id);
      return presentGrantTotals(g, await grants.figures(g));
    },
    grantCampaigns: (id) => matching!.campaignsOf(id),
    campaignSlug: async (id) => (await campaignsRepo.findById(db, id))?.slug,
    recent: async (id) =>
      (await donationsRepo.recentPaid(db, id, 10)).map((d) => ({
        display_name: displayName(d, liveT), anonymous: d.anonymous || !d.donor_name, amount: d.amount_minor, message: d.message, at: (d.succeeded_at ?? d.created_at).toISOString(),
      })),
  });

  const grants = createGrantsService({ db, ledger, log, onGrantChanged: (id) => void publisher.grantChanged(id) });
  const allocations = createAllocations({ db, ledger, grants, identitySecret: config.IDENTITY_SECRET, ttlMs: config.MATCH_RESERVATION_TTL_MS, log });
  matching = createMatchingService({ db, ledger, grants, allocations, identitySecret: config.IDENTITY_SECRET, onGrantsChanged: (ids) => ids.forEach((id) => void publisher.grantChanged(id)) });
  const live = matching;

  const reserveMatch: ReserveMatch<GrantRow[]> = {
    prepare: (c, at) => live.prepare(c, at),
    plan: (gifts) => live.plan(gifts),
    reserved: (donationId, grantIds) => {
      live.notify(grantIds);
      enqueue('expire-match-reservation', { donationId }, `expire-${donationId}`, { delay: config.MATCH_RESERVATION_TTL_MS + 1000 }).catch((err) =>
        log.warn({ err, donationId }, 'expiry job not enqueued; the sweeper will release it'));
    },
  };
  const donations = createDonationsService({
    db, campaigns, provider, log, matching: reserveMatch as ReserveMatch, batch: { max: config.DONATION_BATCH_MAX, inFlight: config.DONATION_BATCH_IN_FLIGHT },
  });
  const reconciliation = createReconciliation({ db, ledger, provider, log, settlementDays: config.RECONCILE_SETTLEMENT_DAYS });
  const paymentEvents = createPaymentEvents({
    db, ledger, provider, enqueue, log, payouts: reconciliation,
    match: { onPaid: live.onPaid, onFailed: live.onFailed, onReturned: live.onReturned, notify: live.notify },
    onDonationChanged: (d) => {
      donationsRepo.findById(db, d.id).then((fresh) => fresh && publisher.donationChanged(presentDonationStatus(fresh))).catch((err) =>
        log.warn({ err, donationId: d.id }, 'donation status not published'));
      void publisher.campaignChanged(d.campaign_id);
    },
  });
  const fees = createProcessorFees({ db, ledger, provider });
  const audit = createAudit({ db });
  const limiter = createLoginLimiter(redis, prefix);
  const purchasing = createPurchasing({ db, ledger, dataDir: config.DATA_DIR });
  const approvals = createApprovals({
    db,
    log,
    onNotCarriedOut: {
      disbursement: (a) => purchasing.contracts.onRejected(a),
      expense: async (a) => void (await purchasing.reports.decided(a, false)),
    },
    executors: {
      award: (a) => purchasing.contracts.award(a),
      disbursement: (a) => purchasing.contracts.payTranche(a),
      expense: (a) => purchasing.reports.decided(a, true),
      refund: async (a, approver) => {
        const plan = await donations.planRefund(approver, a.subject_id, Number(a.payload.amount));
        return donations.executeRefund(plan.donation, plan.amount, String(a.payload.idempotency_key));
      },
      grant_activation: async (a) => {
        const g = await grants.activate(Number(a.subject_id));
        return { grant_id: g.id, status: g.status };
      },
      exception_resolution: (a) => reconciliation.resolve(a),
      adjustment: async (a) => {
        const p = a.payload as { debit: string; credit: string; amount: number; memo: string };
        return db.transaction(async (trx) => {
          const [debitId, creditId] = await Promise.all([p.debit, p.credit].map(async (code) => (await trx('ledger_accounts').where({ code }).first('id')).id as number));
          return ledger.postJournal(trx, { kind: JournalKind.ADJUSTMENT, idempotencyKey: `adjustment:${a.id}`, memo: p.memo, refs: { approval_id: a.id }, legs: [debit(debitId, p.amount), credit(creditId, p.amount)] });
        });
      },
    },
  });

  reconciliation.useApprovals(approvals);
  purchasing.useApprovals(approvals);
  const pools = createPools({ db, ledger });
  const releases = createReleases({ db, ledger, noticeDays: config.RELEASE_NOTICE_DAYS });
  const pledges = createPledges({ db, ledger });
  const statements = createStatements({ db });
  const runs: RunQueue = {
    async start(input) {
      const id = `run-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      await withTimeout(queues.maintenance.add('reconcile-recent', input, { jobId: id, attempts: 1 }), ENQUEUE_TIMEOUT_MS, 'enqueue reconcile-recent');
      return id;
    },
    async status(id) {
      const first = await queues.maintenance.getJob(id);
      if (!first || first.name !== 'reconcile-recent') return null;
      const state = await first.getState();
      // Read the job again after its state, so a run that just finished is seen with its result.
      const job = (await queues.maintenance.getJob(id)) ?? first;
      return { id, state, progress: job.progress, result: job.returnvalue ?? null, failed_reason: job.failedReason ?? null };
    },
  };

  return {
    config, log, db, redis, pubsub, queues, enqueue, webhookSecret, schedules: SCHEDULES(config),
    ledger, auth, funds, totals, campaigns, provider, sandbox, donations, reserveMatch, intake, paymentEvents, fees, publisher, grants, matching: live,
    audit, approvals, limiter, reconciliation, pools, releases, pledges, statements, runs, purchasing,

    async close(): Promise<void> {
      await publisher.drain();
      await Promise.all(Object.values(queues).map((q) => q.close().catch(() => undefined)));
      redis.disconnect();
      pubsub.disconnect();
    },
  };
}

export type Container = Awaited<ReturnType<typeof createContainer>>;
