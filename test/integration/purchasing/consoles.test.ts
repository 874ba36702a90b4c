import { expect } from 'chai';
import { translate } from '../../../server/lib/i18n.js';
import { totp, type Role } from '../../../server/modules/auth/index.js';
import { resetDb } from '../../helpers/db.js';
import { fakeUser } from '../../helpers/factories.js';
import { signIn } from '../../helpers/forms.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { applicationBody, approve, fakeOrganisation, noticeOver, openCall, reviewerPool, streetWithPool, windowClosed } from '../../helpers/purchasing.js';

const zh = (key: string, params?: Record<string, string | number>) => translate('zh-CN', key, params);
const PASSWORD = 'correct-horse-battery';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
/** The `<label>` that holds a form field, with its error if any. */
const labelOf = (html: string, field: string) => html.split('<label').find((l) => l.includes(`name="${field}"`)) ?? '';
const count = async (table: string) => Number((await h().db(table).count({ n: '*' }).first())!.n);

async function staff(role: Role, bind: { streetId?: number; organisationId?: number } = {}) {
  const mfa = role === 'association_admin' || role === 'association_finance';
  const user = await fakeUser(role, { ...bind, password: PASSWORD, totpSecret: mfa ? SECRET : undefined });
  return { user, b: await signIn(user.email, PASSWORD, mfa ? () => totp.now(SECRET) : undefined) };
}

const callForm = (over: Record<string, string> = {}) => ({
  title: '长者助餐与探访服务', description: '为独居长者提供助餐、探访与健康管理。', category: 'elderly', budget_line: '2026年度社区服务购买预算', budget_yuan: '8000.00',
  opens_at: new Date(Date.now() + 8 * 3_600_000 - 3_600_000).toISOString().slice(0, 16), closes_at: new Date(Date.now() + 8 * 3_600_000 + 86_400_000).toISOString().slice(0, 16),
  criteria: 'need | 需求分析 | 30\ndesign | 服务设计 | 40\nbudget | 预算合理性 | 30', max_applications_per_org: '2', panel_size: '3', notice_days: '7', ...over,
});
const applyForm = (over: Record<string, string> = {}) => ({
  title: '“暖心食堂”长者助餐计划', summary: '依托社区食堂为独居长者每日送餐，社工每周探访一次。', service_area: '建桥社区', beneficiaries: '辖区独居与高龄长者',
  activities: '每日送餐；每周探访；每月健康讲座。', outcomes: '40 名长者用餐与精神状态改善。', beneficiary_count: '40', budget: '人员经费 | 4000\n餐食补贴 | 3000', members: '', no_violation_declared: 'on', ...over,
});

