import { expect } from 'chai';
import { resetDb, waitFor, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { fakeGrant, grantJson } from '../../helpers/matching.js';

async function deadlocks(): Promise<number> {
  const { rows } = await h().db.raw('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0].deadlocks);
}

/**
 * 1,000 donations at once against a ¥100 pool: the pool gives exactly ¥100, never more, with
 * no error and no deadlock, whether it is one row or spread over shards.
 */
describe('matching: a ¥100 pool under 1,000 concurrent donations', function () {
  this.timeout(180_000);
  beforeEach(resetDb);
  afterEach(async () => {
    await waitForIdleQueues(60_000);
    await expectLedgerHealthy();
  });

  for (const shards of [1, 8]) {
    it(`when the pool has ${shards} shard(s), then exactly ¥100 is reserved and committed, with 0 errors and 0 deadlocks`, async () => {
      const campaigns = await Promise.all([fakeCampaign(), fakeCampaign(), fakeCampaign()]);
      const g = await fakeGrant({ budget: 10_000, rules: { pool_shards: shards } });
      const before = await deadlocks();
      const results = await Promise.allSettled(
        Array.from({ length: 1000 }, (_, i) =>
          h().c.donations.create(campaigns[i % 3].slug, { amount: 100 + ((i * 37) % 900), currency: 'CNY', donor: {} }, `burst-${shards}-${i}`),
        ),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed, String((failed[0] as PromiseRejectedResult | undefined)?.reason)).to.have.length(0);

      const { rows } = await h().db.raw(`SELECT coalesce(sum(reserved_minor), 0)::bigint AS reserved, count(*) FILTER (WHERE reserved_minor > 0) AS matched, count(*) AS outcomes FROM match_allocations WHERE grant_id = ?`, [g.id]);
      expect(rows[0]).to.deep.equal({ reserved: 10_000, matched: rows[0].matched, outcomes: 1000 });
      expect(await grantJson(g.id)).to.include({ remaining: 0, reserved: 10_000, committed: 0 });
      const shardRows = await h().db('grant_pool_shards as s').join('ledger_accounts as a', 'a.id', 's.account_id').where('s.grant_id', g.id).select('a.balance');
      expect(shardRows).to.have.length(shards);
      expect(shardRows.every((s) => s.balance === 0)).to.equal(true);

      const ids = results.map((r) => (r as PromiseFulfilledResult<{ donation: { id: string } }>).value.donation.id);
      for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => h().c.sandbox!.complete(id, 'succeed')));
      await waitFor(async () => Number((await h().db('donations').where('status', 'succeeded').count({ n: '*' }))[0].n) === 1000, 'all paid', 120_000);
      await waitForIdleQueues(60_000);
      expect(await grantJson(g.id)).to.include({ remaining: 0, reserved: 0, committed: 10_000 });
      expect(await deadlocks()).to.equal(before);
    });
  }
});
