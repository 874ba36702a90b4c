import { randomUUID } from 'node:crypto';
import { GrantCreate, type GrantRow, type RulesInput } from '../../server/modules/matching/index.js';
import { waitFor, waitForIdleQueues } from './db.js';
import { tokenFor } from './factories.js';
import { h } from './harness.js';

const DAY = 86_400_000;

/** A grant (active by default) over the given campaigns, or all campaigns. */
export async function fakeGrant(partial: { sponsor?: string; budget?: number; campaigns?: string[]; streets?: number[]; rules?: RulesInput; priority?: number; startsAt?: Date; endsAt?: Date; activate?: boolean } = {}): Promise<GrantRow> {
  const { c } = h();
  const input = GrantCreate.parse({
    sponsor: partial.sponsor ?? `测试企业-${randomUUID().slice(0, 8)}`,
    budget: partial.budget ?? 1_000_000,
    currency: 'CNY',
    scope: partial.campaigns || partial.streets ? { campaigns: partial.campaigns, streets: partial.streets } : { all: true },
    starts_at: (partial.startsAt ?? new Date(Date.now() - DAY)).toISOString(),
    ends_at: (partial.endsAt ?? new Date(Date.now() + 30 * DAY)).toISOString(),
    priority: partial.priority ?? 0,
    rules: partial.rules ?? {},
  });
  const g = await c.grants.create(input, (k) => k);
  return partial.activate === false ? g : c.grants.activate(g.id);
}

export interface Gift { id: string; status: string; amount: number; match: { reserved: number; committed: number } }

/** Gives through the public API; returns the created donation. */
export async function give(slug: string, amount: number, donor: Record<string, unknown> = {}, key = randomUUID()): Promise<Gift> {
  const res = await h().api().post(`/api/campaigns/${slug}/donations`).set('Idempotency-Key', key).send({ amount, currency: 'CNY', donor });
  if (res.status !== 201) throw new Error(`donation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Pays a donation through the sandbox checkout path and waits for the worker to confirm it. */
export async function pay(id: string, payer?: string): Promise<void> {
  await h().c.sandbox!.complete(id, 'succeed', payer);
  await waitFor(async () => (await h().db('donations').where({ id }).first('status')).status === 'succeeded', `donation ${id} paid`);
  await waitForIdleQueues();
}

/** A donation's allocations, in claim order. */
export function allocationsOf(donationId: string) {
  return h().db('match_allocations as a').join('grants as g', 'g.id', 'a.grant_id').where('a.donation_id', donationId)
    .orderBy([{ column: 'g.priority', order: 'desc' }, { column: 'g.id', order: 'asc' }])
    .select('a.*');
}

/** The grant as GET /api/grants/:id shows it. */
export async function grantJson(id: number) {
  return (await h().api().get(`/api/grants/${id}`).expect(200)).body;
}

/**
 * A refund through the API as finance works it: one finance user asks (202, pending approval),
 * a second approves, which carries it out. Returns the approval.
 */
export async function approvedRefund(donationId: string, body: { amount?: number } = {}) {
  const [asker, approver] = [await tokenFor('association_finance'), await tokenFor('association_finance')];
  const asked = await h().api().post(`/api/donations/${donationId}/refunds`).set('Authorization', `Bearer ${asker}`).send(body);
  if (asked.status !== 202) throw new Error(`refund not requested: ${asked.status} ${JSON.stringify(asked.body)}`);
  const approved = await h().api().post(`/api/approvals/${asked.body.approval_id}/approve`).set('Authorization', `Bearer ${approver}`).send({});
  if (approved.status !== 200 || approved.body.status !== 'approved') throw new Error(`refund not approved: ${approved.status} ${JSON.stringify(approved.body)}`);
  return { asked: asked.body, approval: approved.body };
}
