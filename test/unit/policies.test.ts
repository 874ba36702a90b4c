import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { can, ROLES, type Action, type Principal, type Role, type Subject } from '../../server/modules/auth/index.js';

/**
 * The authorization matrix: every role × every action × every kind of subject, asked of the one
 * policy function `can()`. The expected answers below are written from the product's intent
 * (README, DESIGN §8), not read back from `policies.ts`, so a change to the policy that breaks
 * the intent fails a named cell.
 */

/** Every action the policy knows (copied from `policies.ts`; the tests below check the copy). */
const ACTIONS = [
  'dashboard.read',
  'campaign.read_draft',
  'campaign.create',
  'campaign.edit',
  'campaign.submit',
  'campaign.publish',
  'campaign.close',
  'campaign.link_party',
  'geo.manage',
  'fund.read',
  'fund.manage',
  'grant.manage',
  'grant.read_draft',
  'grant.read_usage',
  'donation.search',
  'donation.contact_read',
  'donation.refund',
  'ledger.read',
  'ledger.adjust',
  'approval.read',
  'approval.decide',
  'risk.read',
  'risk.decide',
  'organisation.manage',
  'user.read',
  'user.manage',
  'audit.read',
  'queues.admin',
  'token.manage_own',
  'reconciliation.read',
  'reconciliation.run',
  'reconciliation.resolve',
  'pool.read',
  'pool.manage',
  'pledge.manage',
  'period.close',
  'call.manage',
  'call.read_draft',
  'application.submit',
  'review.score',
  'organisation.verify',
  'objection.reply',
  'contract.manage',
  'project.report',
] as const satisfies readonly Action[];

// Compile-time: if the policy gains an action this list lacks, `tsc` fails here.
type Missing = Exclude<Action, (typeof ACTIONS)[number]>;
const listIsComplete: [Missing] extends [never] ? true : Missing = true;
void listIsComplete;

const OWN_STREET = 1;
const OTHER_STREET = 2;
const OWN_SPONSOR = 10;
const OTHER_SPONSOR = 11;
const OWN_ORGANISATION = 5;
const OTHER_ORGANISATION = 6;

/** The subjects each action is asked about. */
const SUBJECTS = {
  'no subject': {},
  'own street': { streetId: OWN_STREET },
  'other street': { streetId: OTHER_STREET },
  'own sponsor': { sponsorId: OWN_SPONSOR },
  'other sponsor': { sponsorId: OTHER_SPONSOR },
  'own organisation': { organisationId: OWN_ORGANISATION },
  'other organisation': { organisationId: OTHER_ORGANISATION },
  'approval of a grant activation': { kind: 'grant_activation' },
  'approval of a refund': { kind: 'refund' },
} satisfies Record<string, Subject>;
type SubjectName = keyof typeof SUBJECTS;
const SUBJECT_NAMES = Object.keys(SUBJECTS) as SubjectName[];

/**
 * Every principal is bound to street 1, organisation 5 and sponsor 10, whatever its role: a
 * binding must only ever help the role it belongs to (street officers, sponsors).
 */
const principal = (role: Role, bind: Partial<Principal> = {}): Principal => ({
  userId: 1, tokenId: null, role, streetId: OWN_STREET, organisationId: OWN_ORGANISATION, sponsorId: OWN_SPONSOR, name: role, ...bind,
});

// ---- The expected table, from the intent ----

/** Read actions by name: `*.read*` and `*.search` (a donor's contact details are not a plain read). */
const isRead = (a: Action) => /\.read/.test(a) || a.endsWith('.search');
/** Every signed-in staff member has a dashboard and manages their own API tokens. */
const SELF_SERVICE: Action[] = ['dashboard.read', 'token.manage_own'];
/** Finance moves money and sees donors' contacts to do it. */
const MONEY: Action[] = ['donation.contact_read', 'donation.refund', 'ledger.adjust', 'approval.decide', 'risk.decide', 'reconciliation.run', 'reconciliation.resolve', 'pool.manage', 'pledge.manage', 'period.close'];
/** Finance reads what money work needs; the staff directory is for admins and auditors. */
const FINANCE_READS = ACTIONS.filter((a) => isRead(a) && a !== 'user.read');
/** A street officer's work, only ever in their own street (never publishing). */
const OFFICER_OWN_STREET: Action[] = [
  'campaign.read_draft', 'campaign.create', 'campaign.edit', 'campaign.submit', 'campaign.close', 'campaign.link_party', 'fund.read', 'donation.search', 'pool.read',
  'call.manage', 'call.read_draft', 'objection.reply', 'contract.manage',
];
/** A social organisation applies and reports, for itself only. */
const ORGANISATION_OWN: Action[] = ['application.submit', 'project.report'];
/** A sponsor sees its own grants, drafts and usage. */
const SPONSOR_OWN: Action[] = ['grant.read_draft', 'grant.read_usage'];

