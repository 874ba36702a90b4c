import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Response } from 'supertest';
import { hashToken, MFA_ROLES, SYSTEM_PRINCIPAL, totp, type Role } from '../../server/modules/auth/index.js';
import type { CampaignRow } from '../../server/modules/campaigns/index.js';
import { resetDb } from '../helpers/db.js';
import { fakeCampaign, fakeStreet, fakeUser } from '../helpers/factories.js';
import { browser, signIn } from '../helpers/forms.js';
import { h } from '../helpers/harness.js';
import { allocationsOf, fakeGrant, give, pay } from '../helpers/matching.js';

/**
 * Every staff write leaves exactly one entry in the append-only audit log, naming who (the
 * acting user), what (action, subject), the change (before → after) and from where (ip). The
 * log cannot be edited, never holds a secret, and can be searched, paged and exported.
 */

const DAY = 86_400_000;
const PASSWORD = 'correct-horse-battery';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const uniq = () => randomBytes(3).toString('hex');
/** A datetime-local value (China Standard Time), as a console form sends it. */
const cstLocal = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 16);

type Street = Awaited<ReturnType<typeof fakeStreet>>;
type User = Awaited<ReturnType<typeof fakeUser>>;
type Browser = ReturnType<typeof browser>;

interface AuditRow {
  id: string; at: Date; actor_user_id: number | null; actor_label: string; action: string; subject_type: string; subject_id: string | null;
  before: Record<string, unknown> | null; after: Record<string, unknown> | null; ip: string | null; user_agent: string | null; request_id: string | null;
}

const lastAuditId = async (): Promise<number> => Number((await h().db('audit_log').max({ m: 'id' }).first())?.m ?? 0);
const entriesAfter = (id: number): Promise<AuditRow[]> => h().db('audit_log').where('id', '>', id).orderBy('id');

// ---------------------------------------------------------------- actors

/** A user of a role acting through the API with a personal token. */
async function apiActor(role: Role, bind: { streetId?: number } = {}) {
  const user = await fakeUser(role, bind);
  const { token } = await h().c.auth.issueToken({ userId: user.id, label: `audit-${role}` });
  const auth = `Bearer ${token}`;
  return {
    user,
    post: (path: string, body: object = {}) => h().api().post(path).set('Authorization', auth).send(body),
    patch: (path: string, body: object) => h().api().patch(path).set('Authorization', auth).send(body),
    put: (path: string, body: object) => h().api().put(path).set('Authorization', auth).send(body),
  };
}

/** A user of a role signed in to the console through the real forms (TOTP where the role needs it). */
async function consoleActor(role: Role, bind: { streetId?: number } = {}): Promise<{ user: User; b: Browser }> {
  const mfa = MFA_ROLES.includes(role);
  const user = await fakeUser(role, { ...bind, password: PASSWORD, totpSecret: mfa ? SECRET : undefined });
  const b = await signIn(user.email, PASSWORD, mfa ? () => totp.now(SECRET) : undefined);
  return { user, b };
}

// ---------------------------------------------------------------- fixtures

const campaignBody = (streetId: number, over: Record<string, unknown> = {}) => ({
  slug: `c-${uniq()}`, title: '困境儿童居住空间改造', story: '', goal: 5_000_000, street: streetId, status: 'draft',
  starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString(), ...over,
});

const grantBody = () => ({
  sponsor: { name: `赞助方-${uniq()}`, kind: 'foundation' }, budget: 1_000_000, currency: 'CNY', scope: { all: true },
  starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString(), rules: {},
});

/** A paid ¥50 gift to a live campaign of the street. */
async function paidGift(streetId: number): Promise<{ campaign: CampaignRow; id: string }> {
  const campaign = await fakeCampaign({ streetId });
  const gift = await give(campaign.slug, 5000);
  await pay(gift.id);
  return { campaign, id: gift.id };
}

/** A paid gift from a beneficiary's own phone: its match is held for staff (M-12). Returns the allocation id. */
async function heldMatch(streetId: number): Promise<number> {
  const campaign = await fakeCampaign({ streetId });
  await fakeGrant({ campaigns: [campaign.slug], rules: { ratio_percent: 100 } });
  await h().c.matching.linkParty(campaign.id, 'beneficiary', { phone: '13900001111' });
  const gift = await give(campaign.slug, 2000, { phone: '13900001111' });
  await pay(gift.id);
  const [a] = await allocationsOf(gift.id);
  expect(a, 'a held allocation').to.include({ status: 'held', hold_reason: 'linked_party' });
  return a.id;
}

/** A refund asked for by one finance user; returns the approval id. */
async function pendingRefund(streetId: number): Promise<number> {
  const { id } = await paidGift(streetId);
  const asker = await apiActor('association_finance');
  return (await asker.post(`/api/donations/${id}/refunds`).expect(202)).body.approval_id;
}

// ---------------------------------------------------------------- the writes

interface Want {
  action: string;
  actor: number;
  subjectType: string;
  subjectId: string | number;
  /** The code records the state before the change. */
  before?: Record<string, unknown>;
  /** What `after` must contain (beyond being present). */
  after?: Record<string, unknown>;
}

