/**
 * Fixtures and checks for bench:matching: streets, campaigns and grants built through the
 * service (as test/helpers build them), the reservation transaction `donations.create` runs,
 * and the pool, allocation and deadlock figures the exhaustion check asserts on.
 */
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import type pg from 'pg';
import type { Container } from '../../server/container.js';
import { SYSTEM_PRINCIPAL } from '../../server/modules/auth/index.js';
import type { CampaignRow } from '../../server/modules/campaigns/index.js';
import { createDonationBatches, type DonationBatches, type ReserveMatch } from '../../server/modules/donations/index.js';
import { geoRepo } from '../../server/modules/geo/index.js';
import { GrantCreate, type GrantRow } from '../../server/modules/matching/index.js';
import type { StepTimer } from './profile.js';
import { BENCH_AGREEMENT, sleep } from './setup.js';

const DAY = 86_400_000;

/** One district with `n` streets, each with a community and a community fund; returns the street ids. */
export function createStreets(c: Container, n: number): Promise<number[]> {
  return c.db.transaction(async (trx) => {
    const districtId = await geoRepo.insertDistrict(trx, { code: 'bench-district', name: '压测区' });
    const streets: number[] = [];
    for (let i = 1; i <= n; i++) {
      const streetId = await geoRepo.insertStreet(trx, { district_id: districtId, code: `bench-street-${i}`, name: `压测街道${i}` });
      await geoRepo.insertCommunity(trx, { street_id: streetId, code: `bench-street-${i}-c1`, name: `压测社区${i}` });
      await c.funds.create(trx, { streetId, code: `bench-street-${i}-fund`, name: `压测街道${i}慈善基金`, agreement: BENCH_AGREEMENT });
      streets.push(streetId);
    }
    return streets;
  });
}

/** One fresh live campaign per street, slugs `<tag>-1` … `<tag>-n`. */
export function createCampaigns(c: Container, streets: number[], tag: string): Promise<CampaignRow[]> {
  return Promise.all(streets.map((street, i) => c.campaigns.create(SYSTEM_PRINCIPAL, {
    slug: `${tag}-${i + 1}`, title: `压测项目 ${tag} ${i + 1}`, story: '', goal: 10_000_000_000, currency: 'CNY', street,
    starts_at: new Date(Date.now() - DAY), ends_at: new Date(Date.now() + 30 * DAY), status: 'live',
  }, (k) => k)));
}

/** An active 1:1 grant over all campaigns, its budget spread over `shards` pool rows. */
export async function activeGrant(c: Container, o: { budget: number; shards: number; partial?: boolean }): Promise<GrantRow> {
  const input = GrantCreate.parse({
    sponsor: `压测企业-${randomUUID().slice(0, 8)}`, budget: o.budget, currency: 'CNY', scope: { all: true },
    starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString(),
    rules: { ratio_percent: 100, pool_shards: o.shards, partial_last_match: o.partial ?? true },
  });
  const g = await c.grants.create(input, (k) => k);
  return c.grants.activate(g.id);
}

/** A random gift of 100–5000 fen (¥1–¥50). */
export const randomAmount = () => 100 + Math.floor(Math.random() * 4901);

/** How the reservation step writes: each donation in its own transaction, or group-committed in batches. */
export type Writing = 'alone' | 'batched';

/** A donation writer as the service builds one: `alone` is one transaction per gift, `batched` the service's defaults. */
export function batchesFor(c: Container, writing: Writing, concurrency: number): DonationBatches {
  return writing === 'alone'
    ? createDonationBatches({ db: c.db, matching: c.reserveMatch as ReserveMatch, log: c.log, maxBatch: 1, maxInFlight: concurrency })
    : createDonationBatches({ db: c.db, matching: c.reserveMatch as ReserveMatch, log: c.log, maxBatch: c.config.DONATION_BATCH_MAX, maxInFlight: c.config.DONATION_BATCH_IN_FLIGHT });
}

