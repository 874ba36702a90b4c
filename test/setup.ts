import { startHarness, stopHarness } from './helpers/harness.js';

/** Root hooks: one service for the whole run, migrated once. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await startHarness();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await stopHarness();
  },
};
