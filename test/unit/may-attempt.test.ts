import { expect } from 'chai';
import { mayAttempt, type Principal, type Role } from '../../server/modules/auth/index.js';

const as = (role: Role, bind: Partial<Principal> = {}): Principal => ({ userId: 1, tokenId: 1, role, streetId: null, organisationId: null, sponsorId: null, name: role, ...bind });

/** The coarse check routes make before reading a body. */
describe('mayAttempt: may this role do the action at all', () => {
  it('when a street officer with a street asks to create a campaign or a call, then yes (its street is checked later)', () => {
    expect(mayAttempt(as('street_officer', { streetId: 7 }), 'campaign.create')).to.equal(true);
    expect(mayAttempt(as('street_officer', { streetId: 7 }), 'call.manage')).to.equal(true);
  });

  it('when a street officer without a street, a sponsor or an auditor asks to create a campaign, then no', () => {
    expect(mayAttempt(as('street_officer'), 'campaign.create')).to.equal(false);
    expect(mayAttempt(as('sponsor', { sponsorId: 3 }), 'campaign.create')).to.equal(false);
    expect(mayAttempt(as('auditor'), 'campaign.create')).to.equal(false);
  });

  it('when a social organisation asks to report on a project, then only with an organisation; nobody anonymous may anything', () => {
    expect(mayAttempt(as('social_org', { organisationId: 2 }), 'project.report')).to.equal(true);
    expect(mayAttempt(as('social_org'), 'project.report')).to.equal(false);
    expect(mayAttempt(undefined, 'ledger.read')).to.equal(false);
  });

  it('when finance asks to decide approvals and the auditor too, then finance may and the auditor may not', () => {
    expect(mayAttempt(as('association_finance'), 'approval.decide')).to.equal(true);
    expect(mayAttempt(as('auditor'), 'approval.decide')).to.equal(false);
  });
});
