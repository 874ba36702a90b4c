import { randomBytes } from 'node:crypto';
import type { Container } from '../../server/container.js';
import { SYSTEM_PRINCIPAL, type Role } from '../../server/modules/auth/index.js';
import { geoRepo } from '../../server/modules/geo/index.js';
import { GrantCreate, type RulesInput } from '../../server/modules/matching/index.js';

/**
 * What scenarios give and deliver: Stripe-format events for a paid donation (succeeded, failed,
 * refunded, disputed), and fixtures made through the service's own code, like test/helpers
 * (a street with its fund, campaigns, grants, users and API tokens).
 */

// ------------------------------------------------------------------ Stripe-format events

export interface Paid {
  id: string;
  amount: number;
  paymentRef: string;
  chargeId: string;
  slug: string;
}

let eventSeq = 0;
const eventId = () => `evt_fault_${(++eventSeq).toString(36)}_${randomBytes(8).toString('hex')}`;

export interface StripeEvent {
  id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
  [k: string]: unknown;
}

function envelope(type: string, object: Record<string, unknown>): StripeEvent {
  return { id: eventId(), object: 'event', api_version: '2026-01-28', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1, type, data: { object } };
}

export const events = {
  succeeded: (d: Paid) =>
    envelope('payment_intent.succeeded', { id: d.paymentRef, object: 'payment_intent', amount: d.amount, amount_received: d.amount, currency: 'cny', status: 'succeeded', latest_charge: d.chargeId, metadata: { donation_id: d.id }, last_payment_error: null }),
  failed: (d: Paid) =>
    envelope('payment_intent.payment_failed', { id: d.paymentRef, object: 'payment_intent', amount: d.amount, amount_received: 0, currency: 'cny', status: 'requires_payment_method', latest_charge: d.chargeId, metadata: { donation_id: d.id }, last_payment_error: { type: 'card_error', code: 'card_declined', message: 'declined' } }),
  /** `charge.refunded` listing every refund so far (cumulative, as Stripe sends it). */
  refunded: (d: Paid, refunds: { id: string; amount: number }[]) => {
    const total = refunds.reduce((s, r) => s + r.amount, 0);
    return envelope('charge.refunded', {
      id: d.chargeId, object: 'charge', amount: d.amount, amount_captured: d.amount, amount_refunded: total, currency: 'cny', paid: true, status: 'succeeded',
      refunded: total === d.amount, payment_intent: d.paymentRef, metadata: { donation_id: d.id },
      refunds: { object: 'list', has_more: false, data: refunds.map((r) => ({ id: r.id, object: 'refund', amount: r.amount, status: 'succeeded', charge: d.chargeId, payment_intent: d.paymentRef, currency: 'cny', created: Math.floor(Date.now() / 1000) })) },
    });
  },
  dispute: (d: Paid, amount: number) =>
    envelope('charge.dispute.created', { id: `dp_fault_${randomBytes(10).toString('hex')}`, object: 'dispute', amount, currency: 'cny', charge: d.chargeId, payment_intent: d.paymentRef, metadata: { donation_id: d.id }, status: 'needs_response', created: Math.floor(Date.now() / 1000) }),
};
export const refundId = () => `re_fault_${randomBytes(10).toString('hex')}`;

// ------------------------------------------------------------------ fixtures (through the service's own code, like test/helpers)

const uniq = () => randomBytes(4).toString('hex');
const DAY = 86_400_000;
export const AGREEMENT = { purpose: '社区困境儿童与长者服务', management_fee_bp: 500, surplus_disposal: '结余用于同类社区公益项目', signed_on: new Date('2026-01-05'), signatories: '区慈善会、街道办事处' };

export async function makeStreet(c: Container, name = '测试街道'): Promise<{ streetId: number; fundId: number; code: string }> {
  const code = `street-${uniq()}`;
  return c.db.transaction(async (trx) => {
    const districtId = await geoRepo.insertDistrict(trx, { code: `district-${uniq()}`, name: '测试区' });
    const streetId = await geoRepo.insertStreet(trx, { district_id: districtId, code, name });
    await geoRepo.insertCommunity(trx, { street_id: streetId, code: `${code}-c1`, name: '测试社区' });
    const fund = await c.funds.create(trx, { streetId, code: `${code}-fund`, name: `${name}慈善基金`, agreement: AGREEMENT });
    return { streetId, fundId: fund.id, code };
  });
}

export async function makeCampaign(c: Container, streetId: number, over: { slug?: string; status?: 'draft' | 'live'; goal?: number } = {}): Promise<{ id: number; slug: string; streetId: number }> {
  const row = await c.campaigns.create(
    SYSTEM_PRINCIPAL,
    { slug: over.slug ?? `campaign-${uniq()}`, title: '故障演练项目', story: '', goal: over.goal ?? 100_000_000, currency: 'CNY', street: streetId, starts_at: new Date(Date.now() - DAY), ends_at: new Date(Date.now() + 30 * DAY), status: over.status ?? 'live' },
    (k) => k,
  );
  return { id: row.id, slug: row.slug, streetId };
}

export async function makeGrant(c: Container, opts: { budget: number; campaigns?: string[]; streets?: number[]; rules?: RulesInput; priority?: number; activate?: boolean; sponsor?: string }): Promise<{ id: number; budget: number; sponsorId: number }> {
  const input = GrantCreate.parse({
    sponsor: opts.sponsor ?? `演练企业-${uniq()}`,
    budget: opts.budget,
    currency: 'CNY',
    scope: opts.campaigns || opts.streets ? { campaigns: opts.campaigns, streets: opts.streets } : { all: true },
    starts_at: new Date(Date.now() - DAY).toISOString(),
    ends_at: new Date(Date.now() + 30 * DAY).toISOString(),
    priority: opts.priority ?? 0,
    rules: opts.rules ?? {},
  });
  const g = await c.grants.create(input, (k) => k);
  const done = opts.activate === false ? g : await c.grants.activate(g.id);
  return { id: done.id, budget: opts.budget, sponsorId: done.sponsor_id };
}

/** The scenarios' usual world: one street, `n` live campaigns in it, one active grant over them all. */
export async function matchedCampaigns(c: Container, opts: { n: number; budget: number; rules: RulesInput }) {
  const street = await makeStreet(c);
  const campaigns = [];
  for (let i = 0; i < opts.n; i++) campaigns.push(await makeCampaign(c, street.streetId));
  const grant = await makeGrant(c, { budget: opts.budget, campaigns: campaigns.map((x) => x.slug), rules: opts.rules });
  return { street, campaigns, grant };
}

export async function makeUser(c: Container, role: Role, bind: { streetId?: number; sponsorId?: number; organisationId?: number; password?: string; totpSecret?: string } = {}) {
  return c.auth.createUser({
    email: `${role}-${uniq()}@faults.test`, displayName: `${role} ${uniq()}`, role,
    street_id: role === 'street_officer' ? (bind.streetId ?? null) : null,
    sponsor_id: role === 'sponsor' ? (bind.sponsorId ?? null) : null,
    organisation_id: role === 'social_org' ? (bind.organisationId ?? null) : null,
    password: bind.password, totpSecret: bind.totpSecret,
  });
}

export async function makeToken(c: Container, role: Role, bind: { streetId?: number; sponsorId?: number; organisationId?: number } = {}): Promise<{ token: string; userId: number }> {
  const user = await makeUser(c, role, bind);
  const { token } = await c.auth.issueToken({ userId: user.id, label: `fault-${role}` });
  return { token, userId: user.id };
}
