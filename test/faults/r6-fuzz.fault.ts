import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import type { Role } from '../../server/modules/auth/index.js';
import {
  deadlockCheck, events, failedInvariants, lanes, makeCampaign, makeGrant, makeStreet, makeToken, printFigures, SEED, Stack, statuses, Verdict,
} from './kit.js';
import { REPO } from './infra.js';

/**
 * R6: the OpenAPI fuzz (test/fuzz/openapi-fuzz.ts) against the real web and worker processes:
 * every route of /api/openapi.json gets the classes of bad input, anonymously, as an admin and as
 * every other role. No 5xx, no 2xx for a clearly bad input, errors in the documented shape, and
 * the database's business rows are exactly the same before and after (the snapshot below).
 */
const FUZZ_MODULE = path.join(REPO, 'test/fuzz/openapi-fuzz.ts');

/** Tables whose rows may change without any business write: token use and sign-in timestamps, migrations. */
const VOLATILE = new Set(['knex_migrations', 'knex_migrations_lock', 'api_tokens', 'users']);

/** A digest of every business table: one line per table (row count and md5 of its rows in a stable order). */
async function snapshotRows(stack: Stack): Promise<string> {
  const tables: string[] = (await stack.db.raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)).rows
    .map((r: { table_name: string }) => r.table_name).filter((t: string) => !VOLATILE.has(t));
  const lines: string[] = [];
  for (const t of tables) {
    const { rows } = await stack.db.raw(`SELECT count(*)::int AS n, coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-') AS digest FROM "${t}" x`);
    lines.push(`${t} rows=${rows[0].n} md5=${rows[0].digest}`);
  }
  return lines.join('\n');
}

describe('R6 · the OpenAPI fuzz', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('answers every bad input with a documented 4xx, never a 5xx, and changes no row', async function () {
    const v = new Verdict();
    if (!existsSync(FUZZ_MODULE)) throw new Error(`R6 cannot run: ${path.relative(REPO, FUZZ_MODULE)} does not exist yet`);
    const { fuzzOpenApi } = (await import(FUZZ_MODULE)) as { fuzzOpenApi: (opts: { baseUrl: string; adminToken: string; tokens?: Record<string, string>; snapshot: () => Promise<string> }) => Promise<{ requests: number; byStatus: Record<string, number>; failures: string[] }> };

    stack = await Stack.create({ name: 'r6' });
    const c = await stack.container();
    const street = await makeStreet(c);
    const live = await makeCampaign(c, street.streetId);
    await makeCampaign(c, street.streetId, { status: 'draft' });
    const grant = await makeGrant(c, { budget: 500_000, campaigns: [live.slug], rules: { ratio_percent: 100 } });
    const organisationId = (await c.db('organisations').insert({ name: '演练社会组织' }).returning('id'))[0].id as number;
    const roles: Role[] = ['association_finance', 'street_officer', 'social_org', 'reviewer', 'auditor', 'sponsor'];
    const tokens: Record<string, string> = {};
    for (const role of roles) tokens[role] = (await makeToken(c, role, { streetId: street.streetId, sponsorId: grant.sponsorId, organisationId })).token;
    await stack.closeContainer();
    const bootSeconds = await stack.start();

    // A few paid donations, so the fuzz reaches real rows.
    const gifts = [];
    for (let i = 0; i < 4; i++) gifts.push((await stack.give(live.slug, 1000 + i * 100, { email: `r6-${i}@faults.test` }))!);
    const charges = await stack.chargeIds(gifts.map((g) => g.id));
    await lanes(gifts.slice(0, 3), 3, (g) => stack.deliver(events.succeeded({ id: g.id, amount: g.amount, paymentRef: g.paymentRef, chargeId: charges.get(g.id)!, slug: live.slug })));
    await stack.settle('fixtures paid', 30_000);

    const t = performance.now();
    const result = await fuzzOpenApi({ baseUrl: stack.baseUrl, adminToken: stack.adminToken, tokens, snapshot: () => snapshotRows(stack) });
    const seconds = (performance.now() - t) / 1000;
    const fiveXX = Object.entries(result.byStatus).filter(([s]) => Number(s) >= 500);

    v.check('the fuzz reported no failure (5xx, 2xx for bad input, error shape, rows changed)', result.failures.length === 0, result.failures.slice(0, 8).join(' | '));
    v.check('no 5xx at all', fiveXX.length === 0, fiveXX);
    v.check('web and worker still running', stack.web.alive && stack.worker.alive && !stack.web.unexpectedExits.length && !stack.worker.unexpectedExits.length);
    const inv = await failedInvariants(stack.db);
    v.check('every ledger invariant holds', inv.failed.length === 0, inv.failed);
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);

    printFigures(`R6 figures (seed ${SEED})`, [
      ['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`],
      ['callers', `anonymous, association_admin, ${roles.join(', ')}`],
      ['requests', `${result.requests} in ${seconds.toFixed(1)} s (${(result.requests / seconds).toFixed(0)}/s)`],
      ['by status', statuses(result.byStatus)],
      ['failures', result.failures.length],
      ['snapshot', `${(await snapshotRows(stack)).split('\n').length} tables digested (${[...VOLATILE].join(', ')} left out), sha ${createHash('sha256').update(await snapshotRows(stack)).digest('hex').slice(0, 12)}`],
      ['ledger invariants', `${inv.total - inv.failed.length}/${inv.total} hold`],
      dl,
      ['elapsed', stack.elapsed()],
    ], v);
    v.assert();
  });
});
