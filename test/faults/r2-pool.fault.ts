import { performance } from 'node:perf_hooks';
import {
  deadlockCheck, envInt, events, lanes, latency, makeCampaign, makeGrant, makeStreet, printFigures, rng, SEED, sleep, Stack, standardChecks, Verdict,
  type Paid, type StripeEvent,
} from './kit.js';

/**
 * R2: 500 concurrent donors against a ¥100 pool, once with the pool in a single row and once
 * sharded over 8 rows. The pool is never over (committed + reserved ≤ budget, sampled all along),
 * it is used exactly (partial last match), and there are 0 deadlocks.
 *
 * Per pool: 500 donations at once (¥1–¥10 each, 1:1, far more demand than budget); then 80 % are
 * paid and 20 % fail (their reservations return to the pool); then a second wave of 100 donors
 * takes what came back, and is paid, so exactly the budget ends up committed.
 */
const DONORS = envInt('FAULT_R2_DONORS', 500);
const WAVE2 = envInt('FAULT_R2_WAVE2', 100);
const BUDGET = 10_000; // ¥100

describe('R2 · 500 concurrent donors against a ¥100 pool (single and sharded)', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('never goes over the pool, uses it exactly, and has 0 deadlocks', async function () {
    const r = rng(SEED + 2);
    const v = new Verdict();
    stack = await Stack.create({ name: 'r2', maxSockets: DONORS + 50, env: { DB_POOL_MAX: '20' } });
    const c = await stack.container();
    const street = await makeStreet(c);
    const single = await makeCampaign(c, street.streetId, { slug: 'r2-single-pool' });
    const sharded = await makeCampaign(c, street.streetId, { slug: 'r2-sharded-pool' });
    const rules = { ratio_percent: 100, min_donation: 100, partial_last_match: true };
    const pools = [
      { label: 'single row', campaign: single, grant: await makeGrant(c, { budget: BUDGET, campaigns: [single.slug], rules: { ...rules, pool_shards: 1 } }) },
      { label: 'sharded ×8', campaign: sharded, grant: await makeGrant(c, { budget: BUDGET, campaigns: [sharded.slug], rules: { ...rules, pool_shards: 8 } }) },
    ];
    await stack.closeContainer();
    const bootSeconds = await stack.start();
    const figures: [string, unknown][] = [['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`], ['pool', `¥${BUDGET / 100} per grant, 1:1, partial last match`]];

    /** committed + reserved of a grant now (from its allocations). */
    const used = async (grantId: number) => {
      const { rows } = await stack.db.raw(`SELECT coalesce(sum(CASE WHEN status IN ('reserved','held') THEN reserved_minor WHEN status IN ('committed','clawed_back') THEN committed_minor - clawed_back_minor ELSE 0 END), 0)::bigint AS used,
                                                  coalesce(sum(reserved_minor) FILTER (WHERE status IN ('reserved','held')), 0)::bigint AS reserved,
                                                  coalesce(sum(committed_minor - clawed_back_minor) FILTER (WHERE status IN ('committed','clawed_back')), 0)::bigint AS committed
                                             FROM match_allocations WHERE grant_id = ?`, [grantId]);
      return { used: Number(rows[0].used), reserved: Number(rows[0].reserved), committed: Number(rows[0].committed) };
    };
    const shardSum = async (grantId: number) => Number((await stack.db.raw(`SELECT coalesce(sum(a.balance), 0)::bigint AS s, count(*) FILTER (WHERE a.balance < 0) AS neg FROM grant_pool_shards p JOIN ledger_accounts a ON a.id = p.account_id WHERE p.grant_id = ?`, [grantId])).rows[0].s);

    for (const pool of pools) {
      const gid = pool.grant.id;
      let maxUsed = 0;
      let samples = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxUsed = Math.max(maxUsed, (await used(gid)).used);
          samples++;
          await sleep(50);
        }
      })();

      // Wave 1: every donor at once.
      const t0 = performance.now();
      const wave1 = await Promise.all(Array.from({ length: DONORS }, (_, i) => stack.give(pool.campaign.slug, r.int(100, 1000), { email: `r2-${gid}-${i}@faults.test` })));
      const burstSeconds = (performance.now() - t0) / 1000;
      const after1 = await used(gid);
      const shardsLeft = await shardSum(gid);
      const gifts = wave1.filter((g): g is NonNullable<typeof g> => Boolean(g));
      const allocs: { desired_minor: number; reserved_minor: number }[] = await stack.db('match_allocations').where({ grant_id: gid }).select('desired_minor', 'reserved_minor');
      const full = allocs.filter((a) => a.reserved_minor === a.desired_minor && a.desired_minor > 0).length;
      const zero = allocs.filter((a) => a.reserved_minor === 0).length;
      const partial = allocs.length - full - zero;
      v.check(`${pool.label}: all ${DONORS} donations created (201)`, gifts.length === DONORS, { created: gifts.length });
      v.check(`${pool.label}: the pool is used exactly after the burst (Σ reserved = budget, shards at 0)`, after1.reserved === BUDGET && shardsLeft === 0, { reserved: after1.reserved, shardsLeft });

      // Pay 80 %, fail 20 %: failed reservations go back to the pool.
      const charges = await stack.chargeIds(gifts.map((g) => g.id));
      const paid = (g: (typeof gifts)[number]): Paid => ({ id: g.id, amount: g.amount, paymentRef: g.paymentRef, chargeId: charges.get(g.id)!, slug: pool.campaign.slug });
      const outcome = gifts.map((g) => ({ g, ok: r.chance(0.8) }));
      const evts: StripeEvent[] = outcome.map(({ g, ok }) => (ok ? events.succeeded(paid(g)) : events.failed(paid(g))));
      await lanes(evts, 20, (e) => stack.deliver(e));
      const s1 = await stack.settle('wave 1 applied', 60_000, async () => (await used(gid)).reserved === 0);
      const after2 = await used(gid);
      const reservedOfPaid = outcome.filter((o) => o.ok).reduce((s, o) => s + o.g.reserved, 0);
      v.check(`${pool.label}: after payment, committed = what the paid donations had reserved, nothing left reserved`, s1.ok && after2.committed === reservedOfPaid && after2.reserved === 0, { ...after2, reservedOfPaid });

      // Wave 2 takes what came back; all paid, so the whole budget is committed.
      const wave2 = (await Promise.all(Array.from({ length: WAVE2 }, (_, i) => stack.give(pool.campaign.slug, r.int(100, 1000), { email: `r2-${gid}-w2-${i}@faults.test` })))).filter((g): g is NonNullable<typeof g> => Boolean(g));
      const charges2 = await stack.chargeIds(wave2.map((g) => g.id));
      await lanes(wave2.map((g) => events.succeeded({ id: g.id, amount: g.amount, paymentRef: g.paymentRef, chargeId: charges2.get(g.id)!, slug: pool.campaign.slug })), 20, (e) => stack.deliver(e));
      const s2 = await stack.settle('wave 2 applied', 60_000, async () => (await used(gid)).reserved === 0);
      sampling = false;
      await sampler;
      const after3 = await used(gid);
      const api = (await stack.http.get(`/api/grants/${gid}`)).body;
      v.check(`${pool.label}: never over: max observed committed + reserved ≤ budget (${samples} samples)`, maxUsed <= BUDGET, { maxUsed });
      v.check(`${pool.label}: after the second wave exactly the budget is committed (API agrees)`, s2.ok && after3.committed === BUDGET && after3.reserved === 0 && api.committed === BUDGET && api.reserved === 0 && api.remaining === 0, { ...after3, api: { committed: api.committed, reserved: api.reserved, remaining: api.remaining } });

      figures.push(
        [`${pool.label}: burst`, `${DONORS} donors at once in ${burstSeconds.toFixed(2)} s (${(DONORS / burstSeconds).toFixed(0)}/s), ${latency(gifts.map((g) => g.ms))}`],
        [`${pool.label}: matches`, `full ${full}, partial ${partial}, zero ${zero}; Σ reserved ${after1.reserved} of ${BUDGET}; shards left ${shardsLeft}`],
        [`${pool.label}: paid / failed`, `${outcome.filter((o) => o.ok).length} / ${outcome.filter((o) => !o.ok).length}; committed ${after2.committed}, returned ${after1.reserved - after2.committed}`],
        [`${pool.label}: wave 2`, `${wave2.length} donors took ${after3.committed - after2.committed}; committed ${after3.committed} of ${BUDGET}`],
        [`${pool.label}: max committed + reserved`, `${maxUsed} (${samples} samples every 50 ms)`],
      );
    }

    const std = await standardChecks(stack, v, { campaigns: pools.map((p) => p.campaign) });
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);
    printFigures(`R2 figures (seed ${SEED})`, [...figures, ...std, dl, ['elapsed', stack.elapsed()]], v);
    v.assert();
  });
});
