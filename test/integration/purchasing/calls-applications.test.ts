import { expect } from 'chai';
import { translate } from '../../../server/lib/i18n.js';
import { resetDb } from '../../helpers/db.js';
import { tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { signedContract } from '../../helpers/project.js';
import { applicationBody, callBody, CRITERIA, fakeOrganisation, openCall, streetWithPool } from '../../helpers/purchasing.js';
import { fakeStreet } from '../../helpers/factories.js';

const DAY = 86_400_000;
const apply = (callId: number, token: string, body: Record<string, unknown> = applicationBody()) => h().api().post(`/api/calls/${callId}/applications`).set('Authorization', `Bearer ${token}`).send(body);

describe('purchase of services: calls and applications (G-1 … G-5)', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  describe('calls', () => {
    it('when a call is bad or from another street’s officer, then it is refused naming the field, and nothing is stored', async () => {
      const street = await streetWithPool();
      const officer = await tokenFor('street_officer', street.streetId);
      const other = await tokenFor('street_officer');
      await h().api().post('/api/calls').set('Authorization', `Bearer ${other}`).send(callBody(street.streetId)).expect(403);
      for (const [over, field] of [
        [{ criteria: [{ key: 'need', name: '需求', weight: 50 }] }, 'criteria'],
        [{ category: 'fireworks' }, 'category'],
        [{ closes_at: new Date(Date.now() - 2 * DAY).toISOString() }, 'closes_at'],
        [{ title: '<script>alert(1)</script>' }, 'title'],
        [{ budget: 1.5 }, 'budget'],
      ] as const) {
        const res = await h().api().post('/api/calls').set('Authorization', `Bearer ${officer}`).send(callBody(street.streetId, over)).expect(400);
        expect(res.body.error.fields, JSON.stringify(over)).to.have.property(field);
      }
      expect(await h().db('calls').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    });

    it('when a call is published on a pool too small for it, then it stays a draft and no money moves (G-1)', async () => {
      const street = await streetWithPool(1_000_000);
      const officer = await tokenFor('street_officer', street.streetId);
      const draft = (await h().api().post('/api/calls').set('Authorization', `Bearer ${officer}`).send(callBody(street.streetId, { budget: 1_000_001 })).expect(201)).body;
      expect((await h().api().post(`/api/calls/${draft.id}/publish`).set('Authorization', `Bearer ${officer}`).expect(409)).body.error.code).to.equal('pool_insufficient');
      expect(await h().db('calls').where({ id: draft.id }).first('status')).to.deep.equal({ status: 'draft' });
      expect(await h().db('ledger_journals').where({ kind: 'call_committed' }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
      expect((await h().api().get(`/api/calls/${draft.id}`).expect(404)).body.error.code).to.equal('not_found');
      expect((await h().api().get(`/api/calls/${draft.id}`).set('Authorization', `Bearer ${officer}`).expect(200)).body.status).to.equal('draft');
    });

    it('when a call is published, then its budget is committed from the pool and it is listed publicly', async () => {
      const street = await streetWithPool(3_000_000);
      const { call } = await openCall(street.streetId, { budget: 2_000_000 });
      expect(call).to.deep.include({ status: 'open', funding: { government: 2_000_000 } });
      const pools = (await h().api().get(`/api/pools/${street.streetId}`).expect(200)).body;
      expect(pools.available).to.equal(1_000_000);
      const list = (await h().api().get(`/api/calls?street=${street.streetId}`).expect(200)).body;
      expect(list.map((c: { id: number }) => c.id)).to.deep.equal([call.id]);
    });
  });

  describe('applications', () => {
    it('when the window is not open, then an application is refused (G-2)', async () => {
      const street = await streetWithPool();
      const org = await fakeOrganisation();
      const later = await openCall(street.streetId, { opens_at: new Date(Date.now() + DAY).toISOString(), closes_at: new Date(Date.now() + 2 * DAY).toISOString() });
      expect((await apply(later.call.id, org.token).expect(409)).body.error.code).to.equal('call_not_open');
      const past = await openCall(street.streetId);
      await h().db('calls').where({ id: past.call.id }).update({ opens_at: new Date(Date.now() - 2 * DAY), closes_at: new Date(Date.now() - 1000) });
      expect((await apply(past.call.id, org.token).expect(409)).body.error.code).to.equal('call_not_open');
    });

    it('when an organisation goes over max_applications_per_org, then the extra one is refused (G-4)', async () => {
      const street = await streetWithPool();
      const org = await fakeOrganisation();
      const { call } = await openCall(street.streetId, { max_applications_per_org: 1 });
      await apply(call.id, org.token).expect(201);
      const res = await apply(call.id, org.token, applicationBody({ title: '另一个完全不同的项目名称', service_area: '黄桷湾社区' })).expect(409);
      expect(res.body.error.code).to.equal('over_application_limit');
    });

    for (const [what, setup, reason] of [
      ['on the black list', async (id: number) => void (await h().db('credit_list').insert({ organisation_id: id, list: 'black', reason: 'final:fail', since: new Date(), until: new Date(Date.now() + 300 * DAY) })), 'blacklisted'],
      ['on the abnormal-activity list', async (id: number) => void (await h().db('organisations').where({ id }).update({ credit_status: 'abnormal' })), 'abnormal_activity'],
      ['on the serious-violation list', async (id: number) => void (await h().db('organisations').where({ id }).update({ credit_status: 'serious_violation' })), 'serious_violation'],
      ['missing its annual report', async (id: number) => void (await h().db('organisations').where({ id }).update({ annual_report_ok: false })), 'annual_report'],
      ['not verified by staff', async (id: number) => void (await h().db('organisations').where({ id }).update({ verified_at: null })), 'not_verified'],
      ['holding a certificate that lapses within six months of the close', async (id: number) => void (await h().db('organisations').where({ id }).update({ certificate_expires_on: new Date(Date.now() + 90 * DAY) })), 'certificate'],
      ['sanctioned for matching abuse', async (id: number) => void (await h().db('organisations').where({ id }).update({ sanctioned_at: new Date(), sanction_reason: 'risk_confirmed' })), 'sanctioned'],
    ] as const) {
      it(`when an organisation is ${what}, then it is refused with the reason and nothing is stored (G-3)`, async () => {
        const street = await streetWithPool();
        const org = await fakeOrganisation();
        await setup(org.id);
        const { call } = await openCall(street.streetId);
        const res = await apply(call.id, org.token).expect(422);
        expect(res.body.error).to.include({ code: 'not_eligible' });
        expect(res.body.error.message).to.equal(translate('zh-CN', `eligibility.${reason}`));
        expect(await h().db('applications').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
      });
    }

    it('when an application is joint, then it waits for every member’s confirmation; a wrong token is refused (G-5)', async () => {
      const street = await streetWithPool();
      const org = await fakeOrganisation();
      const { call } = await openCall(street.streetId);
      const body = applicationBody({ members: [{ role: 'community', name: '建桥社区居委会' }, { role: 'social_worker', name: '社工 王芳' }] });
      const app = (await apply(call.id, org.token, body).expect(201)).body;
      expect(app.status).to.equal('awaiting_members');
      expect(app.confirmation_links).to.have.length(2);
      await h().api().post(`/api/applications/${app.id}/confirm`).send({ token: 'x'.repeat(32) }).expect(409);
      const first = await h().api().post(`/api/applications/${app.id}/confirm`).send({ token: app.confirmation_links[0].token }).expect(200);
      expect(first.body.application_status).to.equal('awaiting_members');
      await h().api().post(`/api/applications/${app.id}/confirm`).send({ token: app.confirmation_links[0].token }).expect(409);
      const last = await h().api().post(`/api/applications/${app.id}/confirm`).send({ token: app.confirmation_links[1].token }).expect(200);
      expect(last.body.application_status).to.equal('submitted');
    });

    it('when two streets get nearly the same text, then the second is flagged and reviewers see both side by side (G-4)', async () => {
      const [a, b] = [await streetWithPool(), await streetWithPool()];
      const org1 = await fakeOrganisation();
      const org2 = await fakeOrganisation();
      const first = await openCall(a.streetId);
      const second = await openCall(b.streetId);
      const one = (await apply(first.call.id, org1.token).expect(201)).body;
      const copy = (await apply(second.call.id, org2.token, applicationBody({ service_area: '杨家坪街道前进社区', title: '“小书桌”困境儿童课业与陪伴计划（二期）' })).expect(201)).body;
      const seen = (await h().api().get(`/api/calls/${second.call.id}/applications`).set('Authorization', `Bearer ${second.officer}`).expect(200)).body;
      const flags = seen.find((x: { id: number }) => x.id === copy.id).flags;
      expect(flags).to.have.length(1);
      expect(flags[0]).to.include({ kind: 'near_duplicate', other_id: one.id, other_title: '“小书桌”困境儿童课业与陪伴计划', other_street_id: a.streetId });
      expect(Number(flags[0].similarity)).to.be.at.least(0.6);
    });

    it('when the same service area and category already hold a live contract, then a new application for it is refused (G-4)', async () => {
      const { org } = await signedContract();
      const street = await streetWithPool();
      const { call } = await openCall(street.streetId);
      const res = await apply(call.id, org.token).expect(409);
      expect(res.body.error.code).to.equal('scope_already_funded');
    });

    it('when fields carry markup, the declaration is missing or the budget lines repeat, then 400 names them', async () => {
      const street = await streetWithPool();
      const org = await fakeOrganisation();
      const { call } = await openCall(street.streetId);
      for (const [over, field] of [
        [{ title: '<img src=x onerror=alert(1)>' }, 'title'],
        [{ no_violation_declared: false }, 'no_violation_declared'],
        [{ budget_lines: [{ line: '人员经费', amount: 100 }, { line: '人员经费', amount: 100 }] }, 'budget_lines'],
        [{ beneficiary_count: 0 }, 'beneficiary_count'],
      ] as const) {
        const res = await apply(call.id, org.token, applicationBody(over)).expect(400);
        expect(res.body.error.fields, JSON.stringify(over)).to.have.property(field);
      }
      // A reviewer may never apply: refused (403) before its body is read.
      const reviewer = await tokenFor('reviewer');
      await apply(call.id, reviewer).expect(403);
    });

    it('when anyone registers an organisation, then it cannot apply until staff verify it', async () => {
      const street = await fakeStreet();
      const res = await h().api().post('/api/organisations/register').send({ name: '新成立的社工机构', registration_no: '52500000MJ12345678', registered_on: '2020-01-01', certificate_expires_on: '2030-01-01', rating: '3A' }).expect(201);
      expect(res.body.verified_at).to.equal(null);
      const admin = await tokenFor('association_admin');
      const officer = await tokenFor('street_officer', street.streetId);
      await h().api().post(`/api/organisations/${res.body.id}/verify`).set('Authorization', `Bearer ${officer}`).expect(403);
      expect((await h().api().post(`/api/organisations/${res.body.id}/verify`).set('Authorization', `Bearer ${admin}`).expect(200)).body.verified_at).to.not.equal(null);
      await h().api().post('/api/organisations/register').send({ name: 'x', registration_no: '../../etc', registered_on: '2020-01-01', certificate_expires_on: '2030-01-01' }).expect(400);
      expect(CRITERIA).to.have.length(3);
    });
  });
});
