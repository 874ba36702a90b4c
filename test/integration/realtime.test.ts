import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { io, type Socket } from 'socket.io-client';
import { COALESCE_MS } from '../../server/modules/realtime/index.js';
import { resetDb, waitFor } from '../helpers/db.js';
import { fakeCampaign } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';

/** socket.io against the running service: rooms, first state, live updates and coalescing. */

interface Totals { slug: string; raised: number; matched: number; donors: number; match_remaining: number; as_of: number }
interface DonationsMsg { slug: string; donations: { display_name: string; anonymous: boolean; amount: number; message: string | null; at: string }[] }
interface DonationStatus { id: string; status: string; amount: number; matched: number; refunded: number }
interface Received<T> { at: number; data: T }

const clients: Socket[] = [];

/** A connected client that records every event it is sent, with the time it arrived. */
async function connect() {
  const socket = io(h().url, { transports: ['websocket'], forceNew: true, reconnection: false });
  clients.push(socket);
  const log = { totals: [] as Received<Totals>[], donations: [] as Received<DonationsMsg>[], status: [] as Received<DonationStatus>[] };
  socket.on('campaign:totals', (data: Totals) => log.totals.push({ at: Date.now(), data }));
  socket.on('campaign:donations', (data: DonationsMsg) => log.donations.push({ at: Date.now(), data }));
  socket.on('donation:status', (data: DonationStatus) => log.status.push({ at: Date.now(), data }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const subscribe = (payload: unknown): Promise<{ ok: boolean; error?: string }> => socket.timeout(5000).emitWithAck('subscribe', payload);
  return { socket, log, subscribe };
}

/** Creates a pending donation through the public API (with an Idempotency-Key). */
async function createDonation(slug: string, amount: number, donor: Record<string, unknown> = {}): Promise<string> {
  const res = await h().api().post(`/api/campaigns/${slug}/donations`).set('Idempotency-Key', `rt-${randomUUID()}`).send({ amount, currency: 'CNY', donor }).expect(201);
  expect(res.body.status).to.equal('pending');
  return res.body.id;
}

const pay = (id: string) => h().c.sandbox!.complete(id, 'succeed');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('realtime (socket.io)', () => {
  // A live update is flushed one window after the change that caused it. Let the previous test's
  // last flush pass first: after TRUNCATE … RESTART IDENTITY its campaign id belongs to a new campaign.
  beforeEach(async () => {
    await sleep(COALESCE_MS + 100);
    await resetDb();
  });
  afterEach(() => {
    for (const s of clients.splice(0)) s.disconnect();
  });

  it('when a client subscribes to a campaign, then it gets an ok ack and the current totals at once', async () => {
    const c = await fakeCampaign();
    const before = await createDonation(c.slug, 3000);
    await pay(before);
    await waitFor(async () => (await h().db('donations').where({ id: before }).first('status'))?.status === 'succeeded', 'first donation succeeded');

    const client = await connect();
    expect(await client.subscribe({ campaign: c.slug })).to.deep.equal({ ok: true });
    await waitFor(async () => client.log.totals.length > 0, 'initial campaign:totals', 3000);
    const first = client.log.totals[0].data;
    expect(first).to.deep.equal({ slug: c.slug, raised: 3000, matched: 0, donors: 1, match_remaining: 0, as_of: first.as_of });
    expect(Number.isSafeInteger(first.as_of) && first.as_of > 0, String(first.as_of)).to.equal(true);
  });

  it('when a donation to a subscribed campaign is paid, then the client receives the new totals and the recent donations list', async () => {
    const c = await fakeCampaign();
    const client = await connect();
    expect(await client.subscribe({ campaign: c.slug })).to.deep.equal({ ok: true });
    await waitFor(async () => client.log.totals.length > 0, 'initial campaign:totals', 3000);
    expect(client.log.totals[0].data).to.include({ slug: c.slug, raised: 0, donors: 0 });

    const id = await createDonation(c.slug, 5000, { name: '李雷', email: 'lilei@example.com', phone: '13900001111', anonymous: false });
    await pay(id);

    const update = await waitFor(async () => client.log.totals.find((t) => t.data.raised === 5000), 'campaign:totals with raised 5000', 5000);
    expect(update.data).to.deep.equal({ slug: c.slug, raised: 5000, matched: 0, donors: 1, match_remaining: 0, as_of: update.data.as_of });
    expect(update.data.as_of).to.be.above(client.log.totals[0].data.as_of);
    const list = await waitFor(async () => client.log.donations.at(-1), 'campaign:donations', 3000);
    expect(list.data.slug).to.equal(c.slug);
    expect(list.data.donations).to.have.length(1);
    expect(list.data.donations[0]).to.include({ display_name: '李雷', anonymous: false, amount: 5000, message: null });
    expect(Date.parse(list.data.donations[0].at)).to.not.be.NaN;
    const raw = JSON.stringify(list.data);
    expect(raw).to.not.include('lilei@example.com');
    expect(raw).to.not.include('13900001111');
  });

  it('when an anonymous donation is paid, then the live list names the donor 爱心人士 only', async () => {
    const c = await fakeCampaign();
    const client = await connect();
    await client.subscribe({ campaign: c.slug });
    await pay(await createDonation(c.slug, 1000, { name: '韩梅梅', anonymous: true }));
    const list = await waitFor(async () => client.log.donations.at(-1), 'campaign:donations', 5000);
    expect(list.data.donations).to.deep.equal([{ display_name: '爱心人士', anonymous: true, amount: 1000, message: null, at: list.data.donations[0].at }]);
    expect(JSON.stringify(list.data)).to.not.include('韩梅梅');
  });

  it('when a client subscribes to a donation, then it gets its status at once and succeeded once paid', async () => {
    const c = await fakeCampaign();
    const id = await createDonation(c.slug, 2000);
    const client = await connect();
    expect(await client.subscribe({ donation: id })).to.deep.equal({ ok: true });
    await waitFor(async () => client.log.status.length > 0, 'initial donation:status', 3000);
    expect(client.log.status[0].data).to.deep.equal({ id, status: 'pending', amount: 2000, matched: 0, reserved: 0, refunded: 0 });

    await pay(id);
    const done = await waitFor(async () => client.log.status.find((s) => s.data.status === 'succeeded'), 'donation:status succeeded', 5000);
    expect(done.data).to.deep.equal({ id, status: 'succeeded', amount: 2000, matched: 0, reserved: 0, refunded: 0 });
  });

  it('when another campaign receives a donation, then a subscriber of this campaign hears nothing', async () => {
    const mine = await fakeCampaign();
    const other = await fakeCampaign();
    const client = await connect();
    await client.subscribe({ campaign: mine.slug });
    await waitFor(async () => client.log.totals.length > 0, 'initial campaign:totals', 3000);

    const id = await createDonation(other.slug, 1000);
    await pay(id);
    await waitFor(async () => (await h().db('donations').where({ id }).first('status'))?.status === 'succeeded', 'other donation succeeded');
    await sleep(COALESCE_MS * 3);
    expect(client.log.totals.map((t) => t.data.slug)).to.deep.equal([mine.slug]);
    expect(client.log.donations).to.deep.equal([]);
  });

  it('when 20 donations are paid at once, then updates are coalesced to about one per 250 ms and the last one has the full totals', async function () {
    this.timeout(30_000);
    const c = await fakeCampaign({ goal: 10_000_000 });
    const client = await connect();
    await client.subscribe({ campaign: c.slug });
    await waitFor(async () => client.log.totals.length > 0, 'initial campaign:totals', 3000);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => createDonation(c.slug, 1000 + i)));
    const expected = { raised: ids.reduce((s, _, i) => s + 1000 + i, 0), donors: 20 };
    await sleep(COALESCE_MS + 50); // let any update from before this test's payments pass

    const start = Date.now();
    await Promise.all(ids.map(pay));
    await waitFor(async () => client.log.totals.find((t) => t.data.raised === expected.raised && t.data.donors === expected.donors), 'full totals', 20_000);
    await sleep(COALESCE_MS * 3); // anything still coming is counted too

    const updates = client.log.totals.filter((t) => t.at >= start);
    const elapsed = updates.at(-1)!.at - start;
    const bound = Math.floor(elapsed / COALESCE_MS) + 2;
    expect(updates.length, `${updates.length} updates in ${elapsed} ms`).to.be.at.most(bound);
    expect(updates.length).to.be.below(20);
    expect(updates.at(-1)!.data).to.deep.equal({ slug: c.slug, raised: expected.raised, matched: 0, donors: 20, match_remaining: 0, as_of: updates.at(-1)!.data.as_of });
    const stamps = client.log.totals.map((t) => t.data.as_of);
    expect(stamps, 'each update is a later reading').to.deep.equal([...stamps].sort((x, y) => x - y));
    const lastList = client.log.donations.at(-1)!.data;
    expect(lastList.donations).to.have.length(10);
  });

  it('when a subscribe payload is invalid or names nothing, then the ack is {ok:false} and no state is sent', async () => {
    const draft = await fakeCampaign({ status: 'draft' });
    const client = await connect();
    for (const payload of [{}, 'e-love-space', { campaign: 'Not A Slug!' }, { donation: 'not-a-uuid' }, { campaign: 42 }, null]) {
      expect(await client.subscribe(payload), JSON.stringify(payload)).to.deep.equal({ ok: false, error: 'invalid_subscription' });
    }
    expect(await client.subscribe({ campaign: 'no-such-campaign' })).to.deep.equal({ ok: false, error: 'not_found' });
    expect(await client.subscribe({ campaign: draft.slug })).to.deep.equal({ ok: false, error: 'not_found' });
    expect(await client.subscribe({ donation: randomUUID() })).to.deep.equal({ ok: false, error: 'not_found' });
    await sleep(100);
    expect(client.log.totals).to.deep.equal([]);
    expect(client.log.status).to.deep.equal([]);
  });
});
