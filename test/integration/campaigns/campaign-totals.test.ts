import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createCampaignTotals, type TotalsContributor } from '../../../server/modules/campaigns/index.js';
import { resetDb, waitFor } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';

/** The cached totals keep the latest reading: a slow, older one finishing last never wins. */

async function paidDonation(slug: string, amount: number): Promise<void> {
  const res = await h().api().post(`/api/campaigns/${slug}/donations`).set('Idempotency-Key', `ct-${randomUUID()}`).send({ amount, currency: 'CNY', donor: {} }).expect(201);
  await h().c.sandbox!.complete(res.body.id, 'succeed');
  await waitFor(async () => (await h().db('donations').where({ id: res.body.id }).first('status'))?.status === 'succeeded', 'donation succeeded');
}

describe('campaign totals cache', () => {
  beforeEach(resetDb);

  /** Totals under a key prefix of their own, so the running service's cache is not touched. */
  const totalsUnder = (prefix = `${h().config.REDIS_PREFIX}:ct-${randomUUID()}`, contributors: TotalsContributor[] = []) =>
    createCampaignTotals({ db: h().db, redis: h().c.redis, prefix, log: h().c.log, contributors });

  it('when an earlier reading finishes after a later one, then the cache keeps the later reading', async () => {
    const c = await fakeCampaign();
    // The first reading is held in its contributor, after it has read its figures and before it caches them.
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((r) => { entered = r; });
    const released = new Promise<void>((r) => { release = r; });
    let first = true;
    const holdFirst: TotalsContributor = async () => {
      if (first) { first = false; entered(); await released; }
      return new Map();
    };
    const totals = totalsUnder(undefined, [holdFirst]);
    const early = totals.refresh(c.id);
    await inside;

    await paidDonation(c.slug, 5000);
    const late = await totals.refresh(c.id);
    expect(late.raised).to.equal(5000);

    release();
    const stale = await early;
    expect(stale.raised).to.equal(0);
    expect(stale.as_of).to.be.below(late.as_of);

    const cached = (await totals.get([c.id])).get(c.id)!;
    expect(cached).to.deep.equal(late);
  });

  it('when readings follow one another, then each carries a later as_of in PostgreSQL microseconds', async () => {
    const c = await fakeCampaign();
    const totals = totalsUnder();
    const before = Date.now() * 1000;
    const first = await totals.refresh(c.id);
    const second = await totals.refresh(c.id);
    expect(Number.isSafeInteger(first.as_of)).to.equal(true);
    expect(first.as_of).to.be.within(before - 5_000_000, Date.now() * 1000 + 5_000_000);
    expect(second.as_of).to.be.above(first.as_of);
    expect((await totals.get([c.id])).get(c.id)!.as_of).to.equal(second.as_of);
  });

  it('when a cached hash has no as_of (written before readings were stamped), then it is recomputed', async () => {
    const c = await fakeCampaign();
    await paidDonation(c.slug, 1200);
    const prefix = `${h().config.REDIS_PREFIX}:ct-${randomUUID()}`;
    await h().c.redis.hset(`${prefix}:campaign:${c.id}:totals`, { raised: 99, matched: 0, donors: 7, match_remaining: 0 });
    const totals = totalsUnder(prefix);
    const got = (await totals.get([c.id])).get(c.id)!;
    expect(got).to.include({ raised: 1200, donors: 1 });
    expect(got.as_of).to.be.above(0);
  });

  it('when several campaigns are read at once, then one without donations reads zero with the same stamp', async () => {
    const a = await fakeCampaign();
    const b = await fakeCampaign();
    await paidDonation(a.slug, 800);
    const totals = totalsUnder();
    const got = await totals.compute([a.id, b.id]);
    expect(got.get(a.id)).to.include({ raised: 800, donors: 1 });
    expect(got.get(b.id)).to.include({ raised: 0, donors: 0, matched: 0, match_remaining: 0 });
    expect(got.get(a.id)!.as_of).to.equal(got.get(b.id)!.as_of);
  });
});