function expected(role: Role, action: Action, subject: SubjectName): boolean {
  const s: Subject = SUBJECTS[subject];
  if (action === 'approval.decide' && s.kind === 'grant_activation') return role === 'association_admin';
  switch (role) {
    case 'association_admin':
      return true;
    case 'association_finance':
      return SELF_SERVICE.includes(action) || MONEY.includes(action) || FINANCE_READS.includes(action);
    case 'auditor':
      return SELF_SERVICE.includes(action) || isRead(action);
    case 'street_officer':
      return SELF_SERVICE.includes(action) || (OFFICER_OWN_STREET.includes(action) && s.streetId === OWN_STREET);
    case 'sponsor':
      return SELF_SERVICE.includes(action) || (SPONSOR_OWN.includes(action) && s.sponsorId === OWN_SPONSOR);
    case 'reviewer':
      return SELF_SERVICE.includes(action) || action === 'review.score';
    case 'social_org':
      return SELF_SERVICE.includes(action) || (ORGANISATION_OWN.includes(action) && s.organisationId === OWN_ORGANISATION);
    case 'resident':
      return false;
  }
}

/** "allowed for every subject", "denied for every subject", or which subjects are allowed. */
function summary(role: Role, action: Action): string {
  const allowed = SUBJECT_NAMES.filter((s) => expected(role, action, s));
  if (allowed.length === SUBJECT_NAMES.length) return 'it is allowed for every subject';
  if (allowed.length === 0) return 'it is denied for every subject';
  return `it is allowed only for: ${allowed.join(', ')}`;
}

const verdict = (b: boolean) => (b ? 'allow' : 'deny');

describe('authorization policy: can(principal, action, subject)', () => {
  describe('the action list', () => {
    it('when the Action union in policies.ts is read, then it names exactly the actions this matrix covers', () => {
      const source = readFileSync(new URL('../../server/modules/auth/policies.ts', import.meta.url), 'utf8');
      const union = /export type Action =([\s\S]*?);/.exec(source);
      expect(union, 'the Action union in policies.ts').to.not.equal(null);
      const inSource = [...union![1].matchAll(/'([a-z_]+\.[a-z_]+)'/g)].map((m) => m[1]).sort();

      expect(inSource).to.deep.equal([...ACTIONS].sort());
    });

    it('when an admin is checked for each listed action, then the policy knows every one (answers without throwing, and allows)', () => {
      const admin = principal('association_admin');

      const answers = ACTIONS.map((a) => {
        try {
          return `${a}: ${verdict(can(admin, a))}`;
        } catch (err) {
          return `${a}: threw ${(err as Error).message}`;
        }
      });

      expect(answers).to.deep.equal(ACTIONS.map((a) => `${a}: allow`));
    });

    it('when a role list is read, then it is the eight roles of DESIGN §8 (seven staff roles and resident)', () => {
      expect([...ROLES].sort()).to.deep.equal(['association_admin', 'association_finance', 'auditor', 'resident', 'reviewer', 'social_org', 'sponsor', 'street_officer']);
    });
  });

  for (const role of ROLES) {
    describe(`role ${role}`, () => {
      for (const action of ACTIONS) {
        it(`when ${role} asks for ${action}, then ${summary(role, action)}`, () => {
          const p = principal(role);

          const cells = SUBJECT_NAMES.map((s) => ({ s, got: can(p, action, SUBJECTS[s]), want: expected(role, action, s) }));

          for (const { s, got, want } of cells) {
            expect(verdict(got), `cell ${role} × ${action} × ${s}: expected ${verdict(want)}, got ${verdict(got)}`).to.equal(verdict(want));
          }
        });
      }
    });
  }

  describe('edges', () => {
    it('when there is no principal (anonymous), then every action on every subject is denied', () => {
      const allowed = ACTIONS.flatMap((a) => SUBJECT_NAMES.filter((s) => can(undefined, a, SUBJECTS[s])).map((s) => `${a} × ${s}`));

      expect(allowed, 'cells allowed to nobody').to.deep.equal([]);
      expect(ACTIONS.some((a) => can(undefined, a)), 'with the default subject').to.equal(false);
    });

    it('when a street officer has no street and the subject has none either, then nothing street-scoped is allowed', () => {
      const unbound = principal('street_officer', { streetId: null });

      const allowed = OFFICER_OWN_STREET.filter((a) => can(unbound, a, {}) || can(unbound, a, { streetId: null }) || can(unbound, a, { streetId: undefined }));

      expect(allowed).to.deep.equal([]);
      expect(can(unbound, 'campaign.create', { streetId: OTHER_STREET }), 'any street at all').to.equal(false);
    });

    it('when a sponsor has no sponsor binding and the subject has none either, then it sees no grant', () => {
      const unbound = principal('sponsor', { sponsorId: null });

      const allowed = SPONSOR_OWN.filter((a) => can(unbound, a, {}) || can(unbound, a, { sponsorId: null }));

      expect(allowed).to.deep.equal([]);
    });

    it('when a street officer asks about its own street but the subject is a sponsor match, then the sponsor binding gives it nothing (and vice versa)', () => {
      const officer = principal('street_officer');
      const sponsor = principal('sponsor');

      expect(can(officer, 'grant.read_draft', { sponsorId: OWN_SPONSOR }), 'officer × own sponsor grant').to.equal(false);
      expect(can(sponsor, 'campaign.read_draft', { streetId: OWN_STREET }), 'sponsor × own street draft').to.equal(false);
    });

    it('when an officer names its own street and a grant-activation kind together, then only the admin rule applies to approval.decide', () => {
      const subject: Subject = { streetId: OWN_STREET, sponsorId: OWN_SPONSOR, kind: 'grant_activation' };

      const allowed = ROLES.filter((r) => can(principal(r), 'approval.decide', subject));

      expect(allowed).to.deep.equal(['association_admin']);
    });
  });
});
