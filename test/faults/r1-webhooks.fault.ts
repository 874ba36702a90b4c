import { performance } from 'node:perf_hooks';
import {
  deadlockCheck, envInt, events, lanes, latency, matchedCampaigns, printFigures, refundId, rng, SEED, Stack, standardChecks,
  Verdict, type Paid, type StripeEvent,
} from './kit.js';

/**
 * R1: webhooks delivered 1–3 times each, shuffled, 20 in flight. Each donation is paid once, and
 * the ledger and the totals are exact.
 *
 * Donations are created through the API, then every one gets a fate: paid; failed then paid (a
 * retry at checkout); failed; or paid and partly refunded. Each fate's events (Stripe-format,
 * signed with the webhook secret) are delivered 1–3 times each, all deliveries shuffled together,
 * 20 at a time, so a refund may arrive before its payment and a failure after its success.
 */
const N = envInt('FAULT_R1_DONATIONS', 400);
const IN_FLIGHT = envInt('FAULT_R1_IN_FLIGHT', 20);

type Fate = 'paid' | 'failed_then_paid' | 'failed' | 'paid_refunded';

describe('R1 · webhooks delivered 1–3×, shuffled, 20 in flight', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('pays each donation once; the ledger and the totals are exact', async function () {
    const r = rng(SEED + 1);
    const v = new Verdict();
    stack = await Stack.create({ name: 'r1' });
    const c = await stack.container();
    const { campaigns, grant } = await matchedCampaigns(c, { n: 3, budget: 1_000_000, rules: { ratio_percent: 100, cap_per_donation: 5_000 } });
    await stack.closeContainer();
    const bootSeconds = await stack.start();

    // Donations, created through the API by distinct donors.
    const t0 = performance.now();
    const created: (Paid & { fate: Fate; refund: number })[] = [];
    await lanes(Array.from({ length: N }, (_, i) => i), IN_FLIGHT, async (i) => {
      const slug = campaigns[i % campaigns.length].slug;
      const amount = r.int(100, 20_000);
      const g = await stack.give(slug, amount, i % 2 ? { name: `捐赠人${i}`, email: `r1-donor-${i}@faults.test` } : {});
      if (!g) throw new Error('donation not created');
      const roll = r.next();
      const fate: Fate = roll < 0.7 ? 'paid' : roll < 0.8 ? 'failed_then_paid' : roll < 0.9 ? 'failed' : 'paid_refunded';
      created.push({ id: g.id, amount, paymentRef: g.paymentRef, chargeId: '', slug, fate, refund: fate === 'paid_refunded' ? Math.floor(amount / 2) : 0 });
    });
    const createSeconds = (performance.now() - t0) / 1000;
    const charges = await stack.chargeIds(created.map((d) => d.id));
    for (const d of created) d.chargeId = charges.get(d.id)!;

    // Each fate's events, each delivered 1–3 times, all shuffled together.
    const distinct: StripeEvent[] = [];
    for (const d of created) {
      if (d.fate === 'paid') distinct.push(events.succeeded(d));
      if (d.fate === 'failed_then_paid') distinct.push(events.failed(d), events.succeeded(d));
      if (d.fate === 'failed') distinct.push(events.failed(d));
      if (d.fate === 'paid_refunded') distinct.push(events.succeeded(d), events.refunded(d, [{ id: refundId(), amount: d.refund }]));
    }
    const deliveries = r.shuffle(distinct.flatMap((e) => Array.from({ length: r.int(1, 3) }, () => e)));
    const t1 = performance.now();
    let duplicatesAcked = 0;
    const notAccepted: string[] = [];
    await lanes(deliveries, IN_FLIGHT, async (e) => {
      const res = await stack.deliver(e);
      if (res.status !== 200) notAccepted.push(`${res.status} ${res.text.slice(0, 120)}`);
      else if (res.body?.duplicate) duplicatesAcked++;
    });
    const deliverSeconds = (performance.now() - t1) / 1000;
    const settled = await stack.settle('every event applied and every fee booked', 60_000);

    // Each donation's state against its fate.
    const rows: { id: string; status: string; refunded_minor: number; succeeded_at: Date | null }[] = await stack.db('donations').whereIn('id', created.map((d) => d.id)).select('id', 'status', 'refunded_minor', 'succeeded_at');
    const byId = new Map(rows.map((x) => [x.id, x]));
    const wrong: string[] = [];
    const expected = new Map<string, number>();
    for (const d of created) {
      const row = byId.get(d.id)!;
      const want = d.fate === 'failed' ? 'failed' : d.fate === 'paid_refunded' ? 'partially_refunded' : 'succeeded';
      if (row.status !== want || row.refunded_minor !== d.refund) wrong.push(`${d.id} ${d.fate}: ${row.status}/${row.refunded_minor}`);
      if (d.fate !== 'failed') expected.set(d.slug, (expected.get(d.slug) ?? 0) + d.amount - d.refund);
    }
    const [{ stored }] = await stack.db('processor_events').whereIn('id', distinct.map((e) => e.id)).count({ stored: '*' });
    const outcomes = (await stack.db('processor_events').select('outcome').count({ n: '*' }).groupBy('outcome')) as { outcome: string; n: string }[];

    v.check('every delivery acknowledged with 200', notAccepted.length === 0, notAccepted.slice(0, 5));
    v.check('every distinct event stored once', Number(stored) === distinct.length, { stored, distinct: distinct.length });
    v.check('backlog settled (every event applied, every fee booked)', settled.ok, settled.left);
    v.check('each donation ends in the state its events imply', wrong.length === 0, wrong.slice(0, 5));
    const std = await standardChecks(stack, v, { campaigns, expected });
    const grantRes = await stack.http.get(`/api/grants/${grant.id}`);
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);

    const fates = created.reduce<Record<string, number>>((acc, d) => ({ ...acc, [d.fate]: (acc[d.fate] ?? 0) + 1 }), {});
    printFigures(`R1 figures (seed ${SEED})`, [
      ['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`],
      ['donations created', `${created.length} in ${createSeconds.toFixed(1)} s (${(created.length / createSeconds).toFixed(0)}/s), POST ${latency(stack.http.latencies['POST donations'])}`],
      ['fates', fates],
      ['events', `${distinct.length} distinct, ${deliveries.length} deliveries (${(deliveries.length / distinct.length).toFixed(2)}× each), ${IN_FLIGHT} in flight`],
      ['deliveries', `${deliverSeconds.toFixed(1)} s (${(deliveries.length / deliverSeconds).toFixed(0)}/s), acked as duplicate ${duplicatesAcked}, ${latency(stack.http.latencies['POST /webhooks/stripe'])}`],
      ['settled after', `${settled.seconds.toFixed(1)} s (left: ${JSON.stringify(settled.left)})`],
      ['event outcomes', Object.fromEntries(outcomes.map((o) => [o.outcome, Number(o.n)]))],
      ['grant', grantRes.status === 200 ? `budget ${grantRes.body.budget}, committed ${grantRes.body.committed}, reserved ${grantRes.body.reserved}, remaining ${grantRes.body.remaining}` : grantRes.status],
      ...std,
      dl,
      ['elapsed', stack.elapsed()],
    ], v);
    v.assert();
  });
});
