import { performance } from 'node:perf_hooks';
import {
  deadlockCheck, envInt, HealthProbe, Load, matchedCampaigns, printFigures, rng, SEED, settledFigure, sleep, Stack, standardChecks, statuses,
  Verdict, waitHealthy,
} from './kit.js';

/**
 * R5: PostgreSQL is restarted under load (pg_ctl stop -m fast + start: every connection cut),
 * and later stopped for 20 s. The service recovers by itself (no process restarted, none died);
 * clients get 503 during the outage, never 500; webhooks refused during the outage are applied
 * once Stripe redelivers them.
 */
const OUTAGE_S = envInt('FAULT_R5_OUTAGE_S', 20);
const DONORS = envInt('FAULT_R5_DONORS', 6);

describe('R5 · PostgreSQL restarted, then stopped for 20 s, under load', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('recovers by itself; refused webhooks are applied once redelivered; 503, not 500', async function () {
    const r = rng(SEED + 5);
    const v = new Verdict();
    stack = await Stack.create({ name: 'r5' });
    const c = await stack.container();
    const { campaigns } = await matchedCampaigns(c, { n: 2, budget: 2_000_000, rules: { ratio_percent: 100, cap_per_donation: 3_000 } });
    await stack.closeContainer();
    const bootSeconds = await stack.start();

    const load = new Load(stack, r, { campaigns, donors: DONORS, inFlight: 10, duplicates: 0.2, emails: 0.3, retryMs: 90_000, fates: { failed: 0.08, failed_then_paid: 0.04, paid_refunded: 0.05, paid_disputed: 0.02 } });
    stack.http.phase = 'before';
    load.start();
    await sleep(5000);

    // A restart: every connection of both processes is cut.
    stack.http.phase = 'restart';
    let t = performance.now();
    stack.pg.stop('fast');
    stack.pg.start();
    const restartSeconds = (performance.now() - t) / 1000;
    const healthyAfterRestart = await waitHealthy(stack, 60_000);
    await sleep(5000);

    // An outage of 20 s.
    stack.http.phase = 'outage';
    const refusedBefore = load.refused;
    const probe = new HealthProbe(stack, 'pg outage');
    t = performance.now();
    stack.pg.stop('fast');
    await sleep(OUTAGE_S * 1000);
    stack.pg.start();
    const downSeconds = (performance.now() - t) / 1000;
    const health = await probe.stop();
    const refusedDuringOutage = load.refused - refusedBefore;
    stack.http.phase = 'after';
    const tBack = performance.now();
    const healthyAfterOutage = await waitHealthy(stack, 60_000);
    await sleep(5000);
    await load.stop(150_000);
    const loadSummary = load.summary();
    const settled = await stack.settle('every event applied and every fee booked after PostgreSQL came back', 150_000);
    const recoverySeconds = (performance.now() - tBack) / 1000;
    const wrong = await load.wrongStates();

    const during = stack.http.totals(['restart', 'outage']);
    const bad = ['restart', 'outage', 'after'].flatMap((ph) => Object.keys(stack.http.byPhase[ph] ?? {}).filter((s) => Number(s) >= 500 && s !== '503').map((s) => `${ph}: ${s}×${stack.http.byPhase[ph][s]}`));
    v.check('clients got no 500 during or after the restart and the outage (503 at most)', bad.length === 0, bad);
    v.check('GET /healthz said 503 naming the database while it was down', Object.keys(health).some((k) => k.startsWith('503') && k.includes('db:down')), health);
    v.check('healthy again by itself after the restart and after the outage', healthyAfterRestart !== undefined && healthyAfterOutage !== undefined, { healthyAfterRestart, healthyAfterOutage });
    v.check('every webhook accepted in the end (refused ones redelivered, as Stripe does)', load.lost.length === 0, load.lost.slice(0, 5));
    v.check('backlog settled by itself: every stored event applied, every paid donation has its fee', settled.ok, settled.left);
    v.check('each donation ends in the state its events imply', wrong.length === 0, wrong.slice(0, 5));
    v.check('web and worker were never restarted', stack.web.starts === 1 && stack.worker.starts === 1);
    const std = await standardChecks(stack, v, { campaigns, expected: load.expected(), allow503: true });
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);

    printFigures(`R5 figures (seed ${SEED})`, [
      ['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`],
      ['injected', `PostgreSQL restarted (fast stop + start, ${restartSeconds.toFixed(1)} s), then stopped for ${downSeconds.toFixed(1)} s`],
      ['load', loadSummary],
      ['fates', load.fateCounts()],
      ['HTTP before', statuses(stack.http.byPhase.before ?? {})],
      ['HTTP around the restart', statuses(stack.http.byPhase.restart ?? {})],
      ['HTTP during the outage', statuses(stack.http.byPhase.outage ?? {})],
      ['HTTP after', statuses(stack.http.byPhase.after ?? {})],
      ['webhooks refused in the outage', `${refusedDuringOutage} deliveries (all redelivered until accepted)`],
      ['/healthz during the outage', health],
      ['healthy again', `${healthyAfterRestart?.toFixed(1) ?? 'never'} s after the restart, ${healthyAfterOutage?.toFixed(1) ?? 'never'} s after the outage`],
      ['after the load', settledFigure(settled)],
      ['recovered (PostgreSQL back → all applied)', `${recoverySeconds.toFixed(1)} s`],
      ['5xx seen in restart + outage', statuses(Object.fromEntries(Object.entries(during).filter(([s]) => Number(s) >= 500)))],
      ...std,
      dl,
      ['elapsed', stack.elapsed()],
    ], v);
    v.assert();
  });
});