interface Arranged {
  act: () => Promise<Response>;
  status: number;
  want: (res: Response) => Want | Promise<Want>;
}

interface Write { name: string; arrange: (street: Street) => Promise<Arranged> }

const API_WRITES: Write[] = [
  {
    name: 'campaign create (POST /api/campaigns)',
    async arrange(street) {
      const admin = await apiActor('association_admin');
      const body = campaignBody(street.streetId);
      return { act: () => admin.post('/api/campaigns', body), status: 201, want: () => ({ action: 'campaign.created', actor: admin.user.id, subjectType: 'campaign', subjectId: body.slug, after: { slug: body.slug, status: 'draft' } }) };
    },
  },
  {
    name: 'campaign edit (PATCH /api/campaigns/:slug)',
    async arrange(street) {
      const officer = await apiActor('street_officer', { streetId: street.streetId });
      const c = await fakeCampaign({ status: 'draft', streetId: street.streetId, title: '旧标题' });
      return { act: () => officer.patch(`/api/campaigns/${c.slug}`, { title: '新标题' }), status: 200, want: () => ({ action: 'campaign.updated', actor: officer.user.id, subjectType: 'campaign', subjectId: c.slug, before: { title: '旧标题' }, after: { title: '新标题' } }) };
    },
  },
  {
    name: 'campaign submit (POST /api/campaigns/:slug/transition {to: review})',
    async arrange(street) {
      const officer = await apiActor('street_officer', { streetId: street.streetId });
      const c = await fakeCampaign({ status: 'draft', streetId: street.streetId });
      return { act: () => officer.post(`/api/campaigns/${c.slug}/transition`, { to: 'review' }), status: 200, want: () => ({ action: 'campaign.submitted', actor: officer.user.id, subjectType: 'campaign', subjectId: c.slug, before: { status: 'draft' }, after: { status: 'review' } }) };
    },
  },
  {
    name: 'campaign publish (POST /api/campaigns/:slug/transition {to: live})',
    async arrange(street) {
      const admin = await apiActor('association_admin');
      const c = await fakeCampaign({ status: 'draft', streetId: street.streetId });
      await h().c.campaigns.transition(SYSTEM_PRINCIPAL, c.slug, 'review');
      return { act: () => admin.post(`/api/campaigns/${c.slug}/transition`, { to: 'live' }), status: 200, want: () => ({ action: 'campaign.published', actor: admin.user.id, subjectType: 'campaign', subjectId: c.slug, before: { status: 'review' }, after: { status: 'live' } }) };
    },
  },
  {
    name: 'grant create (POST /api/grants)',
    async arrange() {
      const admin = await apiActor('association_admin');
      return { act: () => admin.post('/api/grants', grantBody()), status: 201, want: (res) => ({ action: 'grant.created', actor: admin.user.id, subjectType: 'grant', subjectId: res.body.id, after: { status: 'draft', budget: 1_000_000 } }) };
    },
  },
  {
    name: 'grant activation request (first admin: POST /api/grants/:id/activate)',
    async arrange() {
      const admin = await apiActor('association_admin');
      const g = await fakeGrant({ activate: false });
      return { act: () => admin.post(`/api/grants/${g.id}/activate`), status: 202, want: (res) => ({ action: 'grant.activation_requested', actor: admin.user.id, subjectType: 'grant', subjectId: g.id, after: { approval_id: res.body.approval_id } }) };
    },
  },
  {
    name: 'grant activation approval (second admin: POST /api/grants/:id/activate)',
    async arrange() {
      const [first, second] = [await apiActor('association_admin'), await apiActor('association_admin')];
      const g = await fakeGrant({ activate: false });
      await first.post(`/api/grants/${g.id}/activate`).expect(202);
      return { act: () => second.post(`/api/grants/${g.id}/activate`), status: 200, want: () => ({ action: 'grant.activated', actor: second.user.id, subjectType: 'grant', subjectId: g.id, before: { status: 'draft' }, after: { status: 'active' } }) };
    },
  },
  {
    name: 'grant top-up (POST /api/grants/:id/top-up)',
    async arrange() {
      const admin = await apiActor('association_admin');
      const g = await fakeGrant({ budget: 1_000_000 });
      return { act: () => admin.post(`/api/grants/${g.id}/top-up`, { amount: 10_000 }), status: 200, want: () => ({ action: 'grant.topped_up', actor: admin.user.id, subjectType: 'grant', subjectId: g.id, before: { budget: 1_000_000 }, after: { budget: 1_010_000 } }) };
    },
  },
  {
    name: 'grant rules change (PUT /api/grants/:id/rules)',
    async arrange() {
      const admin = await apiActor('association_admin');
      const g = await fakeGrant();
      return { act: () => admin.put(`/api/grants/${g.id}/rules`, { rules: { ratio_percent: 50 } }), status: 200, want: () => ({ action: 'grant.rules_changed', actor: admin.user.id, subjectType: 'grant', subjectId: g.id, before: { version: 1 }, after: { version: 2 } }) };
    },
  },
  {
    name: 'grant close (POST /api/grants/:id/close)',
    async arrange() {
      const admin = await apiActor('association_admin');
      const g = await fakeGrant();
      return { act: () => admin.post(`/api/grants/${g.id}/close`), status: 200, want: () => ({ action: 'grant.closed', actor: admin.user.id, subjectType: 'grant', subjectId: g.id, before: { status: 'active' }, after: { status: 'closed' } }) };
    },
  },
  {
    name: 'refund request (POST /api/donations/:id/refunds)',
    async arrange(street) {
      const finance = await apiActor('association_finance');
      const { id } = await paidGift(street.streetId);
      return { act: () => finance.post(`/api/donations/${id}/refunds`), status: 202, want: (res) => ({ action: 'refund.requested', actor: finance.user.id, subjectType: 'donation', subjectId: id, after: { amount: 5000, approval_id: res.body.approval_id } }) };
    },
  },
  {
    name: 'refund approval (POST /api/approvals/:id/approve)',
    async arrange(street) {
      const approval = await pendingRefund(street.streetId);
      const approver = await apiActor('association_finance');
      return { act: () => approver.post(`/api/approvals/${approval}/approve`), status: 200, want: () => ({ action: 'approval.approved', actor: approver.user.id, subjectType: 'approval', subjectId: approval, after: { kind: 'refund', status: 'approved' } }) };
    },
  },
  {
    name: 'refund rejection (POST /api/approvals/:id/reject)',
    async arrange(street) {
      const approval = await pendingRefund(street.streetId);
      const approver = await apiActor('association_admin');
      return { act: () => approver.post(`/api/approvals/${approval}/reject`, { note: '捐赠人撤回' }), status: 200, want: () => ({ action: 'approval.rejected', actor: approver.user.id, subjectType: 'approval', subjectId: approval, after: { kind: 'refund', status: 'rejected' } }) };
    },
  },
  {
    name: 'ledger adjustment request (POST /api/ledger/adjustments)',
    async arrange(street) {
      const finance = await apiActor('association_finance');
      const { campaign } = await paidGift(street.streetId);
      const body = { debit: `campaign:${campaign.id}:donations:CNY`, credit: `fund:${street.fundId}:pool:donations:CNY`, amount: 1200, memo: '调往购买服务资金池' };
      return { act: () => finance.post('/api/ledger/adjustments', body), status: 202, want: (res) => ({ action: 'ledger.adjustment_requested', actor: finance.user.id, subjectType: 'approval', subjectId: res.body.approval_id, after: body }) };
    },
  },
  {
    name: 'ledger adjustment approval (POST /api/approvals/:id/approve)',
    async arrange(street) {
      const [asker, approver] = [await apiActor('association_finance'), await apiActor('association_admin')];
      const { campaign } = await paidGift(street.streetId);
      const asked = await asker.post('/api/ledger/adjustments', { debit: `campaign:${campaign.id}:donations:CNY`, credit: `fund:${street.fundId}:pool:donations:CNY`, amount: 1200, memo: '调往购买服务资金池' }).expect(202);
      const id = asked.body.approval_id;
      return { act: () => approver.post(`/api/approvals/${id}/approve`), status: 200, want: () => ({ action: 'approval.approved', actor: approver.user.id, subjectType: 'approval', subjectId: id, after: { kind: 'adjustment', status: 'approved' } }) };
    },
  },
  {
    name: 'risk hold confirmed (POST /api/risk/holds/:id/confirm)',
    async arrange(street) {
      const finance = await apiActor('association_finance');
      const id = await heldMatch(street.streetId);
      return { act: () => finance.post(`/api/risk/holds/${id}/confirm`, { note: '受益人本人捐赠' }), status: 200, want: () => ({ action: 'risk.hold_confirmed', actor: finance.user.id, subjectType: 'match_allocation', subjectId: id, after: { status: 'released' } }) };
    },
  },
  {
    name: 'risk hold released (POST /api/risk/holds/:id/release)',
    async arrange(street) {
      const admin = await apiActor('association_admin');
      const id = await heldMatch(street.streetId);
      return { act: () => admin.post(`/api/risk/holds/${id}/release`), status: 200, want: () => ({ action: 'risk.hold_released', actor: admin.user.id, subjectType: 'match_allocation', subjectId: id, after: { status: 'committed' } }) };
    },
  },
  {
    name: 'linked party (POST /api/campaigns/:slug/linked-parties)',
    async arrange(street) {
      const officer = await apiActor('street_officer', { streetId: street.streetId });
      const c = await fakeCampaign({ streetId: street.streetId });
      return { act: () => officer.post(`/api/campaigns/${c.slug}/linked-parties`, { role: 'beneficiary', phone: '13900002222' }), status: 201, want: () => ({ action: 'campaign.party_linked', actor: officer.user.id, subjectType: 'campaign', subjectId: c.slug, after: { role: 'beneficiary', identities: 1 } }) };
    },
  },
  {
    name: 'organisation create (POST /api/organisations)',
    async arrange() {
      const admin = await apiActor('association_admin');
      return { act: () => admin.post('/api/organisations', { name: '九龙社工中心' }), status: 201, want: (res) => ({ action: 'organisation.created', actor: admin.user.id, subjectType: 'organisation', subjectId: res.body.id, after: { name: '九龙社工中心' } }) };
    },
  },
];

