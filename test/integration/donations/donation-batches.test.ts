import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { CampaignRow } from '../../../server/modules/campaigns/index.js';
import { createDonationBatches, type DonationBatches, type NewDonation, type ReserveMatch } from '../../../server/modules/donations/index.js';
import { resetDb, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { fakeGrant } from '../../helpers/matching.js';

const writer = (maxBatch: number, maxInFlight: number): DonationBatches =>
  createDonationBatches({ db: h().db, matching: h().c.reserveMatch as ReserveMatch, log: h().c.log, maxBatch, maxInFlight });

/** A pending donation as the service would write it, with matching prepared. */
async function gift(campaign: CampaignRow, amount: number, over: Partial<NewDonation['row']> = {}): Promise<NewDonation> {
  const at = new Date();
  const key = over.idempotency_key ?? randomUUID();
  return {
    campaign, at, prepared: await h().c.reserveMatch.prepare(campaign, at),
    row: {
      id: randomUUID(), campaign_id: campaign.id, amount_minor: amount, currency: 'CNY', donor_name: null, donor_email: null, donor_phone: null,
      anonymous: true, message: null, team: null, idempotency_key: key, request_fingerprint: createHash('sha256').update(key).digest('hex'),
      provider: 'sandbox', created_at: at, user_id: null, ...over,
    },
  };
}

const reserveJournals = async (grantId: number) =>
  Number((await h().db('ledger_journals').where({ kind: 'match_reserve' }).whereRaw(`(refs->>'grant_id')::integer = ?`, [grantId]).count({ n: '*' }).first())!.n);

describe('donations: group commit (many new donations, one transaction)', () => {
  let campaign: CampaignRow;
  beforeEach(async () => {
    await resetDb();
    campaign = await fakeCampaign();
  });
  afterEach(async () => {
    await waitForIdleQueues();
    await expectLedgerHealthy();
  });

  it('when 40 gifts arrive at once, then they share a few reserve journals, each equal to its allocations, and every gift is matched', async () => {
    const g = await fakeGrant({ campaigns: [campaign.slug], budget: 1_000_000, rules: { pool_shards: 1 } });
    const batches = writer(64, 2);
    const gifts = await Promise.all(Array.from({ length: 40 }, (_, i) => gift(campaign, 1000 + i)));
    const out = await Promise.all(gifts.map((x) => batches.submit(x)));

    expect(out.every((w) => w.created)).to.equal(true);
    expect(out.map((w) => w.reserved)).to.deep.equal(gifts.map((x) => x.row.amount_minor));
    const journals = await reserveJournals(g.id);
    expect(journals).to.be.within(1, 3);
    const { rows } = await h().db.raw(`SELECT count(DISTINCT reserve_journal_id)::int AS journals, count(*)::int AS allocations, sum(reserved_minor)::bigint AS reserved FROM match_allocations WHERE grant_id = ?`, [g.id]);
    expect(rows[0]).to.deep.equal({ journals, allocations: 40, reserved: gifts.reduce((s, x) => s + x.row.amount_minor, 0) });
  });

  it('when each gift is written alone (batch size 1), then every gift has its own reserve journal', async () => {
    const g = await fakeGrant({ campaigns: [campaign.slug], budget: 1_000_000 });
    const batches = writer(1, 8);
    const gifts = await Promise.all(Array.from({ length: 12 }, () => gift(campaign, 2000)));
    await Promise.all(gifts.map((x) => batches.submit(x)));
    expect(await reserveJournals(g.id)).to.equal(12);
  });

  it('when one gift in a batch is bad, then it fails alone and the others are written and matched', async () => {
    await fakeGrant({ campaigns: [campaign.slug], budget: 1_000_000 });
    const batches = writer(64, 1);
    const good = await Promise.all([gift(campaign, 3000), gift(campaign, 4000)]);
    const bad = await gift(campaign, 5000, { campaign_id: 987_654 });
    const [a, b, c] = await Promise.allSettled([batches.submit(good[0]), batches.submit(bad), batches.submit(good[1])]);
    expect(a).to.deep.include({ status: 'fulfilled', value: { created: true, reserved: 3000, grants: (a as PromiseFulfilledResult<{ grants: number[] }>).value.grants } });
    expect(c.status).to.equal('fulfilled');
    expect(b.status).to.equal('rejected');
    expect(String((b as PromiseRejectedResult).reason)).to.match(/foreign key/);
    expect(await h().db('donations').orderBy('amount_minor').pluck('amount_minor')).to.deep.equal([3000, 4000]);
  });

  it('when one idempotency key arrives five times in one batch, then one donation and one allocation exist', async () => {
    const g = await fakeGrant({ campaigns: [campaign.slug], budget: 1_000_000 });
    const batches = writer(64, 1);
    const same = await Promise.all(Array.from({ length: 5 }, () => gift(campaign, 1500, { idempotency_key: 'one-key' })));
    const out = await Promise.all(same.map((x) => batches.submit(x)));
    expect(out.filter((w) => w.created)).to.have.length(1);
    expect(await h().db('donations').where({ idempotency_key: 'one-key' }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
    expect(await h().db('match_allocations').where({ grant_id: g.id }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
  });

  for (const [maxBatch, maxInFlight, how] of [[64, 2, 'in one batch'], [1, 10, 'in ten concurrent transactions']] as const) {
    it(`when one email gives ten times at once ${how}, then exactly the six gifts after the fourth are held (M-10)`, async () => {
      await fakeGrant({ campaigns: [campaign.slug], budget: 1_000_000 });
      const batches = writer(maxBatch, maxInFlight);
      const gifts = await Promise.all(Array.from({ length: 10 }, () => gift(campaign, 1000, { donor_email: 'bot@example.com' })));
      await Promise.all(gifts.map((x) => batches.submit(x)));
      const holds = await h().db('match_allocations').whereNotNull('hold_reason').pluck('hold_reason');
      expect(holds).to.deep.equal(Array(6).fill('velocity'));
    });
  }
});