/**
 * The reservation step of `donations.create`: matching's `prepare` (the grants that apply,
 * cached, outside the transaction), then the writer: the pending donation (the same columns the
 * service writes) inserted and its match reserved, in its own transaction or in the next batch.
 * Resolves with the match reserved (fen). With a StepTimer, the wall time of prepare and write
 * is added to it.
 */
export async function reserveOne(c: Container, batches: DonationBatches, campaign: CampaignRow, amount: number, email: string | null, steps?: StepTimer): Promise<number> {
  const key = randomUUID();
  const print = createHash('sha256').update(JSON.stringify([campaign.slug, amount, 'CNY', null, email, null, true, null, null])).digest('hex');
  const at = new Date();
  let t = performance.now();
  const prepared = await c.reserveMatch.prepare(campaign, at);
  if (steps) t = steps.add('prepare', t);
  const written = await batches.submit({
    campaign, at, prepared,
    row: {
      id: randomUUID(), campaign_id: campaign.id, amount_minor: amount, currency: 'CNY', donor_name: null, donor_email: email, donor_phone: null,
      anonymous: true, message: null, team: null, idempotency_key: key, request_fingerprint: print, provider: c.provider.name, created_at: at, user_id: null,
    },
  });
  if (steps) {
    steps.add('write', t);
    steps.units++;
  }
  return written.reserved;
}

export interface PoolFigures {
  reserved_total: number;
  allocations: { total: number; full: number; partial: number; zero: number };
  shard_balances: number[];
  unopened_budget: number;
}

/** What a grant's reservations and pool rows add up to. */
export async function poolFigures(probe: pg.Client, grantId: number): Promise<PoolFigures> {
  const a = (await probe.query(
    `SELECT coalesce(sum(reserved_minor), 0)::bigint AS reserved, count(*)::int AS total,
            count(*) FILTER (WHERE reserved_minor > 0 AND reserved_minor = desired_minor)::int AS full,
            count(*) FILTER (WHERE reserved_minor > 0 AND reserved_minor < desired_minor)::int AS partial,
            count(*) FILTER (WHERE reserved_minor = 0)::int AS zero
       FROM match_allocations WHERE grant_id = $1`, [grantId])).rows[0];
  const shards = (await probe.query(
    `SELECT a.balance::bigint AS balance FROM grant_pool_shards s JOIN ledger_accounts a ON a.id = s.account_id WHERE s.grant_id = $1 ORDER BY s.bucket, s.shard`, [grantId])).rows;
  const budget = (await probe.query(`SELECT balance::bigint AS balance FROM ledger_accounts WHERE code = $1`, [`grant:${grantId}:budget:CNY`])).rows[0];
  return {
    reserved_total: Number(a.reserved),
    allocations: { total: a.total, full: a.full, partial: a.partial, zero: a.zero },
    shard_balances: shards.map((s) => Number(s.balance)),
    unopened_budget: Number(budget?.balance ?? 0),
  };
}

/** pg_stat_database's deadlock counter for this database. */
export async function deadlocks(probe: pg.Client): Promise<number> {
  return Number((await probe.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks);
}

/**
 * Backends report statistics (the deadlock counter too) at most once a second and, once idle, up
 * to 10 s late. Waiting a second and then running a statement on every pooled connection makes
 * each flush what it holds, so pg_stat_database is current.
 */
export async function flushBackendStats(db: Knex, poolMax: number): Promise<void> {
  await sleep(1100);
  await Promise.all(Array.from({ length: poolMax }, () => db.raw('SELECT pg_sleep(0.05)')));
  await sleep(200);
}

/** Closes a phase's campaigns, so later phases' live updates (a grant's fan-out to every live campaign) skip them. */
export async function closeCampaigns(db: Knex, campaigns: CampaignRow[]): Promise<void> {
  await db('campaigns').whereIn('id', campaigns.map((x) => x.id)).update({ status: 'closed' });
}