const campaignForm = (streetId: number, over: Record<string, string> = {}) => ({
  slug: `c-${uniq()}`, title: '长者食堂', story: '', goal_yuan: '5000.00', street_id: String(streetId), organisation_id: '',
  starts_at: cstLocal(new Date(Date.now() - DAY)), ends_at: cstLocal(new Date(Date.now() + 30 * DAY)), ...over,
});

const CONSOLE_WRITES: Write[] = [
  {
    name: 'campaign create (console)',
    async arrange(street) {
      const { user, b } = await consoleActor('street_officer', { streetId: street.streetId });
      const form = campaignForm(street.streetId);
      return { act: () => b.post('/console/campaigns', form, '/console/campaigns/new'), status: 303, want: () => ({ action: 'campaign.created', actor: user.id, subjectType: 'campaign', subjectId: form.slug, after: { slug: form.slug, status: 'draft' } }) };
    },
  },
  {
    name: 'campaign edit (console)',
    async arrange(street) {
      const { user, b } = await consoleActor('street_officer', { streetId: street.streetId });
      const c = await fakeCampaign({ status: 'draft', streetId: street.streetId, title: '旧标题' });
      const form = { title: '新标题', story: '', goal_yuan: '10000.00', starts_at: cstLocal(c.starts_at), ends_at: cstLocal(c.ends_at) };
      return { act: () => b.post(`/console/campaigns/${c.slug}`, form, `/console/campaigns/${c.slug}`), status: 303, want: () => ({ action: 'campaign.updated', actor: user.id, subjectType: 'campaign', subjectId: c.slug, before: { title: '旧标题' }, after: { title: '新标题' } }) };
    },
  },
  {
    name: 'campaign submit (console)',
    async arrange(street) {
      const { user, b } = await consoleActor('street_officer', { streetId: street.streetId });
      const c = await fakeCampaign({ status: 'draft', streetId: street.streetId });
      return { act: () => b.post(`/console/campaigns/${c.slug}/transition`, { to: 'review' }, `/console/campaigns/${c.slug}`), status: 303, want: () => ({ action: 'campaign.submitted', actor: user.id, subjectType: 'campaign', subjectId: c.slug, before: { status: 'draft' }, after: { status: 'review' } }) };
    },
  },
  {
    name: 'linked party (console)',
    async arrange(street) {
      const { user, b } = await consoleActor('street_officer', { streetId: street.streetId });
      const c = await fakeCampaign({ streetId: street.streetId });
      return { act: () => b.post(`/console/campaigns/${c.slug}/linked-parties`, { role: 'organiser', email: 'organiser@example.com', phone: '' }, `/console/campaigns/${c.slug}`), status: 303, want: () => ({ action: 'campaign.party_linked', actor: user.id, subjectType: 'campaign', subjectId: c.slug, after: { role: 'organiser', identities: 1 } }) };
    },
  },
  {
    name: 'grant create (console)',
    async arrange() {
      const { user, b } = await consoleActor('association_admin');
      const sponsor = `赞助方-${uniq()}`;
      const form = { sponsor_name: sponsor, sponsor_kind: 'enterprise', name: '', budget_yuan: '10000', scope: 'all', starts_at: cstLocal(new Date(Date.now() - DAY)), ends_at: cstLocal(new Date(Date.now() + 30 * DAY)), priority: '0', rules: '{}' };
      return {
        act: () => b.post('/console/grants', form, '/console/grants/new'), status: 303,
        want: async () => ({ action: 'grant.created', actor: user.id, subjectType: 'grant', subjectId: (await h().db('grants as g').join('sponsors as s', 's.id', 'g.sponsor_id').where('s.name', sponsor).first('g.id')).id, after: { status: 'draft' } }),
      };
    },
  },
  {
    name: 'grant activation approval (console, second admin)',
    async arrange() {
      const first = await apiActor('association_admin');
      const g = await fakeGrant({ activate: false });
      await first.post(`/api/grants/${g.id}/activate`).expect(202);
      const { user, b } = await consoleActor('association_admin');
      return { act: () => b.post(`/console/grants/${g.id}/activate`, {}, `/console/grants/${g.id}`), status: 303, want: () => ({ action: 'grant.activated', actor: user.id, subjectType: 'grant', subjectId: g.id, before: { status: 'draft' }, after: { status: 'active' } }) };
    },
  },
  {
    name: 'refund request (console)',
    async arrange(street) {
      const { id } = await paidGift(street.streetId);
      const { user, b } = await consoleActor('association_finance');
      return { act: () => b.post(`/console/donations/${id}/refund`, { amount_yuan: '20.00' }, '/console/donations'), status: 303, want: () => ({ action: 'refund.requested', actor: user.id, subjectType: 'donation', subjectId: id, after: { amount: 2000 } }) };
    },
  },
  {
    name: 'refund approval (console)',
    async arrange(street) {
      const approval = await pendingRefund(street.streetId);
      const { user, b } = await consoleActor('association_finance');
      return { act: () => b.post(`/console/approvals/${approval}/approve`, {}, '/console/approvals'), status: 303, want: () => ({ action: 'approval.approved', actor: user.id, subjectType: 'approval', subjectId: approval, after: { kind: 'refund', status: 'approved' } }) };
    },
  },
  {
    name: 'risk hold released (console)',
    async arrange(street) {
      const id = await heldMatch(street.streetId);
      const { user, b } = await consoleActor('association_finance');
      return { act: () => b.post(`/console/risk/${id}/release`, {}, '/console/risk'), status: 303, want: () => ({ action: 'risk.hold_released', actor: user.id, subjectType: 'match_allocation', subjectId: id, after: { status: 'committed' } }) };
    },
  },
  {
    name: 'user invitation (console)',
    async arrange() {
      const { user, b } = await consoleActor('association_admin');
      const email = `new-${uniq()}@example.com`;
      return { act: () => b.post('/console/users/invite', { email, display_name: '新同事', role: 'reviewer', street_id: '', organisation_id: '', sponsor_id: '' }, '/console/users'), status: 303, want: () => ({ action: 'user.invited', actor: user.id, subjectType: 'user_invitation', subjectId: email, after: { email, role: 'reviewer' } }) };
    },
  },
  {
    name: 'password reset link (console)',
    async arrange() {
      const { user, b } = await consoleActor('association_admin');
      const target = await fakeUser('reviewer');
      return { act: () => b.post(`/console/users/${target.id}/reset`, {}, '/console/users'), status: 303, want: () => ({ action: 'user.reset_link_issued', actor: user.id, subjectType: 'user', subjectId: target.id }) };
    },
  },
  {
    name: 'role change (console)',
    async arrange() {
      const { user, b } = await consoleActor('association_admin');
      const target = await fakeUser('reviewer');
      return { act: () => b.post(`/console/users/${target.id}`, { role: 'auditor', street_id: '', organisation_id: '', sponsor_id: '' }, '/console/users'), status: 303, want: () => ({ action: 'user.role_changed', actor: user.id, subjectType: 'user', subjectId: target.id, before: { role: 'reviewer' }, after: { role: 'auditor' } }) };
    },
  },
  {
    name: 'user disabled (console)',
    async arrange() {
      const { user, b } = await consoleActor('association_admin');
      const target = await fakeUser('reviewer');
      return { act: () => b.post(`/console/users/${target.id}`, { disabled: 'true' }, '/console/users'), status: 303, want: () => ({ action: 'user.disabled', actor: user.id, subjectType: 'user', subjectId: target.id, before: { disabled_at: null } }) };
    },
  },
  {
    name: 'street create (console)',
    async arrange() {
      const { user, b } = await consoleActor('association_admin');
      const code = `street-${uniq()}`;
      return { act: () => b.post('/console/geo/street', { code, name: '新街道', name_en: '' }, '/console/geo'), status: 303, want: async () => ({ action: 'street.created', actor: user.id, subjectType: 'street', subjectId: (await h().db('streets').where({ code }).first('id')).id, after: { code } }) };
    },
  },
  {
    name: 'community create (console)',
    async arrange(street) {
      const { user, b } = await consoleActor('association_admin');
      const code = `community-${uniq()}`;
      return { act: () => b.post('/console/geo/community', { street_id: String(street.streetId), code, name: '新社区', name_en: '' }, '/console/geo'), status: 303, want: async () => ({ action: 'community.created', actor: user.id, subjectType: 'community', subjectId: (await h().db('communities').where({ code }).first('id')).id, after: { code } }) };
    },
  },
  {
    name: 'community fund create (console)',
    async arrange(street) {
      const { user, b } = await consoleActor('association_admin');
      const code = `fund-${uniq()}`;
      return { act: () => b.post('/console/geo/fund', { street_id: String(street.streetId), code, name: '新社区基金', name_en: '' }, '/console/geo'), status: 303, want: async () => ({ action: 'fund.created', actor: user.id, subjectType: 'fund', subjectId: (await h().db('community_funds').where({ code }).first('id')).id, after: { code } }) };
    },
  },
  {
    name: 'personal API token issued (/account/tokens)',
    async arrange(street) {
      const { user, b } = await consoleActor('street_officer', { streetId: street.streetId });
      return { act: () => b.post('/account/tokens', { label: 'my-cli' }, '/account'), status: 303, want: async () => ({ action: 'account.token_issued', actor: user.id, subjectType: 'api_token', subjectId: (await h().db('api_tokens').where({ user_id: user.id, label: 'my-cli' }).first('id')).id, after: { label: 'my-cli' } }) };
    },
  },
  {
    name: 'personal API token revoked (/account/tokens/:id/revoke)',
    async arrange(street) {
      const { user, b } = await consoleActor('street_officer', { streetId: street.streetId });
      const { id } = await h().c.auth.issueToken({ userId: user.id, label: 'old-cli' });
      return { act: () => b.post(`/account/tokens/${id}/revoke`, {}, '/account'), status: 303, want: () => ({ action: 'account.token_revoked', actor: user.id, subjectType: 'api_token', subjectId: id }) };
    },
  },
  {
    name: 'password change (/account/password)',
    async arrange(street) {
      const { user, b } = await consoleActor('street_officer', { streetId: street.streetId });
      return { act: () => b.post('/account/password', { password: 'a-brand-new-passphrase', confirm: 'a-brand-new-passphrase' }, '/account'), status: 303, want: () => ({ action: 'account.password_changed', actor: user.id, subjectType: 'user', subjectId: user.id }) };
    },
  },
  {
    name: 'sign-in with password (street officer)',
    async arrange(street) {
      const user = await fakeUser('street_officer', { streetId: street.streetId, password: PASSWORD });
      const b = browser();
      return { act: () => b.post('/login', { email: user.email, password: PASSWORD }, '/login'), status: 303, want: () => ({ action: 'auth.sign_in', actor: user.id, subjectType: 'user', subjectId: user.id, after: { mfa: false } }) };
    },
  },
  {
    name: 'sign-in with password and TOTP (admin)',
    async arrange() {
      const user = await fakeUser('association_admin', { password: PASSWORD, totpSecret: SECRET });
      const b = browser();
      expect((await b.post('/login', { email: user.email, password: PASSWORD }, '/login')).headers.location).to.match(/^\/login\/totp/);
      return { act: () => b.post('/login/totp', { code: totp.now(SECRET) }, '/login/totp'), status: 303, want: () => ({ action: 'auth.sign_in', actor: user.id, subjectType: 'user', subjectId: user.id, after: { mfa: true } }) };
    },
  },
];

