import { expect } from 'chai';
import { resetDb } from '../../helpers/db.js';
import { fakeCampaign, fakeStreet, TEST_AGREEMENT, tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';

const members = (voting: number, supervisors = 1, extra: Record<string, unknown> = {}) => [
  ...Array.from({ length: voting }, (_, i) => ({ name: `委员${i + 1}`, role: i === 0 ? 'chair' : 'member', ...extra })),
  ...Array.from({ length: supervisors }, (_, i) => ({ name: `监督员${i + 1}`, role: 'supervisor' })),
];
const agreementBody = { ...TEST_AGREEMENT, signed_on: '2026-02-01' };

describe('community funds as the association hosts them (C-1 … C-9)', () => {
  let admin: string;
  beforeEach(async () => {
    await resetDb();
    admin = await tokenFor('association_admin');
  });

  it('when a fund has no signed agreement, then its campaign takes no donation and stores nothing (C-2); once signed, it does', async () => {
    const street = await fakeStreet({ agreement: false });
    const c = await fakeCampaign({ streetId: street.streetId });
    const refused = await h().api().post(`/api/campaigns/${c.slug}/donations`).send({ amount: 5000, currency: 'CNY', donor: {} }).expect(409);
    expect(refused.body.error.code).to.equal('fund_without_agreement');
    expect((await h().api().get(`/api/campaigns/${c.slug}`).expect(200)).body.accepting_donations).to.equal(false);
    expect(await h().db('donations').count({ n: '*' }).first()).to.deep.equal({ n: 0 });

    await h().api().put(`/api/funds/${street.fundId}/agreement`).set('Authorization', `Bearer ${admin}`).send(agreementBody).expect(200);
    await h().api().post(`/api/campaigns/${c.slug}/donations`).send({ amount: 5000, currency: 'CNY', donor: {} }).expect(201);
  });

  it('when an agreement is signed again, then the new one is in force and the old one is kept, superseded', async () => {
    const street = await fakeStreet();
    await h().api().put(`/api/funds/${street.fundId}/agreement`).set('Authorization', `Bearer ${admin}`).send({ ...agreementBody, management_fee_bp: 300 }).expect(200);
    const rows = await h().db('fund_agreements').where({ fund_id: street.fundId }).orderBy('id').select('management_fee_bp', 'superseded_at');
    expect(rows.map((r) => [r.management_fee_bp, r.superseded_at === null])).to.deep.equal([[500, false], [300, true]]);
    const fund = (await h().api().get(`/api/funds/${street.fundId}`).set('Authorization', `Bearer ${admin}`).expect(200)).body;
    expect(fund.agreement.management_fee_bp).to.equal(300);
  });

  for (const [what, body, field] of [
    ['four voting members', { members: members(4) }, 'members'],
    ['six voting members (an even number)', { members: members(6) }, 'members'],
    ['no supervisor', { members: members(5, 0) }, 'members'],
    ['a paid member', { members: members(5, 1, { unpaid: false }) }, 'members.0.unpaid'],
  ] as const) {
    it(`when a committee has ${what}, then it is refused naming ${field} and the committee is unchanged (C-4)`, async () => {
      const street = await fakeStreet();
      const res = await h().api().put(`/api/funds/${street.fundId}/committee`).set('Authorization', `Bearer ${admin}`).send(body).expect(400);
      expect(res.body.error.fields).to.have.property(field);
      expect(await h().db('fund_committee_members').where({ fund_id: street.fundId }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    });
  }

  it('when the committee has five unpaid voting members and a supervisor, then it is set and the fund stands', async () => {
    const street = await fakeStreet();
    await h().api().put(`/api/funds/${street.fundId}/committee`).set('Authorization', `Bearer ${admin}`).send({ members: members(5) }).expect(200);
    const fund = (await h().api().get(`/api/funds/${street.fundId}`).set('Authorization', `Bearer ${admin}`).expect(200)).body;
    expect(fund.standing).to.deep.equal({ agreement: true, committee: true, dormant: false });
    expect(fund.committee).to.have.length(6);
  });

  it('when a fund is asked for under another fund, badly named, or in another street’s community, then it is refused (C-1, C-3)', async () => {
    const street = await fakeStreet();
    const other = await fakeStreet();
    const community = await h().db('communities').where({ street_id: other.streetId }).first('id');
    const base = { street: street.streetId, code: 'new-fund', name: '测试区慈善会新社区慈善基金' };
    const sub = await h().api().post('/api/funds').set('Authorization', `Bearer ${admin}`).send({ ...base, parent_fund: street.fundId }).expect(400);
    expect(sub.body.error.fields).to.have.property('parent_fund');
    const named = await h().api().post('/api/funds').set('Authorization', `Bearer ${admin}`).send({ ...base, name: '新社区基金' }).expect(400);
    expect(named.body.error.fields).to.have.property('name');
    const elsewhere = await h().api().post('/api/funds').set('Authorization', `Bearer ${admin}`).send({ ...base, community: community.id }).expect(400);
    expect(elsewhere.body.error.fields).to.have.property('community');
    const ok = await h().api().post('/api/funds').set('Authorization', `Bearer ${admin}`).send({ ...base, agreement: agreementBody }).expect(201);
    expect(ok.body.standing.agreement).to.equal(true);
    const pools = await h().db('ledger_accounts').where({ owner_type: 'fund', owner_id: String(ok.body.id) }).pluck('code');
    expect(pools.sort()).to.deep.equal(['donations', 'government', 'match_enterprise', 'match_foundation', 'match_government', 'match_platform'].map((s) => `fund:${ok.body.id}:pool:${s}:CNY`));
  });

  it('when a street officer reads funds, then only its own street’s; it cannot create or sign for one', async () => {
    const own = await fakeStreet();
    const other = await fakeStreet();
    const officer = await tokenFor('street_officer', own.streetId);
    const list = (await h().api().get('/api/funds').set('Authorization', `Bearer ${officer}`).expect(200)).body;
    expect(list.map((f: { id: number }) => f.id)).to.deep.equal([own.fundId]);
    await h().api().get(`/api/funds/${other.fundId}`).set('Authorization', `Bearer ${officer}`).expect(403);
    await h().api().put(`/api/funds/${own.fundId}/agreement`).set('Authorization', `Bearer ${officer}`).send(agreementBody).expect(403);
    await h().api().post('/api/funds').set('Authorization', `Bearer ${officer}`).send({ street: own.streetId, code: 'x-fund', name: '某慈善基金' }).expect(403);
  });

  it('when a fund has been idle past the dormancy months, then it is flagged; activity clears the flag (C-8)', async () => {
    const street = await fakeStreet();
    const later = new Date(Date.now() + 400 * 86_400_000);
    expect(await h().c.funds.flagDormant(12, later)).to.deep.equal([street.fundId]);
    expect((await h().db('community_funds').where({ id: street.fundId }).first('dormant_since')).dormant_since).to.not.equal(null);
    expect(await h().c.funds.flagDormant(12, later)).to.deep.equal([]);
    const c = await fakeCampaign({ streetId: street.streetId });
    await h().api().post(`/api/campaigns/${c.slug}/donations`).send({ amount: 5000, currency: 'CNY', donor: {} }).expect(201);
    await h().c.funds.flagDormant(12);
    expect((await h().db('community_funds').where({ id: street.fundId }).first('dormant_since')).dormant_since).to.equal(null);
  });
});
