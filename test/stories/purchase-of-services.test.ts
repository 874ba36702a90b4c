import { expect } from 'chai';
import { resetDb } from '../helpers/db.js';
import { fakeCampaign, fakeStreet, tokenFor } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { balances, expectSettledLedgerHealthy, snapshotLedger } from '../helpers/ledger.js';
import { fakeGrant } from '../helpers/matching.js';
import { applicationBody, approve, CRITERIA, fakeOrganisation, noticeOver, openCall, reviewerPool, windowClosed } from '../helpers/purchasing.js';
import { financeToken, paidGift, sandboxPayout } from '../helpers/reconciliation.js';

const DAY = 86_400_000;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const card = (v: number) => ({ administration: v, finance: v, delivery: v, social: v, publicity: v });

/**
 * A street's pool fed by reconciled donations and a paid-for match; a call for proposals on it;
 * one organisation's application scored by three drawn experts; the notice with an objection
 * answered; the award and its contract; three tranches, each past its gate; the call closed.
 */
describe('story: from the call to the final tranche, on a pool fed by reconciled donations and matches', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when a project goes the whole way, then the money moves pool → call → contract → bank and the ledger reads as this table', async () => {
    const street = await fakeStreet();
    const campaign = await fakeCampaign({ streetId: street.streetId, endsAt: new Date(Date.now() + DAY) });
    const grant = await fakeGrant({ campaigns: [campaign.slug], budget: 200_000, rules: { pool_shards: 1 } });
    await paidGift(campaign.slug, 60_000);
    await paidGift(campaign.slug, 40_000);
    await sandboxPayout();
    const finance = await financeToken();
    await h().api().post(`/api/grants/${grant.id}/receipts`).set('Authorization', `Bearer ${finance}`).send({ amount: 100_000, reference: 'BANK-POS-1', received_on: '2026-11-30' }).expect(201);
    await h().c.releases.releaseDue(new Date(Date.now() + 12 * DAY));
    // The bank now holds the payout (¥1,000 less ¥6 of fees) and the sponsor's ¥1,000: ¥1,994.00.
    expect((await balances())['association:bank:CNY']).to.equal(199_400);
    const before = await h().db('ledger_journals').max({ id: 'id' }).first();

    const org = await fakeOrganisation({ name: '九龙坡区阳光社工服务中心' });
    const experts = await reviewerPool(3);
    const { call, officer } = await openCall(street.streetId, { budget: 150_000 });
    expect(call.funding).to.deep.equal({ donations: 75_000, match_enterprise: 75_000 });
    const app = (await h().api().post(`/api/calls/${call.id}/applications`).set('Authorization', `Bearer ${org.token}`)
      .send(applicationBody({ budget_lines: [{ line: '人员经费', amount: 60_000 }, { line: '活动物资', amount: 40_000 }, { line: '宣传与评估', amount: 20_000 }] })).expect(201)).body;
    await windowClosed(call.id);
    await h().api().post(`/api/calls/${call.id}/review`).set('Authorization', `Bearer ${officer}`).expect(200);
    for (const [i, e] of experts.entries()) {
      await h().api().post(`/api/calls/${call.id}/declaration`).set('Authorization', `Bearer ${e.token}`).send({ conflicted: false }).expect(200);
      await h().api().post(`/api/calls/${call.id}/applications/${app.id}/scores`).set('Authorization', `Bearer ${e.token}`).send({ scores: { need: 80 + i, design: 85, budget: 75 } }).expect(201);
    }
    const closed = (await h().api().post(`/api/calls/${call.id}/close-review`).set('Authorization', `Bearer ${officer}`).expect(200)).body;
    expect(closed.ranking[0]).to.deep.include({ application_id: app.id, score: 80.8, spread: 0.6, shortlisted: true });

    const objection = (await h().api().post(`/api/calls/${call.id}/objections`).send({ application: app.id, author: '建桥社区居民', body: '希望说明志愿者的培训安排。' }).expect(201)).body;
    await h().api().post(`/api/objections/${objection.id}/reply`).set('Authorization', `Bearer ${officer}`).send({ reply: '志愿者上岗前接受 8 学时培训，已补充到服务方案。' }).expect(200);
    await noticeOver(call.id);
    const award = (await h().api().post(`/api/calls/${call.id}/award`).set('Authorization', `Bearer ${officer}`).send({ starts_on: new Date().toISOString().slice(0, 10), ends_on: new Date(Date.now() + 300 * DAY).toISOString().slice(0, 10) }).expect(202)).body;
    await approve(award.approval_id);
    const contract = await h().db('contracts').where({ application_id: app.id }).first();
    await h().api().post(`/api/contracts/${contract.id}/sign`).set('Authorization', `Bearer ${org.token}`).expect(200);

    const tranches = await h().db('tranches').where({ contract_id: contract.id }).orderBy('seq');
    expect(tranches.map((t) => [t.percent, t.gate, t.amount_minor])).to.deep.equal([[40, 'signed', 48_000], [40, 'midterm', 48_000], [20, 'final', 24_000]]);
    const pay = async (id: number) => approve((await h().api().post(`/api/tranches/${id}/pay`).set('Authorization', `Bearer ${officer}`).expect(202)).body.approval_id);
    await pay(tranches[0].id);

    const voucher = (await h().api().post(`/api/contracts/${contract.id}/attachments`).set('Authorization', `Bearer ${org.token}`).attach('file', PNG, { filename: 'receipt.png', contentType: 'image/png' }).expect(201)).body;
    await h().api().post(`/api/contracts/${contract.id}/reports`).set('Authorization', `Bearer ${org.token}`)
      .send({ period: new Date().toISOString().slice(0, 7), outputs: '完成 8 次上门课业辅导，服务 30 名儿童。', income: 48_000, expenses: [{ budget_line: '活动物资', description: '学习用品', amount: 12_000, attachment: voucher.id }] }).expect(201);
    const thirdParty = experts[0].token;
    const street_ = await tokenFor('street_officer', street.streetId);
    for (const stage of ['midterm', 'final'] as const) {
      for (const [party, token] of [['street', street_], ['residents', officer], ['third_party', thirdParty], ['self', org.token]] as const) {
        await h().api().post(`/api/contracts/${contract.id}/evaluations/${stage}`).set('Authorization', `Bearer ${token}`).send({ party, scores: card(party === 'self' ? 95 : 85) }).expect(201);
      }
      await pay(tranches[stage === 'midterm' ? 1 : 2].id);
    }
    await h().api().post(`/api/calls/${call.id}/close`).set('Authorization', `Bearer ${officer}`).expect(200);

    const names = {
      [`fund:${street.fundId}:pool:donations:CNY`]: 'pool:donations', [`fund:${street.fundId}:pool:match_enterprise:CNY`]: 'pool:match_enterprise',
      [`call:${call.id}:committed:donations:CNY`]: 'call:donations', [`call:${call.id}:committed:match_enterprise:CNY`]: 'call:match_enterprise',
      [`contract:${contract.id}:committed:donations:CNY`]: 'contract:donations', [`contract:${contract.id}:committed:match_enterprise:CNY`]: 'contract:match_enterprise',
    };
    const table = (await snapshotLedger(names, Number(before!.id))).split('\n');
    expect(table).to.deep.equal([
      '| kind | account | debit | credit | balance after |',
      '|---|---|---|---|---|',
      '| call_committed | pool:donations | 75000 |  | 20000 |',
      '| call_committed | call:donations |  | 75000 | 75000 |',
      '| call_committed | pool:match_enterprise | 75000 |  | 20000 |',
      '| call_committed | call:match_enterprise |  | 75000 | 75000 |',
      '| tranche_award | call:donations | 60000 |  | 15000 |',
      '| tranche_award | contract:donations |  | 60000 | 60000 |',
      '| tranche_award | call:match_enterprise | 60000 |  | 15000 |',
      '| tranche_award | contract:match_enterprise |  | 60000 | 60000 |',
      '| tranche_payment | contract:donations | 24000 |  | 36000 |',
      '| tranche_payment | contract:match_enterprise | 24000 |  | 36000 |',
      '| tranche_payment | association:bank:CNY |  | 48000 | 151400 |',
      '| tranche_payment | contract:donations | 24000 |  | 12000 |',
      '| tranche_payment | contract:match_enterprise | 24000 |  | 12000 |',
      '| tranche_payment | association:bank:CNY |  | 48000 | 103400 |',
      '| tranche_payment | contract:donations | 12000 |  | 0 |',
      '| tranche_payment | contract:match_enterprise | 12000 |  | 0 |',
      '| tranche_payment | association:bank:CNY |  | 24000 | 79400 |',
      '| call_released | call:donations | 15000 |  | 0 |',
      '| call_released | pool:donations |  | 15000 | 35000 |',
      '| call_released | call:match_enterprise | 15000 |  | 0 |',
      '| call_released | pool:match_enterprise |  | 15000 | 35000 |',
    ]);
    const b = await balances();
    expect([b[`fund:${street.fundId}:pool:donations:CNY`], b[`fund:${street.fundId}:pool:match_enterprise:CNY`]]).to.deep.equal([35_000, 35_000]);
    expect(await h().db('contracts').where({ id: contract.id }).first('status')).to.deep.equal({ status: 'completed' });

    const trail = (await h().api().get(`/api/contracts/${contract.id}`).expect(200)).body;
    expect(trail.tranches.map((t: { status: string }) => t.status)).to.deep.equal(['paid', 'paid', 'paid']);
    expect(trail.funding).to.deep.equal({ donations: 60_000, match_enterprise: 60_000 });
    expect(trail.evaluations.map((e: { stage: string; grade: string }) => [e.stage, e.grade])).to.deep.equal([['midterm', 'good'], ['final', 'good']]);
    expect(trail.reports[0].expenses[0]).to.include({ budget_line: '活动物资', status: 'accepted', filename: 'receipt.png' });
    const file = await h().api().get(`/api/attachments/${voucher.id}`).expect(200);
    expect(file.headers['content-type']).to.equal('image/png');
    expect(file.headers['x-content-type-options']).to.equal('nosniff');
    const credit = (await h().api().get('/api/credit-list').expect(200)).body;
    expect(credit.map((x: { organisation: string; list: string }) => [x.organisation, x.list])).to.deep.equal([['九龙坡区阳光社工服务中心', 'red'], ['九龙坡区阳光社工服务中心', 'red']]);
  });
});
