import { performance } from 'node:perf_hooks';
import {
  cpuFigure, deadlockCheck, envInt, lanes, Load, makeCampaign, makeGrant, makeStreet, makeToken, printFigures, rng, SEED, settledFigure, sleep, Stack, standardChecks, statuses,
  topStatements, Verdict, waitUntil,
} from './kit.js';

/**
 * R8: a simulated giving day of 20,000 donations with faults injected at random moments: the
 * worker SIGKILLed (and restarted) several times, Redis restarted empty once, events duplicated
 * and shuffled throughout, refunds and disputes arriving as events, and refunds asked and
 * approved by two finance users through the API (four-eyes), which the sandbox then carries out.
 * Afterwards the trial balance, every invariant and the totals hold.
 */
const TOTAL = envInt('FAULT_R8_DONATIONS', 20_000);
const DONORS = envInt('FAULT_R8_DONORS', 32);
const KILLS = envInt('FAULT_R8_WORKER_KILLS', 3);
const API_REFUNDS = envInt('FAULT_R8_API_REFUNDS', 20);
const REDIS_DOWN_S = envInt('FAULT_R8_REDIS_DOWN_S', 5);
const WEBS = envInt('FAULT_R8_WEBS', 1);
const WORKER_CONCURRENCY = String(envInt('FAULT_R8_WORKER_CONCURRENCY', 8));

