import { expect } from 'chai';
import { resetDb } from '../../helpers/db.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { signedContract } from '../../helpers/project.js';
import { applicationBody, approve, fakeOrganisation, openCall, streetWithPool } from '../../helpers/purchasing.js';

const DAY = 86_400_000;
const PDF = Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
const card = (v: number) => ({ administration: v, finance: v, delivery: v, social: v, publicity: v });
const month = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 7);

describe('purchase of services: contracts, tranches, reports and evaluations (G-9 … G-14)', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  const ask = (trancheId: number, token: string) => h().api().post(`/api/tranches/${trancheId}/pay`).set('Authorization', `Bearer ${token}`);
  const evaluate = (contractId: number, stage: string, party: string, token: string, v: number) =>
    h().api().post(`/api/contracts/${contractId}/evaluations/${stage}`).set('Authorization', `Bearer ${token}`).send({ party, scores: card(v) });

  it('when a tranche is asked for before its gate holds, then it is refused with the reason and nothing moves', async () => {
    const p = await signedContract();
    await approve((await ask(p.tranches[0].id, p.officer).expect(202)).body.approval_id);
    expect((await ask(p.tranches[2].id, p.officer).expect(409)).body.error.code).to.equal('earlier_tranche_unpaid');
    expect((await ask(p.tranches[1].id, p.officer).expect(409)).body.error.code).to.equal('midterm_not_evaluated');
    await evaluate(p.contract.id, 'midterm', 'street', p.officer, 85).expect(201);
    await evaluate(p.contract.id, 'midterm', 'residents', p.officer, 85).expect(201);
    await evaluate(p.contract.id, 'midterm', 'self', p.org.token, 85).expect(201);
    expect((await ask(p.tranches[1].id, p.officer).expect(409)).body.error.code).to.equal('midterm_not_evaluated');
    await evaluate(p.contract.id, 'final', 'street', p.officer, 85).expect(409);
    await ask(p.tranches[0].id, p.officer).expect(409);
    expect(await h().db('ledger_journals').where({ kind: 'tranche_payment' }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
  });

  it('when the same tranche is asked for twice at once, then one request asks a second person and the other is refused', async () => {
    const p = await signedContract();
    const both = await Promise.all([ask(p.tranches[0].id, p.officer), ask(p.tranches[0].id, p.officer)]);
    expect(both.map((r) => r.status).sort()).to.deep.equal([202, 409]);
    const approvals = await h().db('approvals').where({ kind: 'disbursement' }).pluck('id');
    expect(approvals).to.have.length(1);
    expect(await h().db('tranches').where({ id: p.tranches[0].id }).first('status', 'approval_id')).to.deep.equal({ status: 'requested', approval_id: approvals[0] });
    await approve(approvals[0]);
    expect(await h().db('ledger_journals').where({ kind: 'tranche_payment' }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
  });

  it('when a monthly report is missing, then the next gate is blocked until it is in (G-11)', async () => {
    const started = new Date(Date.now() - 40 * DAY);
    const p = await signedContract({ startsOn: started });
    await approve((await ask(p.tranches[0].id, p.officer).expect(202)).body.approval_id);
    for (const [party, token] of [['street', p.officer], ['residents', p.officer], ['third_party', p.experts[0].token], ['self', p.org.token]] as const) await evaluate(p.contract.id, 'midterm', party, token, 80).expect(201);
    expect((await ask(p.tranches[1].id, p.officer).expect(409)).body.error.code).to.equal('report_missing');
    const periods: string[] = [];
    for (let t = started.getTime(); month(new Date(t)) < month(new Date()); t += 20 * DAY) if (!periods.includes(month(new Date(t)))) periods.push(month(new Date(t)));
    for (const period of periods) {
      await h().api().post(`/api/contracts/${p.contract.id}/reports`).set('Authorization', `Bearer ${p.org.token}`).send({ period, outputs: '按计划开展服务。', income: 0 }).expect(201);
    }
    await approve((await ask(p.tranches[1].id, p.officer).expect(202)).body.approval_id);
    expect((await h().db('tranches').where({ id: p.tranches[1].id }).first('status')).status).to.equal('paid');
  });

  it('when an evaluation fails, then payments stop and the organisation is on the black list, refused in the next call (G-12)', async () => {
    const p = await signedContract();
    await approve((await ask(p.tranches[0].id, p.officer).expect(202)).body.approval_id);
    for (const [party, token] of [['street', p.officer], ['residents', p.officer], ['third_party', p.experts[0].token]] as const) await evaluate(p.contract.id, 'midterm', party, token, 40).expect(201);
    await evaluate(p.contract.id, 'midterm', 'street', p.org.token, 100).expect(403);
    const done = (await evaluate(p.contract.id, 'midterm', 'self', p.org.token, 90).expect(201)).body;
    expect(done).to.include({ complete: true, grade: 'fail', consequence: 'ban' });
    expect((await ask(p.tranches[1].id, p.officer).expect(409)).body.error.code).to.equal('midterm_failed');
    const list = (await h().api().get('/api/credit-list').expect(200)).body;
    expect(list.map((x: { organisation_id: number; list: string }) => [x.organisation_id, x.list])).to.deep.equal([[p.org.id, 'black']]);
    const next = await openCall((await streetWithPool()).streetId);
    const refused = await h().api().post(`/api/calls/${next.call.id}/applications`).set('Authorization', `Bearer ${p.org.token}`).send(applicationBody({ service_area: '别处' })).expect(422);
    expect(refused.body.error.code).to.equal('not_eligible');
  });

  it('when an expense takes its budget line past the tolerance, then it needs a second person’s approval; within it, it is accepted (G-14)', async () => {
    const p = await signedContract({ tolerance_bp: 1000 });
    const upload = async () => (await h().api().post(`/api/contracts/${p.contract.id}/attachments`).set('Authorization', `Bearer ${p.org.token}`).attach('file', PDF, { filename: 'invoice.pdf', contentType: 'application/pdf' }).expect(201)).body;
    const [v1, v2] = [await upload(), await upload()];
    const out = (await h().api().post(`/api/contracts/${p.contract.id}/reports`).set('Authorization', `Bearer ${p.org.token}`).send({
      period: month(new Date()), outputs: '采购学习用品与活动物资。', income: 400_000,
      expenses: [{ budget_line: '活动物资', description: '学习用品', amount: 300_000, attachment: v1.id }, { budget_line: '活动物资', description: '夏令营物资', amount: 30_001, attachment: v2.id }],
    }).expect(201)).body;
    expect(out.expenses.map((e: { status: string }) => e.status)).to.deep.equal(['accepted', 'needs_approval']);
    const approval = await h().db('approvals').where({ kind: 'expense' }).first();
    await approve(approval.id);
    expect((await h().db('project_expenses').where({ id: out.expenses[1].id }).first('status')).status).to.equal('approved');
    const bad = await h().api().post(`/api/contracts/${p.contract.id}/reports`).set('Authorization', `Bearer ${p.org.token}`).send({
      period: '2026-01', outputs: '补报上月情况。', income: 0, expenses: [{ budget_line: '不存在的科目', description: 'x', amount: 1, attachment: '00000000-0000-4000-8000-000000000000' }],
    }).expect(400);
    expect(Object.keys(bad.body.error.fields).sort()).to.deep.equal(['expenses.0.attachment', 'expenses.0.budget_line']);
  });

  it('when a file is uploaded, then only PDF, PNG or JPEG up to 5 MB is kept, under its own id, and only a reported voucher is public', async () => {
    const p = await signedContract();
    const url = `/api/contracts/${p.contract.id}/attachments`;
    const html = await h().api().post(url).set('Authorization', `Bearer ${p.org.token}`).attach('file', Buffer.from('<html><script>alert(1)</script></html>'), { filename: 'x.pdf', contentType: 'application/pdf' }).expect(400);
    expect(html.body.error.fields).to.have.property('file');
    const big = Buffer.concat([PDF, Buffer.alloc(5 * 1024 * 1024)]);
    expect((await h().api().post(url).set('Authorization', `Bearer ${p.org.token}`).attach('file', big, { filename: 'big.pdf' }).expect(413)).body.error.code).to.equal('file_too_large');
    await h().api().post(url).set('Authorization', `Bearer ${p.org.token}`).send({}).expect(400);
    const stranger = await fakeOrganisation();
    await h().api().post(url).set('Authorization', `Bearer ${stranger.token}`).attach('file', PDF, { filename: 'a.pdf' }).expect(403);
    const kept = (await h().api().post(url).set('Authorization', `Bearer ${p.org.token}`).attach('file', PDF, { filename: '../../etc/passwd.pdf', contentType: 'text/html' }).expect(201)).body;
    expect(kept).to.include({ filename: 'passwd.pdf', content_type: 'application/pdf', size_bytes: PDF.length });
    await h().api().get(`/api/attachments/${kept.id}`).expect(404);
    const own = await h().api().get(`/api/attachments/${kept.id}`).set('Authorization', `Bearer ${p.org.token}`).expect(200);
    expect(own.headers['content-type']).to.equal('application/pdf');
    expect(own.headers['content-disposition']).to.equal(`attachment; filename*=UTF-8''passwd.pdf`);
    await h().api().get('/api/attachments/..%2F..%2Fetc%2Fpasswd').expect(404);
    await h().api().post(`/api/contracts/${p.contract.id}/reports`).set('Authorization', `Bearer ${p.org.token}`).send({ period: month(new Date()), outputs: '本月服务。', income: 0, expenses: [{ budget_line: '活动物资', description: '凭证', amount: 100, attachment: kept.id }] }).expect(201);
    await h().api().get(`/api/attachments/${kept.id}`).expect(200);
  });
});
