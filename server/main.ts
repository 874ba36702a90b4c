import { seedDemo } from '../seeds/demo.js';
import { startService } from './boot.js';
import { ConfigError, loadConfig } from './config.js';
import { loadDotEnv } from './lib/dotenv.js';
import { createLogger } from './lib/logger.js';

const SANDBOX_IN_PRODUCTION = 'PRODUCTION IS RUNNING THE SANDBOX PAYMENT PROVIDER (ALLOW_SANDBOX_IN_PRODUCTION=true): no payment is real, no money moves';

/** `npm start`: configure, migrate, seed an empty database, run web and worker, print where to go. */
async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  if (config.sandboxInProduction) log.fatal({ category: 'boot' }, SANDBOX_IN_PRODUCTION);

  const service = await startService(config, log);
  const c = service.container;
  if (config.SEED_DEMO && config.ROLE !== 'worker') {
    const seeded = await seedDemo(c);
    if (seeded) log.info({ category: 'boot' }, 'seeded demo data');
  }
  const token = config.ROLE !== 'worker' ? await c.auth.ensureBootstrapToken(config.BOOTSTRAP_ADMIN_TOKEN, config.NODE_ENV === 'production') : null;

  const lines = [
    '',
    ...(config.sandboxInProduction ? ['', `  !!! ${SANDBOX_IN_PRODUCTION} !!!`, ''] : []),
    `  善汇 Shanhui is running (role: ${config.ROLE}, payments: ${c.provider.name}${c.provider.testMode ? ', TEST MODE: no real money moves' : ''})`,
    ...(service.url ? [`  Open:            ${service.url}`, `  API contract:    ${service.url}/api/openapi.json`] : []),
    ...(token ? [`  Admin API token: ${token}${config.BOOTSTRAP_ADMIN_TOKEN ? ' (from BOOTSTRAP_ADMIN_TOKEN)' : ' (new each start; set BOOTSTRAP_ADMIN_TOKEN to fix it)'}`] : []),
    ...(service.url && config.SEED_DEMO ? [`  Staff console:   ${service.url}/console (demo users in README.md${config.NODE_ENV === 'production' ? '; password from SEED_DEMO_PASSWORD' : `; password ${config.demoPassword}`})`] : []),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    log.info({ category: 'boot', signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    service.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(err instanceof ConfigError ? 78 : 1);
});
