import { SYSTEM_PRINCIPAL } from '../../server/modules/auth/index.js';
import { fakeStreet, fakeUser, tokenFor } from './factories.js';
import { h } from './harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const CRITERIA = [
  { key: 'need', name: '需求分析', weight: 30 },
  { key: 'design', name: '服务设计', weight: 40 },
  { key: 'budget', name: '预算合理性', weight: 30 },
];

/** A street whose pool holds `amount` fen of government money (财政资金). */
export async function streetWithPool(amount = 10_000_000) {
  const street = await fakeStreet();
  await h().c.pools.allocateGovernment(SYSTEM_PRINCIPAL, street.streetId, { amount, reference: `CZ-${street.streetId}-${Date.now()}`, received_on: new Date() });
  return street;
}

/** A social organisation, verified by staff unless told otherwise, and a member's API token. */
export async function fakeOrganisation(over: Partial<{ name: string; verified: boolean; certificate_expires_on: Date; credit_status: string; rating: string }> = {}) {
  const { c, db } = h();
  const org = await c.purchasing.organisations.register({
    name: over.name ?? `社工中心-${Math.random().toString(36).slice(2, 8)}`, registration_no: `52500000MJ${Math.floor(Math.random() * 1e8).toString().padStart(8, '0')}`,
    registered_on: new Date('2019-06-01'), certificate_expires_on: over.certificate_expires_on ?? new Date(Date.now() + 3 * 365 * DAY), rating: over.rating ?? '4A',
  }, null);
  if (over.verified !== false) await c.purchasing.organisations.verify(SYSTEM_PRINCIPAL, org.id);
  if (over.credit_status) await db('organisations').where({ id: org.id }).update({ credit_status: over.credit_status });
  const token = await tokenFor('social_org', undefined, { organisationId: org.id });
  return { id: org.id as number, name: org.name as string, token };
}

/** A call body with sensible defaults, open from an hour ago for a day. */
export function callBody(street: number, over: Record<string, unknown> = {}) {
  return {
    street, title: '困境儿童社区关爱服务项目', description: '为辖区困境儿童提供课业辅导、心理支持和家庭探访。', category: 'children', budget_line: '2026年度街道社会工作服务购买预算',
    budget: 2_000_000, opens_at: new Date(Date.now() - HOUR).toISOString(), closes_at: new Date(Date.now() + DAY).toISOString(), criteria: CRITERIA, panel_size: 3, ...over,
  };
}

/** A published call of a street, with the street officer's token. */
export async function openCall(streetId: number, over: Record<string, unknown> = {}) {
  const officer = await tokenFor('street_officer', streetId);
  const created = await h().api().post('/api/calls').set('Authorization', `Bearer ${officer}`).send(callBody(streetId, over)).expect(201);
  const published = await h().api().post(`/api/calls/${created.body.id}/publish`).set('Authorization', `Bearer ${officer}`).expect(200);
  return { call: published.body, officer };
}

/** An application body: a service plan with a budget by line. */
export function applicationBody(over: Record<string, unknown> = {}) {
  return {
    title: '“小书桌”困境儿童课业与陪伴计划', summary: '组织社工和志愿者每周上门，为困境儿童提供课业辅导与心理陪伴，联动学校与社区。',
    service_area: '石坪桥街道建桥社区', beneficiaries: '辖区困境儿童及其家庭', beneficiary_count: 30,
    activities: '每周两次课业辅导；每月一次亲子活动；个案社工跟进；寒暑假夏令营。', outcomes: '30 名儿童学业与情绪改善，家庭支持网络建立。',
    budget_lines: [{ line: '人员经费', amount: 600_000 }, { line: '活动物资', amount: 300_000 }, { line: '宣传与评估', amount: 100_000 }],
    no_violation_declared: true, ...over,
  };
}

/** Time passes: the call's window closes (its dates moved into the past, as if days had gone by). */
export async function windowClosed(callId: number) {
  await h().db('calls').where({ id: callId }).update({ opens_at: new Date(Date.now() - 2 * DAY), closes_at: new Date(Date.now() - 1000) });
}

/** Time passes: the public notice is over. */
export async function noticeOver(callId: number) {
  await h().db('calls').where({ id: callId }).update({ notice_ends_at: new Date(Date.now() - 1000) });
}

/** `n` reviewers (the whole pool), with their tokens. */
export async function reviewerPool(n: number) {
  return Promise.all(Array.from({ length: n }, async () => {
    const user = await fakeUser('reviewer');
    const { token } = await h().c.auth.issueToken({ userId: user.id, label: 'review' });
    return { id: user.id as number, token };
  }));
}

/** A second person (finance) approves an approval. */
export async function approve(approvalId: number, expect = 200) {
  const finance = await tokenFor('association_finance');
  return h().api().post(`/api/approvals/${approvalId}/approve`).set('Authorization', `Bearer ${finance}`).send({}).expect(expect);
}
