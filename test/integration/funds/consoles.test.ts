import { expect } from 'chai';
import { totp, type Role } from '../../../server/modules/auth/index.js';
import { resetDb } from '../../helpers/db.js';
import { fakeCampaign, fakeStreet, fakeUser } from '../../helpers/factories.js';
import { browser, signIn } from '../../helpers/forms.js';
import { h } from '../../helpers/harness.js';
import { expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { fakeGrant } from '../../helpers/matching.js';
import { paidGift, sandboxPayout } from '../../helpers/reconciliation.js';

const PASSWORD = 'correct-horse-battery';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

async function staff(role: Role, bind: { streetId?: number } = {}) {
  const mfa = role === 'association_admin' || role === 'association_finance';
  const user = await fakeUser(role, { ...bind, password: PASSWORD, totpSecret: mfa ? SECRET : undefined });
  return signIn(user.email, PASSWORD, mfa ? () => totp.now(SECRET) : undefined);
}

describe('finance console, fund pages and public pool pages', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when finance opens the console, then payouts, the exception queue, pledges and the ledger render; a street officer gets 403', async () => {
    const c = await fakeCampaign();
    await paidGift(c.slug, 10_000);
    const p = await sandboxPayout(['fee_mismatch']);
    const b = await staff('association_finance');
    const page = await b.get('/console/finance');
    expect(page.status).to.equal(200);
    expect(page.text).to.include(p.id);
    expect((await b.get(`/console/finance/payouts/${p.id}`)).text).to.include('手续费不符');
    const ex = await b.get('/console/finance/exceptions?status=open');
    expect(ex.text).to.include('手续费不符');
    const csv = await b.get('/console/finance/exceptions.csv');
    expect(csv.headers['content-type']).to.match(/text\/csv/);
    expect(csv.text).to.include('fee_mismatch');
    expect((await b.get('/console/finance/pledges')).status).to.equal(200);
    expect((await b.get('/console/ledger')).text).to.include('association:bank:CNY');
    const officer = await staff('street_officer');
    expect((await officer.get('/console/finance')).status).to.equal(403);
    expect((await officer.get('/console/ledger')).status).to.equal(403);
  });

  it('when a resolution form is sent without a note or with an unknown account, then the queue re-renders with the field errors and nothing is asked', async () => {
    const c = await fakeCampaign();
    await paidGift(c.slug, 10_000);
    await sandboxPayout(['amount_mismatch']);
    const e = await h().db('reconciliation_exceptions').first('id');
    const b = await staff('association_finance');
    const empty = await b.post(`/console/finance/exceptions/${e.id}/resolve`, { note: '', debit: '', credit: '', amount_yuan: '' }, '/console/finance/exceptions');
    expect(empty.status).to.equal(422);
    expect(empty.text).to.match(/field-error/);
    const unknown = await b.post(`/console/finance/exceptions/${e.id}/resolve`, { note: '调整差额', debit: 'no:such:CNY', credit: 'association:bank:CNY', amount_yuan: '1.00' }, '/console/finance/exceptions');
    expect(unknown.status).to.equal(422);
    expect(unknown.text).to.include('no:such:CNY');
    expect(await h().db('approvals').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    const ok = await b.post(`/console/finance/exceptions/${e.id}/resolve`, { note: '银行多付，待退回', debit: 'processor:sandbox:clearing:CNY', credit: 'association:suspense:reconciliation:CNY', amount_yuan: '1.00' }, '/console/finance/exceptions');
    expect(ok.status).to.equal(303);
    expect(await h().db('approvals').where({ kind: 'exception_resolution' }).first('payload')).to.deep.include({ payload: { exception_id: e.id, note: '银行多付，待退回', adjustment: { debit: 'processor:sandbox:clearing:CNY', credit: 'association:suspense:reconciliation:CNY', amount: 100 } } });
  });

  it('when finance starts a run from the console, then its page shows the progress and, once done, the outcome per payout', async () => {
    const c = await fakeCampaign();
    await paidGift(c.slug, 10_000);
    await sandboxPayout();
    const b = await staff('association_finance');
    const started = await b.post('/console/finance/run', {}, '/console/finance');
    expect(started.status).to.equal(303);
    let page = await b.get(started.headers.location);
    for (let i = 0; i < 100 && !/已完成/.test(page.text); i++) {
      await new Promise((r) => setTimeout(r, 50));
      page = await b.get(started.headers.location);
    }
    expect(page.text).to.include('已完成');
    expect(page.text).to.include('此前已对账');
  });

  it('when a receipt form has a bad amount, then the pledges page re-renders with the error; a good one records the receipt', async () => {
    const c = await fakeCampaign();
    const g = await fakeGrant({ campaigns: [c.slug], budget: 100_000 });
    const b = await staff('association_finance');
    const bad = await b.post('/console/finance/receipts', { grant_id: String(g.id), reference: 'BANK-X1', amount_yuan: '12.345', received_on: '2026-11-20' }, '/console/finance/pledges');
    expect(bad.status).to.equal(422);
    expect(bad.text).to.match(/field-error/);
    const ok = await b.post('/console/finance/receipts', { grant_id: String(g.id), reference: 'BANK-X1', amount_yuan: '123.45', received_on: '2026-11-20' }, '/console/finance/pledges');
    expect(ok.status).to.equal(303);
    expect((await h().db('sponsor_receipts').first('amount_minor')).amount_minor).to.equal(12_345);
  });

  it('when an admin sets a committee of four on the fund page, then it re-renders with the rule; a valid one is saved and audited', async () => {
    const street = await fakeStreet();
    const b = await staff('association_admin');
    const four = await b.post(`/console/funds/${street.fundId}/committee`, { committee: '甲 | chair\n乙 | member\n丙 | member\n丁 | member\n戊 | supervisor' }, `/console/funds/${street.fundId}`);
    expect(four.status).to.equal(422);
    expect(four.text).to.include('至少 5 名');
    const ok = await b.post(`/console/funds/${street.fundId}/committee`, { committee: '甲 | chair\n乙 | member\n丙 | member\n丁 | member\n戊 | member\n己 | supervisor | 监督' }, `/console/funds/${street.fundId}`);
    expect(ok.status).to.equal(303);
    expect(await h().db('audit_log').where({ action: 'fund.committee_set' }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
    const page = await b.get(`/console/funds/${street.fundId}`);
    expect(page.text).to.include('管委会符合要求');
  });

  it('when anyone opens the pool pages, then each street’s pool and its inflow chart render, with street names escaped', async () => {
    const street = await fakeStreet({ name: '<script>alert(1)</script>街道' });
    const c = await fakeCampaign({ streetId: street.streetId });
    await paidGift(c.slug, 10_000);
    await sandboxPayout();
    await h().c.releases.releaseDue();
    const list = await browser().get('/pools');
    expect(list.status).to.equal(200);
    expect(list.text).not.to.include('<script>alert(1)</script>');
    expect(list.text).to.include('&lt;script&gt;alert(1)&lt;/script&gt;街道');
    const page = await browser().get(`/pools/${street.streetId}?lang=en`);
    expect(page.status).to.equal(200);
    expect(page.text).to.include('id="chart-inflow"');
    expect(page.text).to.include('/public/js/pool-chart.js');
    expect(page.text).to.include('¥95.00');
    expect((await browser().get('/pools/999999')).status).to.equal(404);
  });
});
