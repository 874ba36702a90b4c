import { expect } from 'chai';
import { assessManagementCosts, yearInCst } from '../../server/modules/funds/index.js';

/** C-7: the management-cost ratio against the kind's limit, the ¥200,000 exemption, and 70 % charitable spending. */
describe('management costs (C-7)', () => {
  const assess = (management: number, charitable: number, kind: 'social_group' | 'foundation', previousIncome = 0) => assessManagementCosts({ management, charitable, previousIncome }, kind);

  it('when management expenses are 15 % of expenditure, then both a 慈善会 (13 %) and a foundation (10 %) are warned', () => {
    expect(assess(30_000_000, 170_000_000, 'social_group')).to.deep.equal({ ratioBp: 1500, exempt: false, warnings: ['management_ratio_exceeded'] });
    expect(assess(30_000_000, 170_000_000, 'foundation').warnings).to.deep.equal(['management_ratio_exceeded']);
  });

  it('when they are 12.5 %, then only a foundation is warned; exactly at the limit is not over it', () => {
    expect(assess(25_000_000, 175_000_000, 'social_group').warnings).to.deep.equal([]);
    expect(assess(25_000_000, 175_000_000, 'foundation').warnings).to.deep.equal(['management_ratio_exceeded']);
    expect(assess(26_000_000, 174_000_000, 'social_group')).to.deep.include({ ratioBp: 1300, warnings: [] });
  });

  it('when management expenses are under ¥200,000, then the ratio is exempt however high it is', () => {
    expect(assess(19_999_999, 1, 'foundation')).to.deep.equal({ ratioBp: 10_000, exempt: true, warnings: [] });
    expect(assess(20_000_000, 1, 'foundation')).to.deep.include({ exempt: false, warnings: ['management_ratio_exceeded'] });
  });

  it('when charitable spending is under 70 % of last year’s income, then it is warned; at 70 % it is not; without last year’s income, never', () => {
    expect(assess(0, 6_999, 'social_group', 10_000).warnings).to.deep.equal(['charitable_spending_below_70']);
    expect(assess(0, 7_000, 'social_group', 10_000).warnings).to.deep.equal([]);
    expect(assess(0, 0, 'social_group', 0)).to.deep.equal({ ratioBp: 0, exempt: true, warnings: [] });
  });

  it('when it is past 16:00 UTC on 31 December, then it is already next year in China Standard Time, and C-7 reads that year', () => {
    expect(yearInCst(new Date('2026-12-31T15:59:59Z'))).to.equal(2026);
    expect(yearInCst(new Date('2026-12-31T16:00:00Z'))).to.equal(2027);
    expect(yearInCst(new Date('2027-01-01T00:00:00+08:00'))).to.equal(2027);
  });
});