describe('purchase of services: the consoles (street office, organisation, expert, association)', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  it('when a street officer drafts a call with bad fields, then the form re-renders 422 with each error and nothing is stored; a good one is drafted and published', async () => {
    const street = await streetWithPool();
    const { b } = await staff('street_officer', { streetId: street.streetId });
    for (const [over, field] of [
      [{ title: '', budget_yuan: '12.345', category: 'FIRE!' }, ['title', 'budget_yuan', 'category']],
      [{ criteria: 'need | 需求 | 50' }, ['criteria']],
      [{ closes_at: '2020-01-01T00:00' }, ['closes_at']],
      [{ title: '<script>alert(1)</script>' }, ['title']],
    ] as const) {
      const bad = await b.post('/console/calls', callForm(over), '/console/calls');
      expect(bad.status).to.equal(422);
      for (const f of field) expect(labelOf(bad.text, f), `${JSON.stringify(over)} ${f}`).to.include('field-error');
      expect(labelOf(bad.text, 'description')).to.include('为独居长者提供助餐、探访与健康管理。').and.not.include('field-error');
      expect(bad.text).not.to.include('<script>alert(1)</script>');
    }
    expect(await count('calls')).to.equal(0);
    const ok = await b.post('/console/calls', callForm(), '/console/calls');
    expect(ok.status).to.equal(303);
    const call = await h().db('calls').first();
    expect(call).to.deep.include({ status: 'draft', street_id: street.streetId, budget_minor: 800_000 });
    const published = await b.post(`/console/calls/${call.id}/publish`, {}, ok.headers.location);
    expect(published.status).to.equal(303);
    expect((await h().db('calls').where({ id: call.id }).first('status')).status).to.equal('open');
    expect((await b.get('/console/calls?status=draft')).text).not.to.include(`href="/console/calls/${call.id}"`);
    expect((await b.get('/console/calls?status=open')).text).to.include(`href="/console/calls/${call.id}"`);
    const other = await staff('street_officer');
    expect((await other.b.get(`/console/calls/${call.id}`)).status).to.equal(403);
  });

  it('when an organisation applies through its console, then bad fields re-render, a refused organisation sees the reason, and a joint application gets one-time confirmation links', async () => {
    const street = await streetWithPool();
    const { call } = await openCall(street.streetId);
    const org = await fakeOrganisation();
    const { b } = await staff('social_org', { organisationId: org.id });
    expect((await b.get('/console/org')).text).to.include(`/console/calls/${call.id}/apply`);
    const bad = await b.post(`/console/calls/${call.id}/apply`, applyForm({ summary: '', budget: '人员经费 | abc', no_violation_declared: '' }), `/console/calls/${call.id}/apply`);
    expect(bad.status).to.equal(422);
    expect((bad.text.match(/field-error/g) ?? []).length).to.be.at.least(3);
    expect(bad.text).to.include('“暖心食堂”长者助餐计划');
    expect(await count('applications')).to.equal(0);
    const ok = await b.post(`/console/calls/${call.id}/apply`, applyForm({ members: 'community | 建桥社区居委会\nsocial_worker | 王社工' }), `/console/calls/${call.id}/apply`);
    expect(ok.status).to.equal(303);
    const home = await b.get('/console/org');
    const links = [...home.text.matchAll(/\/applications\/(\d+)\/confirm\?token=([\w-]+)/g)];
    expect(links).to.have.length(2);
    expect(home.text).to.include(zh('application.status.awaiting_members'));
    expect((await b.get('/console/org')).text, 'the links are shown once').not.to.match(/confirm\?token=/);
    const anon = (await import('../../helpers/forms.js')).browser();
    const wrong = await anon.post(`/applications/${links[0][1]}/confirm`, { token: 'x'.repeat(32) }, `/applications/${links[0][1]}/confirm?token=${'x'.repeat(32)}`);
    expect(wrong.status).to.equal(422);
    expect(wrong.text).to.include(zh('errors.invalid_confirmation'));
    for (const [, id, token] of links) {
      const page = await anon.get(`/applications/${id}/confirm?token=${token}`);
      expect(page.text).to.include(`value="${token}"`);
      expect((await anon.post(`/applications/${id}/confirm`, { token })).status).to.equal(200);
    }
    expect((await h().db('applications').first('status')).status).to.equal('submitted');
    await h().db('credit_list').insert({ organisation_id: org.id, list: 'black', reason: 'final:fail', since: new Date(), until: new Date(Date.now() + 86_400_000 * 300) });
    const refused = await b.post(`/console/calls/${call.id}/apply`, applyForm({ title: '另一个社区长者服务项目', service_area: '黄桷湾社区' }), `/console/calls/${call.id}/apply`);
    expect(refused.status).to.equal(422);
    expect(refused.text).to.include(zh('eligibility.blacklisted'));
    expect(await count('applications')).to.equal(1);
  });

  it('when an expert opens the review console, then it declares first, sees flags side by side, scores with validation, and never sees another expert’s scores', async () => {
    const street = await streetWithPool();
    const { call, officer } = await openCall(street.streetId, { panel_size: 2 });
    const org = await fakeOrganisation();
    const app = (await h().api().post(`/api/calls/${call.id}/applications`).set('Authorization', `Bearer ${org.token}`).send(applicationBody()).expect(201)).body;
    const one = await staff('reviewer');
    const two = await staff('reviewer');
    await windowClosed(call.id);
    await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(200);
    const outsider = await staff('reviewer');
    const seats: number[] = await h().db('panel_members').where({ call_id: call.id }).pluck('reviewer_id');
    expect(seats.sort()).to.deep.equal([one.user.id, two.user.id].sort());
    expect((await outsider.b.get(`/console/reviews/${call.id}`)).status).to.equal(403);
    const first = await one.b.get(`/console/reviews/${call.id}`);
    expect(first.text).to.include(zh('review.declaration')).and.not.include(app.title.slice(0, 6));
    expect((await one.b.post(`/console/reviews/${call.id}/declaration`, { conflicted: 'no' })).status).to.equal(303);
    const page = await one.b.get(`/console/reviews/${call.id}`);
    expect(page.text).to.include('name="score_need"');
    const bad = await one.b.post(`/console/reviews/${call.id}/applications/${app.id}/scores`, { score_need: '101', score_design: 'abc', score_budget: '' });
    expect(bad.status).to.equal(422);
    expect((bad.text.match(/field-error/g) ?? []).length).to.equal(3);
    expect(await count('review_scores')).to.equal(0);
    expect((await one.b.post(`/console/reviews/${call.id}/applications/${app.id}/scores`, { score_need: '87', score_design: '63', score_budget: '71', comment: '需求分析扎实' })).status).to.equal(303);
    await two.b.get(`/console/reviews/${call.id}`);
    await two.b.post(`/console/reviews/${call.id}/declaration`, { conflicted: 'no' });
    const theirs = await two.b.get(`/console/reviews/${call.id}`);
    expect(theirs.text, 'another expert’s scores stay hidden').not.to.include('需求分析扎实').and.not.match(/需求分析 87/);
    expect((await one.b.get(`/console/reviews/${call.id}`)).text).to.match(/需求分析 87/);
  });

  it('when association staff verify an organisation and record its standing, then eligibility follows and each write is audited', async () => {
    const org = await fakeOrganisation({ verified: false, name: '新注册的社会工作服务社' });
    const { b } = await staff('association_admin');
    expect((await b.get('/console/organisations')).text).to.include('新注册的社会工作服务社');
    expect((await b.post(`/console/organisations/${org.id}/verify`, {}, '/console/organisations')).status).to.equal(303);
    expect((await b.post(`/console/organisations/${org.id}/standing`, { credit_status: 'abnormal', rating: '3A' }, '/console/organisations?show=all')).status).to.equal(303);
    expect(await h().db('organisations').where({ id: org.id }).first('credit_status', 'rating', 'annual_report_ok')).to.deep.equal({ credit_status: 'abnormal', rating: '3A', annual_report_ok: false });
    expect(await h().db('organisations').where({ id: org.id }).whereNotNull('verified_at').count({ n: '*' }).first()).to.deep.equal({ n: 1 });
    const bad = await b.post(`/console/organisations/${org.id}/standing`, { credit_status: 'wonderful' }, '/console/organisations?show=all');
    expect(bad.status).to.equal(422);
    expect(await h().db('audit_log').whereIn('action', ['organisation.verified', 'organisation.standing_set']).count({ n: '*' }).first()).to.deep.equal({ n: 2 });
    const officer = await staff('street_officer');
    expect((await officer.b.get('/console/organisations')).status).to.equal(403);
  });

  it('when a call is run through the consoles, then the review, the objection reply, the award, the signature, a voucher, a report, a tranche and the evaluation inputs all go through forms', async () => {
    const street = await streetWithPool();
    const { call } = await openCall(street.streetId);
    const org = await fakeOrganisation();
    const experts = await reviewerPool(3);
    const officer = await staff('street_officer', { streetId: street.streetId });
    const member = await staff('social_org', { organisationId: org.id });
    await member.b.post(`/console/calls/${call.id}/apply`, applyForm(), `/console/calls/${call.id}/apply`);
    const app = await h().db('applications').first('id');
    const early = await officer.b.post(`/console/calls/${call.id}/review`, {}, `/console/calls/${call.id}`);
    expect(early.status).to.equal(409);
    expect(early.text).to.include(zh('errors.window_still_open'));
    await windowClosed(call.id);
    expect((await officer.b.post(`/console/calls/${call.id}/review`, {}, `/console/calls/${call.id}`)).status).to.equal(303);
    for (const e of experts) {
      await h().api().post(`/api/calls/${call.id}/declaration`).set('Authorization', `Bearer ${e.token}`).send({ conflicted: false }).expect(200);
      await h().api().post(`/api/calls/${call.id}/applications/${app.id}/scores`).set('Authorization', `Bearer ${e.token}`).send({ scores: { need: 80, design: 80, budget: 80 } }).expect(201);
    }
    expect((await officer.b.post(`/console/calls/${call.id}/close-review`, {}, `/console/calls/${call.id}`)).status).to.equal(303);
    await h().api().post(`/api/calls/${call.id}/objections`).send({ author: '居民', body: '请说明评审专家是如何抽取的。' }).expect(201);
    await noticeOver(call.id);
    const dates = { starts_on: new Date().toISOString().slice(0, 10), ends_on: new Date(Date.now() + 200 * 86_400_000).toISOString().slice(0, 10) };
    const blocked = await officer.b.post(`/console/calls/${call.id}/award`, dates, `/console/calls/${call.id}`);
    expect(blocked.status).to.equal(409);
    expect(blocked.text).to.include(zh('errors.objections_open'));
    const objection = await h().db('objections').first('id');
    const empty = await officer.b.post(`/console/objections/${objection.id}/reply`, { call: String(call.id), reply: '' }, `/console/calls/${call.id}`);
    expect(empty.status).to.equal(422);
    expect(labelOf(empty.text, 'reply')).to.include('field-error');
    expect((await officer.b.post(`/console/objections/${objection.id}/reply`, { call: String(call.id), reply: '专家由系统从专家库随机抽取，抽取种子已记录。' }, `/console/calls/${call.id}`)).status).to.equal(303);
    expect((await officer.b.post(`/console/calls/${call.id}/award`, dates, `/console/calls/${call.id}`)).status).to.equal(303);
    const queue = await (await staff('association_finance')).b.get('/console/approvals');
    expect(queue.text).to.include(zh('approvals.kinds.award')).and.include(`${zh('approvals.subjects.call')} <a href="/console/calls/${call.id}">`);
    await approve((await h().db('approvals').where({ kind: 'award' }).first('id')).id);
    const contract = await h().db('contracts').first();
    expect((await member.b.post(`/console/contracts/${contract.id}/sign`, {}, '/console/org')).status).to.equal(303);
    const home = await member.b.get('/console/org');
    const action = /action="(\/console\/contracts\/\d+\/attachments\?_csrf=[^"]+)"/.exec(home.text)![1].replace(/&amp;/g, '&');
    const noToken = await member.b.agent.post(`/console/contracts/${contract.id}/attachments`).attach('file', Buffer.from('%PDF-1.4\n%%EOF\n'), { filename: 'a.pdf', contentType: 'application/pdf' });
    expect(noToken.status, 'an upload without the CSRF token is refused').to.equal(403);
    const bad = await member.b.agent.post(decodeURIComponent(action)).attach('file', Buffer.from('MZ\x90\x00'), { filename: 'virus.pdf', contentType: 'application/pdf' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.include(zh('validation.file_type'));
    const up = await member.b.agent.post(decodeURIComponent(action)).attach('file', Buffer.from('%PDF-1.4\n%%EOF\n'), { filename: '发票.pdf', contentType: 'application/pdf' });
    expect(up.status).to.equal(303);
    const voucher = await h().db('attachments').first('id');
    const period = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);
    const report = await member.b.post(`/console/contracts/${contract.id}/reports`, { period, outputs: '送餐 600 份，探访 48 次。', income_yuan: '0', expenses: `餐食补贴 | 三月餐费 | 1200 | ${voucher.id}` }, '/console/org');
    expect(report.status).to.equal(303);
    expect(await h().db('project_expenses').first('amount_minor', 'status')).to.deep.equal({ amount_minor: 120_000, status: 'accepted' });
    const tranche = await h().db('tranches').where({ contract_id: contract.id, seq: 1 }).first('id');
    expect((await officer.b.post(`/console/tranches/${tranche.id}/pay`, { call: String(call.id) }, `/console/calls/${call.id}`)).status).to.equal(303);
    await approve((await h().db('approvals').where({ kind: 'disbursement' }).first('id')).id);
    expect((await h().db('tranches').where({ id: tranche.id }).first('status')).status).to.equal('paid');
    const scores = { administration: '85', finance: '85', delivery: '85', social: '85', publicity: '85' };
    const missing = await officer.b.post(`/console/contracts/${contract.id}/evaluations/midterm`, { call: String(call.id), party: 'street', ...scores, delivery: '' }, `/console/calls/${call.id}`);
    expect(missing.status).to.equal(422);
    expect(await count('evaluation_inputs')).to.equal(0);
    for (const party of ['street', 'residents']) expect((await officer.b.post(`/console/contracts/${contract.id}/evaluations/midterm`, { call: String(call.id), party, ...scores }, `/console/calls/${call.id}`)).status).to.equal(303);
    expect((await member.b.post(`/console/contracts/${contract.id}/self-evaluation/midterm`, scores, '/console/org')).status).to.equal(303);
    expect(await h().db('evaluation_inputs').orderBy('party').pluck('party')).to.deep.equal(['residents', 'self', 'street']);
    const audit = await h().db('audit_log').pluck('action');
    for (const a of ['application.submitted', 'call.review_opened', 'call.review_closed', 'objection.replied', 'call.award_requested', 'contract.signed', 'attachment.uploaded', 'report.submitted', 'tranche.payment_requested', 'evaluation.input_given']) expect(audit, a).to.include(a);
  });
});
