import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as IoServer } from 'socket.io';
import { startWorkers } from '../jobs/worker.js';
import { createApp } from './app.js';
import { ConfigError, type Config } from './config.js';
import { createContainer, type Container } from './container.js';
import { createDb } from './db/knex.js';
import { prepareDatabase } from './db/migrate.js';
import type { Logger } from './lib/logger.js';
import { campaignsRepo } from './modules/campaigns/index.js';
import { donationsRepo, presentDonationStatus } from './modules/donations/index.js';
import { grantsRepo, presentGrantTotals } from './modules/matching/index.js';
import { attachSocket } from './modules/realtime/index.js';

export interface Service {
  container: Container;
  http?: HttpServer;
  io?: IoServer;
  url?: string;
  stop(): Promise<void>;
}

/**
 * Brings the service up: database created and migrated, container built, totals cache rebuilt,
 * then the web server (HTTP + socket.io) and/or the workers, as `ROLE` says.
 * `stop()` shuts down in order: stop accepting, drain workers, close sockets, close pools.
 */
export async function startService(config: Config, log: Logger, opts: { listen?: boolean } = {}): Promise<Service> {
  const db = createDb(config.DATABASE_URL, config.DB_POOL_MAX);
  const { created, applied } = await prepareDatabase(config.DATABASE_URL, db);
  if (created) log.info({ category: 'boot' }, 'created the database');
  if (applied.length) log.info({ category: 'boot', applied }, 'applied migrations');

  const container = await createContainer(config, log, db);
  if (config.NODE_ENV === 'production') {
    const exposed = await container.auth.usersWithPublishedSecrets();
    if (exposed.length) {
      await container.close();
      await db.destroy();
      throw new ConfigError(
        `Refusing to start in production: ${exposed.length} account(s) still have the demo password or TOTP key published in README.md ` +
          `(${exposed.slice(0, 5).join(', ')}${exposed.length > 5 ? ', …' : ''}). Run \`npm run retire-demo-accounts\` to disable them.`,
      );
    }
  }
  await container.totals.rebuildAll().catch((err) => log.warn({ err }, 'totals cache not rebuilt'));

  const web = config.ROLE !== 'worker';
  const worker = config.ROLE !== 'web';
  let http: HttpServer | undefined;
  let io: IoServer | undefined;
  let url: string | undefined;

  if (web) {
    http = createServer(createApp(container));
    const sub = container.pubsub.duplicate();
    sub.on('error', (err) => log.debug({ err }, 'redis subscriber error'));
    io = attachSocket({
      http,
      pub: container.pubsub,
      sub,
      prefix: config.REDIS_PREFIX,
      totals: container.totals,
      log,
      findCampaign: (slug) => campaignsRepo.findBySlug(db, slug),
      grantTotals: async (id) => {
        const g = await grantsRepo.find(db, id);
        return g && g.status !== 'draft' ? presentGrantTotals(g, await container.grants.figures(g)) : undefined;
      },
      donationStatus: async (id) => {
        const d = await donationsRepo.findById(db, id);
        return d && presentDonationStatus(d);
      },
    });
    if (opts.listen !== false) {
      await new Promise<void>((resolve, reject) => {
        http!.once('error', reject);
        http!.listen(config.PORT, config.HOST, () => resolve());
      });
      const port = (http.address() as AddressInfo).port;
      url = config.PUBLIC_URL ?? `http://localhost:${port}`;
    }
  }
  const stopWorkers = worker ? await startWorkers(container) : async () => undefined;

  let stopping: Promise<void> | undefined;
  return {
    container,
    http,
    io,
    url,
    stop() {
      stopping ??= (async () => {
        const closing = http?.listening ? new Promise<void>((r) => http!.close(() => r())) : Promise.resolve();
        http?.closeIdleConnections?.();
        await stopWorkers();
        if (io) await io.close();
        await closing;
        await container.close();
        await db.destroy();
      })();
      return stopping;
    },
  };
}
