import { expect } from 'chai';
import { SYSTEM_PRINCIPAL } from '../../../server/modules/auth/index.js';
import { resetDb } from '../../helpers/db.js';
import { tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';
import { signedContract } from '../../helpers/project.js';
import { approve } from '../../helpers/purchasing.js';

const cstYear = (d = new Date()) => Number(new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 4));

describe('management costs from the ledger (C-7)', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  it('when last year brought income and this year paid a tranche, then the figures come from the ledger and short charitable spending is warned', async () => {
    const p = await signedContract();
    const year = cstYear();
    await h().c.pools.allocateGovernment(SYSTEM_PRINCIPAL, p.street.streetId, { amount: 10_000_000, reference: 'CZ-LAST-YEAR', received_on: new Date(`${year - 1}-06-01T00:00:00+08:00`) });
    const ask = await h().api().post(`/api/tranches/${p.tranches[0].id}/pay`).set('Authorization', `Bearer ${p.officer}`).expect(202);
    await approve(ask.body.approval_id);
    const finance = await tokenFor('association_finance');
    const costs = (await h().api().get(`/api/finance/management-costs?year=${year}`).set('Authorization', `Bearer ${finance}`).expect(200)).body;
    expect(costs).to.deep.include({ year, association_kind: 'social_group', previous_year_income: 10_000_000, charitable_spending: Number(p.tranches[0].amount_minor), limit_bp: 1300, exempt: true });
    expect(costs.income.government).to.equal(5_000_000);
    expect(costs.warnings).to.deep.equal(['charitable_spending_below_70']);
    const before = (await h().api().get(`/api/finance/management-costs?year=${year - 1}`).set('Authorization', `Bearer ${finance}`).expect(200)).body;
    expect(before).to.deep.include({ charitable_spending: 0, previous_year_income: 0, warnings: [] });
    expect(before.income.government).to.equal(10_000_000);
    await h().api().get(`/api/finance/management-costs?year=${year}`).set('Authorization', `Bearer ${p.officer}`).expect(403);
  });
});
