import { performance } from 'node:perf_hooks';
import { deadlockCheck, envInt, Load, matchedCampaigns, printFigures, rng, SEED, settledFigure, sleep, Stack, standardChecks, Verdict } from './kit.js';

/**
 * R3: the worker is SIGKILLed 10 times under load (no drain, jobs cut mid-transaction) and started
 * again each time. Nothing is lost (every accepted event is applied, every fee booked) and
 * nothing is doubled (one donation journal, one fee journal per donation).
 */
const KILLS = envInt('FAULT_R3_KILLS', 10);
const DONORS = envInt('FAULT_R3_DONORS', 6);

describe('R3 · the worker SIGKILLed 10× under load', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('loses nothing and doubles nothing', async function () {
    const r = rng(SEED + 3);
    const v = new Verdict();
    stack = await Stack.create({ name: 'r3', env: { WORKER_CONCURRENCY: '16' } });
    const c = await stack.container();
    const { campaigns } = await matchedCampaigns(c, { n: 2, budget: 2_000_000, rules: { ratio_percent: 50, cap_per_donation: 5_000 } });
    await stack.closeContainer();
    const bootSeconds = await stack.start();

    const load = new Load(stack, r, { campaigns, donors: DONORS, inFlight: 12, duplicates: 0.3, emails: 0.3, fates: { failed: 0.08, failed_then_paid: 0.05, paid_refunded: 0.06, paid_disputed: 0.03 } });
    load.start();
    await sleep(2000);
    const kills: string[] = [];
    const restartTimes: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await sleep(r.int(1200, 3000));
      const { events } = await stack.backlog();
      await stack.worker.kill();
      kills.push(`at ${stack.elapsed()}: ${load.gifts.length} donations so far, ${events} events waiting`);
      const t = performance.now();
      await stack.worker.start();
      restartTimes.push((performance.now() - t) / 1000);
    }
    await sleep(2000);
    await load.stop();
    const loadSummary = load.summary();
    // Jobs a killed worker held are stalled until their lock expires (BullMQ: 30 s); the fee sweeper waits 60 s.
    const settled = await stack.settle('every event applied and every fee booked after the kills', 150_000);
    const wrong = await load.wrongStates();
    const eventStats = (await stack.db.raw(`SELECT count(*)::int AS n, count(*) FILTER (WHERE attempts > 1)::int AS retried, max(attempts)::int AS max_attempts, count(*) FILTER (WHERE last_error IS NOT NULL)::int AS with_error FROM processor_events`)).rows[0];

    v.check('every event accepted by the web process (none given up)', load.lost.length === 0, load.lost.slice(0, 5));
    v.check('backlog settled: every stored event applied, every paid donation has its fee', settled.ok, settled.left);
    v.check('each donation ends in the state its events imply (nothing lost)', wrong.length === 0, wrong.slice(0, 5));
    v.check(`the worker was killed ${KILLS} times and came back each time`, stack.worker.kills === KILLS && stack.worker.alive, { kills: stack.worker.kills, alive: stack.worker.alive });
    const std = await standardChecks(stack, v, { campaigns, expected: load.expected() });
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);

    printFigures(`R3 figures (seed ${SEED})`, [
      ['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`],
      ['injected', `${stack.worker.kills} × SIGKILL of the worker, each restarted at once (restart ${Math.min(...restartTimes).toFixed(1)}–${Math.max(...restartTimes).toFixed(1)} s)`],
      ...kills.map((k, i): [string, unknown] => [`kill ${i + 1}`, k]),
      ['load', loadSummary],
      ['fates', load.fateCounts()],
      ['after the load', settledFigure(settled)],
      ['processor events', `${eventStats.n} stored, ${eventStats.retried} needed more than one attempt (max ${eventStats.max_attempts}), ${eventStats.with_error} with an error noted`],
      ...std,
      dl,
      ['elapsed', stack.elapsed()],
    ], v);
    v.assert();
  });
});
