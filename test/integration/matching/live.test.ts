import { expect } from 'chai';
import { io, type Socket } from 'socket.io-client';
import { resetDb, waitFor, waitForIdleQueues } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { fakeGrant, give, pay } from '../../helpers/matching.js';

interface GrantTotals { id: number; status: string; budget: number; committed: number; reserved: number; remaining: number }
interface Totals { slug: string; raised: number; matched: number; donors: number; match_remaining: number }

const sockets: Socket[] = [];

async function client() {
  const socket = io(h().url, { transports: ['websocket'], forceNew: true, reconnection: false });
  sockets.push(socket);
  const seen = { grant: [] as GrantTotals[], totals: [] as Totals[] };
  socket.on('grant:totals', (g: GrantTotals) => seen.grant.push(g));
  socket.on('campaign:totals', (t: Totals) => seen.totals.push(t));
  await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
  const subscribe = (payload: unknown): Promise<{ ok: boolean; error?: string }> => socket.timeout(5000).emitWithAck('subscribe', payload);
  return { seen, subscribe };
}

describe('matching: live', () => {
  beforeEach(resetDb);
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await waitForIdleQueues();
  });

  it('when a gift reserves and commits match, then the grant room and the campaign room see the pool move', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 10_000 });
    const viewer = await client();
    expect(await viewer.subscribe({ grant: g.id })).to.deep.equal({ ok: true });
    expect(await viewer.subscribe({ campaign: c.slug })).to.deep.equal({ ok: true });
    await waitFor(async () => viewer.seen.grant.length > 0 && viewer.seen.totals.length > 0, 'first state');
    expect(viewer.seen.grant[0]).to.deep.equal({ id: g.id, status: 'active', budget: 10_000, committed: 0, reserved: 0, remaining: 10_000 });
    // A campaign broadcast queued before the grant was set up may land after the room's first state.
    await waitFor(async () => viewer.seen.totals.some((t) => t.match_remaining === 10_000 && t.matched === 0), 'the whole pool in campaign:totals');

    const d = await give(c.slug, 6000);
    await waitFor(async () => viewer.seen.grant.some((x) => x.reserved === 6000 && x.remaining === 4000), 'reservation seen in the grant room');
    await waitFor(async () => viewer.seen.totals.some((t) => t.match_remaining === 4000), 'match_remaining in campaign:totals');
    await pay(d.id);
    await waitFor(async () => viewer.seen.grant.some((x) => x.committed === 6000 && x.reserved === 0), 'commit seen in the grant room');
    await waitFor(async () => viewer.seen.totals.some((t) => t.matched === 6000 && t.raised === 6000), 'matched in campaign:totals');
  });

  it('when a grant covers all campaigns, then a gift to one campaign updates the match left shown on another', async () => {
    const [a, b] = [await fakeCampaign(), await fakeCampaign()];
    await fakeGrant({ budget: 10_000 });
    const watcher = await client();
    await watcher.subscribe({ campaign: b.slug });
    await waitFor(async () => watcher.seen.totals.length > 0, 'first totals');
    await give(a.slug, 2500);
    await waitFor(async () => watcher.seen.totals.some((t) => t.slug === b.slug && t.match_remaining === 7500), "b's match_remaining after a gift to a");
  });

  it('when a draft or unknown grant is asked for, then the subscription is refused', async () => {
    const draft = await fakeGrant({ activate: false });
    const viewer = await client();
    expect(await viewer.subscribe({ grant: draft.id })).to.deep.equal({ ok: false, error: 'not_found' });
    expect(await viewer.subscribe({ grant: 999_999 })).to.deep.equal({ ok: false, error: 'not_found' });
    expect(await viewer.subscribe({ grant: 'x' })).to.deep.equal({ ok: false, error: 'invalid_subscription' });
  });
});
