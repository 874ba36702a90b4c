import { expect } from 'chai';
import { drawOrder } from '../../../server/modules/purchasing/index.js';
import { resetDb } from '../../helpers/db.js';
import { tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { applicationBody, approve, fakeOrganisation, noticeOver, openCall, reviewerPool, streetWithPool, windowClosed } from '../../helpers/purchasing.js';

const score = (callId: number, appId: number, token: string, scores: Record<string, number>) =>
  h().api().post(`/api/calls/${callId}/applications/${appId}/scores`).set('Authorization', `Bearer ${token}`).send({ scores });
const declare = (callId: number, token: string, conflicted = false) => h().api().post(`/api/calls/${callId}/declaration`).set('Authorization', `Bearer ${token}`).send({ conflicted, note: conflicted ? '申请机构负责人是我的亲属' : undefined });

/** A call with two applications, its window closed. */
async function callWithTwo() {
  const street = await streetWithPool();
  const [a, b] = [await fakeOrganisation(), await fakeOrganisation()];
  const { call, officer } = await openCall(street.streetId, { budget: 1_500_000 });
  const one = (await h().api().post(`/api/calls/${call.id}/applications`).set('Authorization', `Bearer ${a.token}`).send(applicationBody()).expect(201)).body;
  const two = (await h().api().post(`/api/calls/${call.id}/applications`).set('Authorization', `Bearer ${b.token}`)
    .send(applicationBody({ title: '长者助餐与探访服务', summary: '为高龄独居老人送餐并定期探访，建立邻里互助小组和紧急联络机制。', activities: '每日送餐；每周探访；每月健康讲座和互助小组活动。', service_area: '黄桷湾社区' })).expect(201)).body;
  return { street, call, officer, one, two };
}

describe('purchase of services: review, notice and award (G-6, G-7, G-10)', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  it('when the review opens, then the panel is drawn from the reviewer pool by a recorded seed, and not before the window closes', async () => {
    const pool = await reviewerPool(5);
    const { call, officer } = await callWithTwo();
    expect((await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(409)).body.error.code).to.equal('window_still_open');
    await windowClosed(call.id);
    const opened = (await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(200)).body;
    expect(opened.panel.map((m: { reviewer_id: number }) => m.reviewer_id)).to.deep.equal(drawOrder(opened.seed, pool.map((p) => p.id)).slice(0, 3));
    expect(new Set(opened.panel.map((m: { draw_seed: string }) => m.draw_seed))).to.deep.equal(new Set([opened.seed]));
  });

  it('when an expert scores, then a declaration comes first, a conflicted expert is replaced, nobody outside the panel scores, and scores cannot change', async () => {
    const pool = await reviewerPool(4);
    const { call, officer, one } = await callWithTwo();
    await windowClosed(call.id);
    const opened = (await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(200)).body;
    const seated = opened.panel.map((m: { reviewer_id: number }) => pool.find((p) => p.id === m.reviewer_id)!);
    const outsider = pool.find((p) => !seated.includes(p))!;
    expect((await score(call.id, one.id, seated[0].token, { need: 80, design: 80, budget: 80 }).expect(409)).body.error.code).to.equal('declaration_required');
    const conflicted = (await declare(call.id, seated[0].token, true).expect(200)).body;
    expect(conflicted.replacement).to.equal(outsider.id);
    await score(call.id, one.id, seated[0].token, { need: 80, design: 80, budget: 80 }).expect(403);
    await declare(call.id, seated[0].token).expect(409);
    const stranger = await tokenFor('reviewer');
    await declare(call.id, stranger).expect(403);
    await declare(call.id, seated[1].token).expect(200);
    await score(call.id, one.id, seated[1].token, { need: 80, design: 80 }).expect(400);
    await score(call.id, one.id, seated[1].token, { need: 80, design: 80, budget: 101 }).expect(400);
    await score(call.id, one.id, seated[1].token, { need: 80, design: 80, budget: 70 }).expect(201);
    expect((await score(call.id, one.id, seated[1].token, { need: 90, design: 90, budget: 90 }).expect(409)).body.error.code).to.equal('already_scored');
  });

  it('when experts score, then each sees only their own until the round closes; closing needs every score, then ranks by weighted total with the spread', async () => {
    const pool = await reviewerPool(3);
    const { call, officer, one, two } = await callWithTwo();
    await windowClosed(call.id);
    await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(200);
    for (const p of pool) await declare(call.id, p.token).expect(200);
    await score(call.id, one.id, pool[0].token, { need: 90, design: 90, budget: 90 }).expect(201);
    await score(call.id, one.id, pool[1].token, { need: 70, design: 80, budget: 60 }).expect(201);
    const mine = (await h().api().get(`/api/calls/${call.id}/scores`).set('Authorization', `Bearer ${pool[1].token}`).expect(200)).body;
    expect(new Set(mine.map((s: { reviewer_id: number }) => s.reviewer_id))).to.deep.equal(new Set([pool[1].id]));
    expect((await h().api().post(`/api/calls/${call.id}/close-review`).set('Authorization', `Bearer ${officer}`).expect(409)).body.error.code).to.equal('review_incomplete');
    await score(call.id, one.id, pool[2].token, { need: 80, design: 80, budget: 80 }).expect(201);
    for (const p of pool) await score(call.id, two.id, p.token, { need: 50, design: 55, budget: 50 }).expect(201);
    const closed = (await h().api().post(`/api/calls/${call.id}/close-review`).set('Authorization', `Bearer ${officer}`).expect(200)).body;
    expect(closed.ranking.map((r: Record<string, unknown>) => [r.application_id, r.score, r.spread, r.rank, r.shortlisted])).to.deep.equal([
      [one.id, 80.33, 19, 1, true],
      [two.id, 52, 0, 2, false],
    ]);
    const all = (await h().api().get(`/api/calls/${call.id}/scores`).set('Authorization', `Bearer ${officer}`).expect(200)).body;
    expect(all).to.have.length(18);
    expect(closed.call.status).to.equal('notice');
  });

  it('when the shortlist is on notice, then an open objection blocks the award until it is answered; the award waits for the notice to end and a second person', async () => {
    const pool = await reviewerPool(3);
    const { call, officer, one, two } = await callWithTwo();
    await h().api().post(`/api/calls/${call.id}/objections`).send({ author: '居民', body: '申报期间就提出的异议内容。' }).expect(409);
    await windowClosed(call.id);
    await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(200);
    for (const p of pool) {
      await declare(call.id, p.token).expect(200);
      for (const a of [one, two]) await score(call.id, a.id, p.token, { need: 75, design: 75, budget: 75 }).expect(201);
    }
    await h().api().post(`/api/calls/${call.id}/close-review`).set('Authorization', `Bearer ${officer}`).expect(200);
    const dates = { starts_on: '2026-12-10', ends_on: '2027-10-31' };
    expect((await h().api().post(`/api/calls/${call.id}/award`).set('Authorization', `Bearer ${officer}`).send(dates).expect(409)).body.error.code).to.equal('notice_running');
    const objection = (await h().api().post(`/api/calls/${call.id}/objections`).send({ application: one.id, author: '建桥社区 张先生', contact: '13800001111', body: '该机构去年的项目没有按期完成，请核实。' }).expect(201)).body;
    await noticeOver(call.id);
    expect((await h().api().post(`/api/calls/${call.id}/award`).set('Authorization', `Bearer ${officer}`).send(dates).expect(409)).body.error.code).to.equal('objections_open');
    const published = (await h().api().get(`/api/calls/${call.id}`).expect(200)).body;
    expect(published.objections[0]).to.include({ status: 'open', author: '建桥社区 张先生' });
    expect(JSON.stringify(published)).not.to.include('13800001111');
    await h().api().post(`/api/objections/${objection.id}/reply`).set('Authorization', `Bearer ${await tokenFor('street_officer')}`).send({ reply: '无关街道的答复' }).expect(403);
    const replies = ['经核实，该项目因疫情延期并已验收合格。', '同时发出的第二条答复，不应覆盖第一条。'];
    const sent = await Promise.all(replies.map((reply) => h().api().post(`/api/objections/${objection.id}/reply`).set('Authorization', `Bearer ${officer}`).send({ reply })));
    expect(sent.map((r) => r.status).sort()).to.deep.equal([200, 409]);
    const kept = replies[sent.findIndex((r) => r.status === 200)];
    expect(await h().db('objections').where({ id: objection.id }).first('reply')).to.deep.equal({ reply: kept });
    const bad = await h().api().post(`/api/calls/${call.id}/award`).set('Authorization', `Bearer ${officer}`).send({ ...dates, tranches: [{ percent: 50, gate: 'signed' }, { percent: 40, gate: 'final' }] }).expect(400);
    expect(bad.body.error.fields).to.have.property('tranches');
    const asked = (await h().api().post(`/api/calls/${call.id}/award`).set('Authorization', `Bearer ${officer}`).send(dates).expect(202)).body;
    await h().api().post(`/api/approvals/${asked.approval_id}/approve`).set('Authorization', `Bearer ${officer}`).send({}).expect(403);
    await approve(asked.approval_id);
    const contracts = await h().db('contracts').where({ call_id: call.id }).orderBy('id').select('application_id', 'amount_minor', 'status');
    expect(contracts).to.deep.equal([{ application_id: one.id, amount_minor: 1_000_000, status: 'awarded' }]);
    expect((await h().db('calls').where({ id: call.id }).first('status')).status).to.equal('awarded');
  });
});