describe('audit log', () => {
  let street: Street;
  beforeEach(async () => {
    await resetDb();
    street = await fakeStreet();
  });

  for (const [kind, writes] of [['API', API_WRITES], ['console', CONSOLE_WRITES]] as const) {
    describe(`every staff write leaves one entry (${kind})`, () => {
      for (const write of writes) {
        it(`when ${write.name} succeeds, then exactly one audit entry names the actor, action, subject, change and address`, async () => {
          const { act, status, want } = await write.arrange(street);
          const since = await lastAuditId();

          const res = await act();

          expect(res.status, `${write.name}: ${res.status} ${res.text?.slice(0, 300)}`).to.equal(status);
          if (status === 303) expect(res.headers.location, 'redirected to a page, not to sign-in').not.to.match(/^\/login(\?|$)/);
          const w = await want(res);
          const rows = await entriesAfter(since);
          expect(rows.map((r) => r.action), `${write.name}: new audit entries`).to.deep.equal([w.action]);
          const [row] = rows;
          expect({ actor: row.actor_user_id, subject: `${row.subject_type}:${row.subject_id}` }, `${write.name}: who and what`).to.deep.equal({ actor: w.actor, subject: `${w.subjectType}:${w.subjectId}` });
          expect(row.actor_label, 'actor label').to.be.a('string').and.not.equal('');
          expect(row.ip, `${write.name}: ip`).to.be.a('string').and.match(/\d|:/);
          expect(row.after, `${write.name}: after`).to.not.equal(null);
          if (w.after) expect(row.after, `${write.name}: after`).to.deep.include(w.after);
          if (w.before) {
            expect(row.before, `${write.name}: before`).to.not.equal(null);
            expect(row.before, `${write.name}: before`).to.deep.include(w.before);
          }
        });
      }
    });
  }

  describe('what is not a successful write', () => {
    it('when writes are refused (403) or invalid (400), then the audit log gains nothing', async () => {
      const other = await fakeStreet();
      const officer = await apiActor('street_officer', { streetId: street.streetId });
      const auditor = await apiActor('auditor');
      const theirs = await fakeCampaign({ status: 'draft', streetId: other.streetId });
      const since = await lastAuditId();

      await officer.post('/api/campaigns', campaignBody(other.streetId)).expect(403);
      await officer.post(`/api/campaigns/${theirs.slug}/transition`, { to: 'review' }).expect(403);
      await auditor.post('/api/organisations', { name: '审计员的组织' }).expect(403);
      await officer.post('/api/campaigns', campaignBody(street.streetId, { goal: -1 })).expect(400);

      expect(await entriesAfter(since)).to.deep.equal([]);
    });

    it('when a console risk form posts a decision that is neither confirm nor release, then nothing is decided or recorded', async () => {
      const id = await heldMatch(street.streetId);
      const { b } = await consoleActor('association_finance');
      const since = await lastAuditId();

      const res = await b.post(`/console/risk/${id}/approve-everything`, {}, '/console/risk');

      const outcome = { refused: res.status >= 400 && res.status < 500, allocation: (await h().db('match_allocations').where({ id }).first()).status, audited: (await entriesAfter(since)).map((r) => r.action) };
      expect(outcome, `an unknown decision is not a decision (answered ${res.status})`).to.deep.equal({ refused: true, allocation: 'held', audited: [] });
    });
  });

  describe('one business event, one action name', () => {
    it('when a campaign is submitted for review through the API and through the console, then both entries carry the same action', async () => {
      const viaApi = await fakeCampaign({ status: 'draft', streetId: street.streetId });
      const viaConsole = await fakeCampaign({ status: 'draft', streetId: street.streetId });
      const api = await apiActor('street_officer', { streetId: street.streetId });
      const { b } = await consoleActor('street_officer', { streetId: street.streetId });

      await api.post(`/api/campaigns/${viaApi.slug}/transition`, { to: 'review' }).expect(200);
      await b.post(`/console/campaigns/${viaConsole.slug}/transition`, { to: 'review' }, `/console/campaigns/${viaConsole.slug}`);

      const actions = await h().db('audit_log').where({ subject_type: 'campaign' }).orderBy('id').pluck('action');
      expect(actions).to.have.length(2);
      expect(actions[1], 'the console records the same action as the API').to.equal(actions[0]);
    });
  });

  describe('append-only', () => {
    it('when anyone UPDATEs or DELETEs an audit entry, then the database refuses and the entry stays as it was', async () => {
      const admin = await apiActor('association_admin');
      await admin.post('/api/organisations', { name: '九龙社工中心' }).expect(201);
      const [before] = await h().db('audit_log').select('*');

      const update = await h().db('audit_log').update({ action: 'nothing.happened', after: null }).then(() => null, (err: Error) => err);
      const remove = await h().db('audit_log').where({ id: before.id }).del().then(() => null, (err: Error) => err);

      expect(update?.message, 'UPDATE').to.match(/append-only/);
      expect(remove?.message, 'DELETE').to.match(/append-only/);
      expect(await h().db('audit_log').select('*')).to.deep.equal([before]);
    });
  });

  describe('secrets', () => {
    it('when tokens are issued, links are made, a password is changed and roles change, then no password, hash, token or TOTP secret is in the log', async () => {
      const { user: admin, b } = await consoleActor('association_admin');
      const colleague = await fakeUser('reviewer', { password: 'colleague-first-pass' });
      const oldHash = (await h().db('users').where({ id: admin.id }).first()).password_hash as string;

      await b.post('/account/tokens', { label: 'my-cli' }, '/account');
      const token = /<code class="secret">(sh_[\w-]+)<\/code>/.exec((await b.get('/account')).text)?.[1];
      await b.post('/console/users/invite', { email: `new-${uniq()}@example.com`, display_name: '新同事', role: 'reviewer' }, '/console/users');
      const invite = /\/invite\/([\w-]+)<\/code>/.exec((await b.get('/console/users')).text)?.[1];
      await b.post(`/console/users/${colleague.id}/reset`, {}, '/console/users');
      const reset = /\/reset\/([\w-]+)<\/code>/.exec((await b.get('/console/users')).text)?.[1];
      await b.post('/account/password', { password: 'a-brand-new-passphrase', confirm: 'a-brand-new-passphrase' }, '/account');
      await b.post(`/console/users/${colleague.id}`, { role: 'auditor' }, '/console/users');
      await b.post(`/console/users/${admin.id}`, { role: 'association_admin' }, '/console/users');
      const newHash = (await h().db('users').where({ id: admin.id }).first()).password_hash as string;
      const colleagueHash = (await h().db('users').where({ id: colleague.id }).first()).password_hash as string;

      expect([token, invite, reset], 'the one-time values were shown to the admin').to.satisfy((v: unknown[]) => v.every((x) => typeof x === 'string'));
      const log = JSON.stringify(await h().db('audit_log').select('*'));
      expect(await h().db('audit_log').pluck('action')).to.include.members(['account.token_issued', 'user.invited', 'user.reset_link_issued', 'account.password_changed', 'user.role_changed']);
      const secrets: Record<string, string> = {
        'old password hash': oldHash, 'new password hash': newHash, "colleague's password hash": colleagueHash,
        'new password': 'a-brand-new-passphrase', 'old password': PASSWORD, 'TOTP secret': SECRET,
        'API token': token!, 'API token hash': hashToken(token!), 'invitation token': invite!, 'invitation hash': hashToken(invite!), 'reset token': reset!, 'reset hash': hashToken(reset!),
      };
      for (const [what, value] of Object.entries(secrets)) expect(log.includes(value), `${what} appears in audit_log`).to.equal(false);
      const roleChange = await h().db('audit_log').where({ action: 'user.role_changed', subject_id: String(colleague.id) }).first();
      expect(roleChange.before, 'the user snapshot is there, its secrets redacted').to.include({ role: 'reviewer', password_hash: '[redacted]' });
    });
  });

  describe('the viewer (/console/audit)', () => {
    /** Entries as a given actor would write them, in bulk (the viewer is what is under test). */
    async function seed(actorId: number, n: number, entry: { action: string; subjectType: string; subjectId?: (i: number) => string }) {
      const user = (await h().c.auth.findUser(actorId))!;
      const principal = { userId: user.id, tokenId: null, role: user.role, streetId: null, organisationId: null, sponsorId: null, name: user.display_name };
      for (let i = 0; i < n; i++) {
        await h().c.audit.record({ principal, ip: '10.0.0.1', userAgent: 'test', requestId: null }, { action: entry.action, subjectType: entry.subjectType, subjectId: entry.subjectId?.(i) ?? String(i), after: { i } });
      }
    }
    const actionsOn = (html: string) => [...html.matchAll(/<td><code>([^<]+)<\/code><\/td>/g)].map((m) => m[1]);

    it('when filtered by action, then only that action is listed, 50 a page, with a next link that keeps the filter', async () => {
      const { user, b } = await consoleActor('auditor');
      await seed(user.id, 60, { action: 'grant.topped_up', subjectType: 'grant' });
      await seed(user.id, 5, { action: 'campaign.updated', subjectType: 'campaign' });

      const first = await b.get('/console/audit?action=grant.topped_up&lang=en');
      const second = await b.get('/console/audit?action=grant.topped_up&page=2&lang=en');

      expect(first.status).to.equal(200);
      expect(actionsOn(first.text)).to.have.length(50).and.satisfy((a: string[]) => a.every((x) => x === 'grant.topped_up'));
      expect(first.text).to.include('60 in all');
      expect(first.text, 'the next-page link keeps the filter').to.include('href="/console/audit?action=grant.topped_up&amp;lang=en&amp;page=2"');
      expect(actionsOn(second.text)).to.have.length(10).and.satisfy((a: string[]) => a.every((x) => x === 'grant.topped_up'));
    });

    it('when filtered by subject type and id, then only that subject\'s entries are listed', async () => {
      const { user, b } = await consoleActor('auditor');
      await seed(user.id, 3, { action: 'campaign.updated', subjectType: 'campaign', subjectId: (i) => (i === 0 ? 'home-repair' : `other-${i}`) });
      await seed(user.id, 2, { action: 'grant.closed', subjectType: 'grant', subjectId: () => 'home-repair' });

      const res = await b.get('/console/audit?subject_type=campaign&subject_id=home-repair');

      expect(res.status).to.equal(200);
      expect(actionsOn(res.text)).to.deep.equal(['campaign.updated']);
      expect(res.text).to.include('campaign home-repair');
    });

    it('when exported as CSV, then it is text/csv with a header row and the entries, and formula-looking cells start with an apostrophe', async () => {
      const admin = await apiActor('association_admin');
      await h().c.auth.updateUser(admin.user.id, { displayName: '=1+1' });
      const created = await admin.post('/api/campaigns', campaignBody(street.streetId, { slug: 'formula', title: '=1+1' })).expect(201);
      const { b } = await consoleActor('auditor');

      const res = await b.get('/console/audit.csv?action=campaign.created');
      const campaigns = await b.get('/console/campaigns.csv');

      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/csv/);
      const [header, ...rows] = parseCsv(res.text);
      expect(header).to.deep.equal(['id', 'at', 'actor_user_id', 'actor_label', 'action', 'subject_type', 'subject_id', 'before', 'after', 'ip', 'user_agent', 'request_id']);
      expect(rows).to.have.length(1);
      const entry = Object.fromEntries(header.map((k, i) => [k, rows[0][i]]));
      expect(entry).to.include({ actor_user_id: String(admin.user.id), action: 'campaign.created', subject_type: 'campaign', subject_id: 'formula' });
      expect(entry.actor_label, 'an actor name that looks like a formula').to.match(/^'=1\+1 </);
      expect(JSON.parse(entry.after)).to.include({ id: created.body.id, title: '=1+1' });
      const risky = rows.flat().filter((cell) => /^[=+\-@]/.test(cell));
      expect(risky, 'cells a spreadsheet would run').to.deep.equal([]);
      const [campaignHeader, ...campaignRows] = parseCsv(campaigns.text);
      const title = campaignRows.find((r) => r[campaignHeader.indexOf('slug')] === 'formula')?.[campaignHeader.indexOf('title')];
      expect(title, 'the campaign title in the campaigns export').to.equal("'=1+1");
    });

    it('when someone who may not read the audit log asks for it or its CSV, then 403', async () => {
      const { b } = await consoleActor('street_officer', { streetId: street.streetId });

      expect((await b.get('/console/audit')).status).to.equal(403);
      expect((await b.get('/console/audit.csv')).status).to.equal(403);
    });
  });
});

/** RFC 4180: a UTF-8 BOM, CRLF lines, quoted cells with doubled quotes. */
function parseCsv(text: string): string[][] {
  const s = text.replace(/^\uFEFF/, '');
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\r' && s[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; } else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}
