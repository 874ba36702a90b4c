import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from './infra.js';

/**
 * The fault suite's kit: one PostgreSQL cluster and one Redis of the suite's own (started once,
 * torn down by the root hooks), a fresh database per scenario cloned from a migrated template,
 * the service's web and worker processes, an HTTP load driver that tallies every status, Stripe
 * events signed like Stripe's, fixtures, the money checks and the figures block.
 */

export * from './random.js';
export * from './http.js';
export * from './browser.js';
export * from './stack.js';
export * from './fixtures.js';
export * from './checks.js';
export * from './figures.js';
export * from './load.js';

export { sleep, waitUntil };
