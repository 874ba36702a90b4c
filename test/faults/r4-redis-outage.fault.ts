import { performance } from 'node:perf_hooks';
import {
  deadlockCheck, envInt, HealthProbe, Load, matchedCampaigns, printFigures, schedulerIds, rng, SEED, settledFigure, sleep, Stack, standardChecks,
  statuses, Verdict, waitHealthy,
} from './kit.js';

/**
 * R4: Redis is stopped for 20 s under load (SIGKILL: queues, delayed jobs, job schedulers,
 * sessions, cached totals all gone), then started again empty. With no operator (no restart of
 * the web or worker process, nothing run by hand) every event is applied; clients get 503 during
 * the outage, never 500; and afterwards the worker's job schedulers exist again.
 */
const OUTAGE_S = envInt('FAULT_R4_OUTAGE_S', 20);
const DONORS = envInt('FAULT_R4_DONORS', 6);

describe('R4 · Redis stopped for 20 s under load, then restarted empty', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('applies every event with no operator; clients get 503, not 500', async function () {
    const r = rng(SEED + 4);
    const v = new Verdict();
    stack = await Stack.create({ name: 'r4', env: { MATCH_RESERVATION_TTL_MS: '15000' } });
    const c = await stack.container();
    const { campaigns } = await matchedCampaigns(c, { n: 2, budget: 2_000_000, rules: { ratio_percent: 100, cap_per_donation: 3_000 } });
    await stack.closeContainer();
    const bootSeconds = await stack.start();
    const schedulersBefore = await schedulerIds(stack);

    const load = new Load(stack, r, { campaigns, donors: DONORS, inFlight: 10, duplicates: 0.2, emails: 0.3, retryMs: 90_000, fates: { failed: 0.08, failed_then_paid: 0.04, paid_refunded: 0.05, paid_disputed: 0.02, abandoned: 0.03 } });
    stack.http.phase = 'before';
    load.start();
    await sleep(6000);
    const before = load.gifts.length;

    stack.http.phase = 'outage';
    const probe = new HealthProbe(stack, 'outage');
    const tStop = performance.now();
    await stack.redis.stop();
    await sleep(OUTAGE_S * 1000);
    const during = load.gifts.length - before;
    await stack.redis.start();
    const redisDownSeconds = (performance.now() - tStop) / 1000;
    const health = await probe.stop();
    stack.http.phase = 'after';
    const tBack = performance.now();
    const healthyAfter = await waitHealthy(stack, 60_000);
    await sleep(6000);
    await load.stop(150_000);
    const loadSummary = load.summary();
    const settled = await stack.settle('every event applied and every fee booked after Redis came back', 150_000);
    const recoverySeconds = (performance.now() - tBack) / 1000;
    const schedulersAfter = await schedulerIds(stack);
    const wrong = await load.wrongStates();

    const outage = stack.http.byPhase.outage ?? {};
    v.check('clients got no 500 during the outage (503 at most)', !Object.keys(outage).some((s) => Number(s) >= 500 && s !== '503'), outage);
    v.check('GET /healthz said 503 naming Redis while it was down', Object.keys(health).some((k) => k.startsWith('503') && k.includes('redis:down')), health);
    v.check('the web process answered /healthz 200 again after Redis came back (no restart)', healthyAfter !== undefined, { healthyAfter });
    v.check('every webhook accepted in the end (Stripe redelivers what was refused)', load.lost.length === 0, load.lost.slice(0, 5));
    v.check('the worker re-created its job schedulers in the empty Redis', schedulersAfter.length >= schedulersBefore.length && schedulersBefore.length > 0, { before: schedulersBefore.length, after: schedulersAfter.length });
    v.check('backlog settled with no operator: every stored event applied, every paid donation has its fee', settled.ok, settled.left);
    v.check('each donation ends in the state its events imply', wrong.length === 0, wrong.slice(0, 5));
    v.check('web and worker were never restarted', stack.web.starts === 1 && stack.worker.starts === 1);
    const std = await standardChecks(stack, v, { campaigns, expected: load.expected(), allow503: true });
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);

    printFigures(`R4 figures (seed ${SEED})`, [
      ['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`],
      ['injected', `redis-server SIGKILLed under load, down ${redisDownSeconds.toFixed(1)} s, started again empty (no persistence)`],
      ['load', loadSummary],
      ['donations', `${before} before the outage, ${during} completed during it`],
      ['fates', load.fateCounts()],
      ['HTTP before', statuses(stack.http.byPhase.before ?? {})],
      ['HTTP during the outage', statuses(outage)],
      ['HTTP after', statuses(stack.http.byPhase.after ?? {})],
      ['/healthz during the outage', health],
      ['healthy again after', healthyAfter === undefined ? 'never' : `${healthyAfter.toFixed(1)} s`],
      ['job schedulers in Redis', `${schedulersBefore.length} before, ${schedulersAfter.length} after`],
      ['after the load', settledFigure(settled)],
      ['recovered (Redis back → all applied)', `${recoverySeconds.toFixed(1)} s`],
      ...std,
      dl,
      ['elapsed', stack.elapsed()],
    ], v);
    v.assert();
  });
});
