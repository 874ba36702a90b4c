import { performance } from 'node:perf_hooks';
import { startInfra, stopInfra } from './kit.js';

/**
 * Root hooks of the fault suite (test/faults/mocharc.json): the suite's own PostgreSQL cluster
 * and Redis start once before the first scenario and are removed after the last, on failure too.
 */
const t0 = performance.now();
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(180_000);
    await startInfra();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    await stopInfra();
    process.stdout.write(`\n  fault suite: ${((performance.now() - t0) / 1000).toFixed(0)} s in all; its PostgreSQL cluster and Redis are stopped${process.env.FAULT_KEEP === '1' ? ' (data and logs kept)' : ' and removed'}\n`);
  },
};
