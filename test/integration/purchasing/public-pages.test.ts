import { expect } from 'chai';
import { translate } from '../../../server/lib/i18n.js';
import { format } from '../../../server/lib/money.js';
import { resetDb } from '../../helpers/db.js';
import { browser } from '../../helpers/forms.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { callInNotice as notice, signedContract } from '../../helpers/project.js';
import { approve, callBody, fakeOrganisation, openCall, streetWithPool } from '../../helpers/purchasing.js';

const zh = (key: string, params?: Record<string, string | number>) => translate('zh-CN', key, params);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
const XSS = '<img src=x onerror=alert(1)>';
const count = async (table: string) => Number((await h().db(table).count({ n: '*' }).first())!.n);

const callInNotice = () => notice({ scores: { need: 90, design: 70, budget: 80 } });

describe('purchase of services: public transparency pages (G-7, G-15)', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  it('when calls are listed, then published ones show with their stage and a draft is neither listed nor served', async () => {
    const street = await streetWithPool();
    const { call } = await openCall(street.streetId);
    const officer = (await openCall(street.streetId)).officer;
    const draft = (await h().api().post('/api/calls').set('Authorization', `Bearer ${officer}`).send(callBody(street.streetId, { title: '尚未发布的草稿项目' })).expect(201)).body;
    const list = await h().api().get('/calls').expect(200);
    expect(list.text).to.include(`href="/calls/${call.id}"`).and.include(zh('calls.status.open'));
    expect(list.text).not.to.include('尚未发布的草稿项目');
    await h().api().get(`/calls/${draft.id}`).expect(404);
    await h().api().get('/calls/abc').expect(404);
    expect((await h().api().get('/calls?status=review').expect(200)).text).not.to.include(`href="/calls/${call.id}"`);
    expect((await h().api().get(`/calls?status=open&street=${street.streetId}`).expect(200)).text).to.include(`href="/calls/${call.id}"`);
    expect((await h().api().get('/calls?status=bogus').expect(200)).text, 'a bad filter shows everything').to.include(`href="/calls/${call.id}"`);
    const en = await h().api().get('/calls?lang=en').expect(200);
    expect(en.text).to.include('Calls for proposals');
  });

  it('when a call is in notice, then its ranked shortlist shows weighted score and spread, organisation names escaped', async () => {
    const n = await callInNotice();
    await h().db('organisations').where({ id: n.org.id }).update({ name: `星光${XSS}社工` });
    const page = await h().api().get(`/calls/${n.call.id}`).expect(200);
    expect(page.text).to.include(zh('calls.result'));
    // 90×30% + 70×40% + 80×30% = 79, all three experts alike: spread 0.
    expect(page.text).to.include('<td>79.00</td><td>0.00</td>');
    expect(page.text).to.include(esc(`星光${XSS}社工`)).and.not.include(XSS);
    expect(page.text).to.include('name="body"');
  });

  it('when an objection is bad, then the form re-renders 422 with field errors and escaped values, and nothing is stored; a good one is published with its reply', async () => {
    const n = await callInNotice();
    const b = browser();
    const bad = await b.post(`/calls/${n.call.id}/objections`, { author: `<script>x</script>`, body: '太短' }, `/calls/${n.call.id}`);
    expect(bad.status).to.equal(422);
    expect(bad.text).to.match(/field-error/).and.include(esc('<script>x</script>')).and.not.include('<script>x</script>');
    const wrongApp = await b.post(`/calls/${n.call.id}/objections`, { author: '居民张女士', body: '我对入围项目的预算安排有疑问，请公开说明。', application: '999999' }, `/calls/${n.call.id}`);
    expect(wrongApp.status).to.equal(422);
    expect(await count('objections')).to.equal(0);
    const ok = await b.post(`/calls/${n.call.id}/objections`, { author: '居民张女士', body: '我对入围项目的预算安排有疑问，请公开说明。', contact: '13800000000' }, `/calls/${n.call.id}`);
    expect(ok.status).to.equal(303);
    const o = await h().db('objections').first();
    expect(o).to.deep.include({ author: '居民张女士', status: 'open', contact: '13800000000' });
    await h().api().post(`/api/objections/${o.id}/reply`).set('Authorization', `Bearer ${n.officer}`).send({ reply: '预算已按市场价核定，明细见申报书。' }).expect(200);
    const page = await h().api().get(`/calls/${n.call.id}`).expect(200);
    expect(page.text).to.include('我对入围项目的预算安排有疑问').and.include('预算已按市场价核定').and.include(zh('calls.objection.resolved'));
    expect(page.text, 'contact details are never published').not.to.include('13800000000');
  });

  it('when the notice is over, then the objection form is gone and a late objection is refused', async () => {
    const n = await callInNotice();
    const b = browser();
    await b.get(`/calls/${n.call.id}`);
    await h().db('calls').where({ id: n.call.id }).update({ notice_ends_at: new Date(Date.now() - 1000) });
    expect((await b.get(`/calls/${n.call.id}`)).text).not.to.include('name="body"');
    const late = await b.post(`/calls/${n.call.id}/objections`, { author: '居民李先生', body: '公示结束之后才提交的意见内容。' });
    expect(late.status).to.equal(409);
    expect(late.text).to.include(zh('errors.notice_not_running'));
    expect(await count('objections')).to.equal(0);
  });

  it('when a project has been paid a tranche and reported, then its page shows the money trail, vouchers and evaluations, and the street’s pool page rolls it up', async () => {
    const p = await signedContract();
    const ask = await h().api().post(`/api/tranches/${p.tranches[0].id}/pay`).set('Authorization', `Bearer ${p.officer}`).expect(202);
    await approve(ask.body.approval_id);
    const up = await h().api().post(`/api/contracts/${p.contract.id}/attachments`).set('Authorization', `Bearer ${p.org.token}`)
      .attach('file', Buffer.from('%PDF-1.4\n%%EOF\n'), { filename: `receipt${XSS}.pdf`, contentType: 'application/pdf' }).expect(201);
    const period = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);
    await h().api().post(`/api/contracts/${p.contract.id}/reports`).set('Authorization', `Bearer ${p.org.token}`)
      .send({ period, outputs: '开展课业辅导 8 次，家访 12 户。', income: 0, expenses: [{ budget_line: '活动物资', description: '文具与绘本', amount: 45_000, attachment: up.body.id }] }).expect(201);
    const page = await h().api().get(`/projects/${p.contract.id}`).expect(200);
    const paid = Number(p.tranches[0].amount_minor);
    expect(page.text).to.include(zh('project.trail.pool', { street: '测试街道' }));
    expect(page.text).to.include(`${zh('calls.source.government')} ${format(Number(p.contract.amount_minor))}`);
    expect(page.text).to.include(zh('project.trail.paid', { paid: format(paid), left: format(Number(p.contract.amount_minor) - paid) }));
    expect(page.text).to.include('开展课业辅导 8 次').and.include(`/api/attachments/${up.body.id}`).and.include(format(45_000));
    expect(page.text).not.to.include(XSS);
    const file = await h().api().get(`/api/attachments/${up.body.id}`).expect(200);
    expect(file.headers['content-type']).to.equal('application/pdf');
    expect(file.headers['x-content-type-options']).to.equal('nosniff');
    const pool = await h().api().get(`/pools/${p.street.streetId}`).expect(200);
    expect(pool.text).to.include(`href="/projects/${p.contract.id}"`).and.include(format(paid));
  });

  it('when an organisation failed its evaluation, then the public red and black list names it with the reason', async () => {
    const org = await fakeOrganisation({ name: '某某社会工作服务中心' });
    await h().db('credit_list').insert({ organisation_id: org.id, list: 'black', reason: 'final:fail', since: new Date('2026-06-01'), until: new Date('2029-06-01') });
    const page = await h().api().get('/credit-list').expect(200);
    expect(page.text).to.include('某某社会工作服务中心').and.include(zh('credit.list.black')).and.include(zh('credit.reason.fail', { stage: zh('project.stage.final') })).and.include('2029-06-01');
  });

  it('when an organisation registers through the public form, then bad fields re-render 422, a good one awaits verification, and the same name again is refused', async () => {
    const b = browser();
    const form = { name: '九龙坡区同心社会工作服务社', registration_no: '52500107MJP999999Q', registered_on: '2020-05-01', certificate_expires_on: '2029-05-01', rating: '3A', contact: '林社工' };
    const bad = await b.post('/organisations/register', { ...form, registration_no: 'abc', certificate_expires_on: '', name: `同心${XSS}` }, '/organisations/register');
    expect(bad.status).to.equal(422);
    expect((bad.text.match(/field-error/g) ?? []).length).to.equal(3);
    expect(bad.text).to.include(esc(`同心${XSS}`)).and.not.include(XSS);
    expect(await count('organisations')).to.equal(0);
    const ok = await b.post('/organisations/register', form, '/organisations/register');
    expect(ok.status).to.equal(201);
    expect(ok.text).to.include(zh('register.done', { name: form.name }));
    expect(await h().db('organisations').first('name', 'rating', 'verified_at')).to.deep.equal({ name: form.name, rating: '3A', verified_at: null });
    const again = await b.post('/organisations/register', { ...form, registration_no: '52500107MJP888888R' }, '/organisations/register');
    expect(again.status).to.equal(422);
    expect(await count('organisations')).to.equal(1);
  });
});
