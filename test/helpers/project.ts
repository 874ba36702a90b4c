import { h } from './harness.js';
import { applicationBody, approve, fakeOrganisation, noticeOver, openCall, reviewerPool, streetWithPool, windowClosed } from './purchasing.js';

const DAY = 86_400_000;

/**
 * A call through its review to the public notice, through the API: a street with government
 * money in its pool, a verified organisation's application, three experts' declarations and
 * equal scores, the review closed.
 */
export async function callInNotice(over: { application?: Record<string, unknown>; call?: Record<string, unknown>; scores?: Record<string, number> } = {}) {
  const street = await streetWithPool(5_000_000);
  const org = await fakeOrganisation();
  const experts = await reviewerPool(3);
  const { call, officer } = await openCall(street.streetId, over.call);
  const app = (await h().api().post(`/api/calls/${call.id}/applications`).set('Authorization', `Bearer ${org.token}`).send(applicationBody(over.application)).expect(201)).body;
  await windowClosed(call.id);
  await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(200);
  for (const e of experts) {
    await h().api().post(`/api/calls/${call.id}/declaration`).set('Authorization', `Bearer ${e.token}`).send({ conflicted: false }).expect(200);
    await h().api().post(`/api/calls/${call.id}/applications/${app.id}/scores`).set('Authorization', `Bearer ${e.token}`).send({ scores: over.scores ?? { need: 80, design: 80, budget: 80 } }).expect(201);
  }
  await h().api().post(`/api/calls/${call.id}/close-review`).set('Authorization', `Bearer ${officer}`).expect(200);
  return { street, org, experts, call, officer, app };
}

/**
 * A project all the way to a signed contract, through the API: a call in notice, the notice
 * over, the award approved by a second person, the contract signed.
 */
export async function signedContract(over: { startsOn?: Date; application?: Record<string, unknown>; call?: Record<string, unknown>; tranches?: { percent: number; gate: string }[]; tolerance_bp?: number } = {}) {
  const n = await callInNotice(over);
  const { call, officer, app, org } = n;
  await noticeOver(call.id);
  const starts = over.startsOn ?? new Date();
  const award = await h().api().post(`/api/calls/${call.id}/award`).set('Authorization', `Bearer ${officer}`).send({
    starts_on: starts.toISOString().slice(0, 10), ends_on: new Date(starts.getTime() + 300 * DAY).toISOString().slice(0, 10),
    ...(over.tranches ? { tranches: over.tranches } : {}), ...(over.tolerance_bp !== undefined ? { tolerance_bp: over.tolerance_bp } : {}),
  }).expect(202);
  await approve(award.body.approval_id);
  const contract = await h().db('contracts').where({ application_id: app.id }).first();
  await h().api().post(`/api/contracts/${contract.id}/sign`).set('Authorization', `Bearer ${org.token}`).expect(200);
  const tranches = await h().db('tranches').where({ contract_id: contract.id }).orderBy('seq');
  return { ...n, contract, tranches };
}