describe('R8 · a simulated 20,000-donation day with faults at random', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('keeps the trial balance, every invariant and the totals', async function () {
    const r = rng(SEED + 8);
    const cpu0 = process.cpuUsage();
    const v = new Verdict();
    stack = await Stack.create({ name: 'r8', webs: WEBS, maxSockets: DONORS + 64, env: { MATCH_RESERVATION_TTL_MS: '30000', WORKER_CONCURRENCY: WORKER_CONCURRENCY, DB_POOL_MAX: '16' } });
    const c = await stack.container();
    const streets = [await makeStreet(c, '石坪桥街道'), await makeStreet(c, '杨家坪街道'), await makeStreet(c, '谢家湾街道'), await makeStreet(c, '黄桷坪街道')];
    const campaigns: { id: number; slug: string; streetId: number }[] = [];
    for (const s of streets) campaigns.push(await makeCampaign(c, s.streetId), await makeCampaign(c, s.streetId));
    // A foundation over everything (sharded), an enterprise over two streets (one row, runs out), a tiered one with a per-campaign cap.
    await makeGrant(c, { budget: 5_000_000, priority: 10, rules: { ratio_percent: 100, cap_per_donation: 2_000, pool_shards: 8 }, sponsor: '演练慈善基金会' });
    await makeGrant(c, { budget: 500_000, streets: [streets[0].streetId, streets[1].streetId], rules: { ratio_percent: 50, pool_shards: 1 }, sponsor: '演练企业联盟' });
    await makeGrant(c, { budget: 1_000_000, campaigns: [campaigns[2].slug, campaigns[5].slug], priority: -5, rules: { tiers: [{ min_amount: 100, ratio_percent: 20 }, { min_amount: 10_000, ratio_percent: 50 }], cap_per_campaign: 300_000 }, sponsor: '演练爱心企业' });
    const finance = [await makeToken(c, 'association_finance'), await makeToken(c, 'association_finance')];
    await stack.closeContainer();
    const bootSeconds = await stack.start();

    // ------------------------------------------------------------ the day's load
    const load = new Load(stack, r, {
      campaigns, donors: DONORS, inFlight: 16, total: TOTAL, duplicates: 0.12, emails: 0.05, retryMs: 120_000, jitterMs: 1500, amount: [100, 30_000],
      fates: { failed: 0.05, failed_then_paid: 0.03, paid_refunded: 0.03, paid_disputed: 0.01, abandoned: 0.03 },
    });
    const t0 = performance.now();
    stack.http.phase = 'day';
    load.start();

    // Refunds through the API: donations paid at the sandbox checkout, then asked by one finance user and approved by another.
    const apiRefunds: { id: string; slug: string; amount: number; refund: number; state: string }[] = [];
    const apiRefundErrors: string[] = [];
    // Four at a time, starting at random moments in the first minute or two of the day.
    const apiRefunder = lanes(Array.from({ length: API_REFUNDS }, (_, i) => ({ i, wait: r.int(500, 90_000 / 4) })), 4, async ({ i, wait }) => {
      {
        await sleep(wait);
        const slug = r.pick(campaigns).slug;
        const amount = r.int(1_000, 20_000);
        const item = { id: '', slug, amount, refund: r.chance(0.5) ? amount : r.int(100, amount - 1), state: 'created' };
        const deadline = Date.now() + 300_000;
        try {
          const g = await stack.give(slug, amount, { email: `r8-api-refund-${i}@faults.test` }, { retryMs: 60_000 });
          if (!g) throw new Error('not created');
          item.id = g.id;
          apiRefunds.push(item);
          await waitUntil(async () => (await stack.checkout(g.id)) === 303, 'checkout', 60_000, 1000);
          item.state = 'checked_out';
          await waitUntil(async () => (await stack.db('donations').where({ id: g.id }).first('status'))?.status === 'succeeded', 'paid', Math.max(1000, deadline - Date.now()), 500);
          item.state = 'paid';
          let approvalId: number | undefined;
          await waitUntil(async () => {
            const asked = await stack.http.request('POST', `/api/donations/${g.id}/refunds`, { json: { amount: item.refund }, token: finance[0].token, headers: { 'idempotency-key': `r8-refund-${g.id}` } });
            if (asked.status === 202) approvalId = asked.body.approval_id;
            if (asked.status === 409 && asked.body?.error?.code === 'approval_pending') approvalId = (await stack.db('approvals').where({ kind: 'refund', subject_id: g.id, status: 'pending' }).first('id'))?.id;
            return approvalId !== undefined;
          }, 'refund asked', Math.max(1000, deadline - Date.now()), 1000);
          item.state = 'asked';
          await waitUntil(async () => {
            const ok = await stack.http.request('POST', `/api/approvals/${approvalId}/approve`, { json: {}, token: finance[1].token });
            return ok.status === 200 || (ok.status === 409 && ok.body?.error?.code === 'approval_decided');
          }, 'refund approved', Math.max(1000, deadline - Date.now()), 1000);
          item.state = (await stack.db('approvals').where({ id: approvalId }).first('status')).status;
        } catch (err) {
          const d = item.id ? await stack.db('donations').where({ id: item.id }).first('status', 'refunded_minor').catch(() => undefined) : undefined;
          const evts = item.id ? await stack.db('processor_events').whereRaw(`payload->'data'->'object'->'metadata'->>'donation_id' = ?`, [item.id]).select('type', 'outcome', 'processed_at', 'attempts', 'last_error').catch(() => []) : [];
          apiRefundErrors.push(`#${i} ${item.id} (${item.state}; donation ${JSON.stringify(d)}; events ${JSON.stringify(evts)}): ${(err as Error).message.slice(0, 160)}`);
        }
      }
    });

    // Faults at random points of the day (by how far the day has got).
    const injected: string[] = [];
    const at = (fraction: number) => waitUntil(() => load.gifts.length >= TOTAL * fraction || performance.now() - t0 > 900_000, `${fraction * 100}% of the day`, 1_000_000, 200);
    const faults = [
      ...Array.from({ length: KILLS }, () => ({ when: 0.1 + r.next() * 0.7, what: 'kill' as const })),
      { when: 0.3 + r.next() * 0.35, what: 'redis' as const },
    ].sort((a, b) => a.when - b.when);
    for (const f of faults) {
      await at(f.when);
      const mark = `at ${load.gifts.length} donations (${stack.elapsed()})`;
      if (f.what === 'kill') {
        await stack.worker.kill();
        const t = performance.now();
        await stack.worker.start();
        injected.push(`worker SIGKILL ${mark}, back in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      } else {
        stack.http.phase = 'redis down';
        await stack.redis.stop();
        await sleep(REDIS_DOWN_S * 1000);
        await stack.redis.start();
        stack.http.phase = 'day';
        injected.push(`Redis SIGKILL ${mark}, down ${REDIS_DOWN_S} s, back empty`);
      }
    }
    await load.done();
    const daySeconds = (performance.now() - t0) / 1000;
    const backlogAtEnd = await stack.backlog();
    await load.stop(180_000);
    await apiRefunder;
    const loadSummary = load.summary();
    const drainSeconds = (performance.now() - t0) / 1000 - daySeconds;
    const settled = await stack.settle('the day settled', 240_000);

    // The model: event-driven fates plus the API refunds.
    const expected = load.expected();
    const apiRows: { id: string; status: string; refunded_minor: number }[] = apiRefunds.length ? await stack.db('donations').whereIn('id', apiRefunds.map((x) => x.id)).select('id', 'status', 'refunded_minor') : [];
    const apiWrong: string[] = [];
    for (const x of apiRefunds) {
      const row = apiRows.find((y) => y.id === x.id);
      const done = x.state === 'approved';
      if (done) expected.set(x.slug, (expected.get(x.slug) ?? 0) + x.amount - x.refund);
      else if (row?.status !== 'pending') expected.set(x.slug, (expected.get(x.slug) ?? 0) + x.amount - (row?.refunded_minor ?? 0));
      if (done && (row?.refunded_minor !== x.refund)) apiWrong.push(`${x.id}: refunded ${row?.refunded_minor} of ${x.refund} (${row?.status})`);
    }
    const wrong = await load.wrongStates();
    const journals = (await stack.db('ledger_journals').select('kind').count({ n: '*' }).groupBy('kind').orderBy('kind')) as { kind: string; n: string }[];
    const allocs = (await stack.db('match_allocations').select('status').count({ n: '*' }).groupBy('status')) as { status: string; n: string }[];

    v.check(`all ${TOTAL} donations made`, load.gifts.length === TOTAL, { made: load.gifts.length, gaveUp: load.createNoAnswer, errors: load.createErrors.slice(0, 3) });
    v.check('every webhook accepted in the end (refused ones redelivered)', load.lost.length === 0, load.lost.slice(0, 5));
    v.check('backlog settled by itself: every event applied, every fee booked', settled.ok, settled.left);
    v.check('each donation ends in the state its events imply', wrong.length === 0, wrong.slice(0, 5));
    v.check(`${API_REFUNDS} refunds asked and approved by two finance users through the API, each carried out`, apiRefundErrors.length === 0 && apiWrong.length === 0 && apiRefunds.every((x) => x.state === 'approved'), { errors: apiRefundErrors.slice(0, 3), wrong: apiWrong.slice(0, 3) });
    const std = await standardChecks(stack, v, { campaigns, expected, allow503: true });
    const cpu = await cpuFigure(stack, cpu0);
    const statements = await topStatements(stack);
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);

    printFigures(`R8 figures (seed ${SEED})`, [
      ['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`],
      ['the day', `${load.gifts.length} donations in ${daySeconds.toFixed(0)} s (${(load.gifts.length / daySeconds).toFixed(0)}/s) by ${DONORS} donors at once through ${WEBS} web process${WEBS > 1 ? 'es' : ''}, 8 campaigns in 4 streets, 3 grants`],
      ['load', loadSummary],
      ['fates', load.fateCounts()],
      ['API refunds (four-eyes)', `${apiRefunds.filter((x) => x.state === 'approved').length} of ${API_REFUNDS} approved and carried out${apiRefundErrors.length ? `; errors: ${apiRefundErrors.slice(0, 2).join('; ')}` : ''}`],
      ['injected', `${KILLS} worker kills, 1 Redis restart (empty), ${(load.deliveries - load.distinctEvents)} extra deliveries (duplicates and redeliveries), events shuffled within ${1.5} s`],
      ...injected.map((x, i): [string, unknown] => [`  fault ${i + 1}`, x]),
      ['HTTP during the day', statuses(stack.http.byPhase.day ?? {})],
      ['HTTP while Redis was down', statuses(stack.http.byPhase['redis down'] ?? {})],
      ['POST donations', `${latencyOf(stack, 'POST donations')}`],
      ['POST /webhooks/stripe', `${latencyOf(stack, 'POST /webhooks/stripe')}`],
      ['backlog when the last donation was made', `${backlogAtEnd.events} events not yet applied, ${backlogAtEnd.fees} fees not yet booked`],
      ['after the day', `${drainSeconds.toFixed(0)} s until the refunds were done and Stripe's deliveries accepted, then ${settledFigure(settled)}`],
      ['journals', Object.fromEntries(journals.map((j) => [j.kind, Number(j.n)]))],
      ['match allocations', Object.fromEntries(allocs.map((a) => [a.status, Number(a.n)]))],
      ...std,
      dl,
      cpu,
      ...statements,
      ['elapsed', stack.elapsed()],
    ], v);
    v.assert();
  });
});

function latencyOf(stack: Stack, label: string): string {
  const s = [...(stack.http.latencies[label] ?? [])].sort((a, b) => a - b);
  if (!s.length) return 'n/a';
  const p = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)].toFixed(0);
  return `${s.length} requests, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
}
