import { randomBytes } from 'node:crypto';
import type { Container } from '../../server/container.js';
import { can, SYSTEM_PRINCIPAL, totp, type Action, type Principal, type Role, type Subject } from '../../server/modules/auth/index.js';
import {
  Browser, deadlockCheck, events, failedInvariants, makeCampaign, makeGrant, makeStreet, makeToken, makeUser, printFigures, SEED, Stack, statuses, Verdict, waitUntil,
} from './kit.js';

/**
 * R7: the role × street × action matrix, with the expected answer of every cell computed by the
 * service's own policy function (`can` in server/modules/auth/policies.ts) and the real answer
 * taken from the web process over HTTP: Bearer tokens on the API, signed-in sessions on the
 * console. A leak is a cell the policy refuses that answered 2xx, changed a row, or showed data
 * (a donor's contact details, another street's donations). A refusal is a cell the policy allows
 * that did not answer as it should. Then self-approval is tried at every layer (API, console
 * form, service, database) for each kind of four-eyes request, and must be refused at each.
 */

const uniq = () => randomBytes(3).toString('hex');
const DAY = 86_400_000;
const PASSWORD = 'fault-suite-correct-horse';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
type Where = 'own' | 'other';
type Caller = Role | 'anonymous';
const API_CALLERS: Caller[] = ['anonymous', 'association_admin', 'association_finance', 'street_officer', 'social_org', 'reviewer', 'auditor', 'sponsor'];
const CONSOLE_CALLERS: Caller[] = [...API_CALLERS, 'resident'];

interface World {
  c: Container;
  street: Record<Where, { streetId: number; fundId: number }>;
  live: Record<Where, { id: number; slug: string }>;
  grant: Record<Where, { id: number; sponsorId: number }>;
  organisationId: number;
  requesters: { finance: { token: string; userId: number }; admin: { token: string; userId: number } };
  /** Paid donations per street, taken one per cell. */
  paid: Record<Where, string[]>;
  contact: Record<Where, { id: string; email: string; phone: string }>;
  periods: number;
}

interface Call {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: unknown;
  /** Whether the write took effect. */
  done?: () => Promise<boolean>;
  /** Text that must not be in the answer unless `may` (e.g. donor contact details). */
  secret?: { text: string[]; may: boolean };
}

interface Endpoint {
  name: string;
  /** The policy action; none for a public endpoint (everyone is allowed; its `secret` still applies). */
  action?: Action;
  /** Whether the subject (street or sponsor) varies: then each caller is tried on its own and on another. */
  scoped?: 'street' | 'sponsor';
  /** The subject passed to the policy. */
  subject?: (w: World, where: Where) => Subject;
  call: (w: World, where: Where, caller: Caller) => Promise<Call>;
  ok: number[];
  /** What a refused caller may get (401 without a token, 403; 404 where a draft's existence is hidden). */
  refused?: number[];
}

const statusOf = async (w: World, slug: string) => (await w.c.db('campaigns').where({ slug }).first('status'))?.status as string;

function principalOf(role: Role, w: World): Principal {
  return {
    userId: 1_000_000, tokenId: null, role, name: role,
    streetId: role === 'street_officer' ? w.street.own.streetId : null,
    sponsorId: role === 'sponsor' ? w.grant.own.sponsorId : null,
    organisationId: role === 'social_org' ? w.organisationId : null,
  };
}

const API: Endpoint[] = [
  { name: 'GET /api/ledger/trial-balance', action: 'ledger.read', ok: [200], call: async () => ({ method: 'GET', path: '/api/ledger/trial-balance' }) },
  { name: 'GET /api/ledger/periods', action: 'ledger.read', ok: [200], call: async () => ({ method: 'GET', path: '/api/ledger/periods' }) },
  { name: 'GET /api/finance/management-costs', action: 'ledger.read', ok: [200], call: async () => ({ method: 'GET', path: '/api/finance/management-costs?year=2026' }) },
  { name: 'GET /api/grants/:id/pledge', action: 'ledger.read', ok: [200], call: async (w) => ({ method: 'GET', path: `/api/grants/${w.grant.own.id}/pledge` }) },
  { name: 'GET /api/approvals', action: 'approval.read', ok: [200], call: async () => ({ method: 'GET', path: '/api/approvals' }) },
  { name: 'GET /api/risk/holds', action: 'risk.read', ok: [200], call: async () => ({ method: 'GET', path: '/api/risk/holds' }) },
  { name: 'GET /api/reconciliation/payouts', action: 'reconciliation.read', ok: [200], call: async () => ({ method: 'GET', path: '/api/reconciliation/payouts' }) },
  { name: 'GET /api/reconciliation/exceptions', action: 'reconciliation.read', ok: [200], call: async () => ({ method: 'GET', path: '/api/reconciliation/exceptions' }) },
  {
    name: 'GET /api/funds/:id', action: 'fund.read', scoped: 'street', ok: [200],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => ({ method: 'GET', path: `/api/funds/${w.street[where].fundId}` }),
  },
  {
    name: 'GET /api/funds/:id/statement', action: 'fund.read', scoped: 'street', ok: [200],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => ({ method: 'GET', path: `/api/funds/${w.street[where].fundId}/statement?from=2026-01-01&to=2027-12-31` }),
  },
  {
    name: 'GET /api/campaigns/:slug (a draft)', action: 'campaign.read_draft', scoped: 'street', ok: [200], refused: [404],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => ({ method: 'GET', path: `/api/campaigns/${(await makeCampaign(w.c, w.street[where].streetId, { status: 'draft' })).slug}` }),
  },
  {
    // A draft grant is shown to admin, finance and auditor, and to its own sponsor.
    name: 'GET /api/grants/:id (a draft)', action: 'grant.read_draft', scoped: 'sponsor', ok: [200], refused: [404],
    subject: (w, where) => ({ sponsorId: w.grant[where].sponsorId }),
    call: async (w, where) => {
      const sponsor = (await w.c.db('sponsors').where({ id: w.grant[where].sponsorId }).first('name')).name as string;
      const g = await makeGrant(w.c, { budget: 10_000, activate: false, sponsor });
      return { method: 'GET', path: `/api/grants/${g.id}` };
    },
  },
  {
    // Public ("anyone holding the id"), and it shows no contact details to anyone: those are for the console's money roles.
    name: 'GET /api/donations/:id (no contact details)', scoped: 'street', ok: [200],
    call: async (w, where) => ({ method: 'GET', path: `/api/donations/${w.contact[where].id}`, secret: { text: [w.contact[where].email, w.contact[where].phone], may: false } }),
  },
  {
    name: 'POST /api/campaigns', action: 'campaign.create', scoped: 'street', ok: [201],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => {
      const slug = `r7-${uniq()}`;
      return {
        method: 'POST', path: '/api/campaigns',
        body: { slug, title: '权限矩阵项目', story: '', goal: 100_000, street: w.street[where].streetId, status: 'draft', starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString() },
        done: async () => Boolean(await w.c.db('campaigns').where({ slug }).first()),
      };
    },
  },
  {
    name: 'PATCH /api/campaigns/:slug', action: 'campaign.edit', scoped: 'street', ok: [200],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => {
      const c = await makeCampaign(w.c, w.street[where].streetId, { status: 'draft' });
      const title = `改过的标题 ${uniq()}`;
      return { method: 'PATCH', path: `/api/campaigns/${c.slug}`, body: { title }, done: async () => (await w.c.db('campaigns').where({ slug: c.slug }).first('title')).title === title };
    },
  },
  {
    name: 'POST /api/campaigns/:slug/transition {to: review}', action: 'campaign.submit', scoped: 'street', ok: [200],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => {
      const c = await makeCampaign(w.c, w.street[where].streetId, { status: 'draft' });
      return { method: 'POST', path: `/api/campaigns/${c.slug}/transition`, body: { to: 'review' }, done: async () => (await statusOf(w, c.slug)) === 'review' };
    },
  },
  {
    name: 'POST /api/campaigns/:slug/transition {to: live}', action: 'campaign.publish', scoped: 'street', ok: [200],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => {
      const c = await makeCampaign(w.c, w.street[where].streetId, { status: 'draft' });
      await w.c.campaigns.transition(SYSTEM_PRINCIPAL, c.slug, 'review');
      return { method: 'POST', path: `/api/campaigns/${c.slug}/transition`, body: { to: 'live' }, done: async () => (await statusOf(w, c.slug)) === 'live' };
    },
  },
  {
    name: 'POST /api/campaigns/:slug/linked-parties', action: 'campaign.link_party', scoped: 'street', ok: [201],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => {
      const c = await makeCampaign(w.c, w.street[where].streetId);
      return { method: 'POST', path: `/api/campaigns/${c.slug}/linked-parties`, body: { role: 'beneficiary', email: `beneficiary-${uniq()}@faults.test` }, done: async () => Boolean(await w.c.db('campaign_linked_identities').where({ campaign_id: c.id }).first()) };
    },
  },
  {
    name: 'POST /api/grants', action: 'grant.manage', ok: [201],
    call: async (w) => {
      const name = `权限赞助方-${uniq()}`;
      return {
        method: 'POST', path: '/api/grants',
        body: { sponsor: { name, kind: 'foundation' }, budget: 100_000, currency: 'CNY', scope: { all: true }, starts_at: new Date(Date.now() - DAY).toISOString(), ends_at: new Date(Date.now() + 30 * DAY).toISOString(), rules: {} },
        done: async () => Boolean(await w.c.db('sponsors').where({ name }).first()),
      };
    },
  },
  {
    name: 'POST /api/grants/:id/top-up', action: 'grant.manage', ok: [200],
    call: async (w) => {
      const g = await makeGrant(w.c, { budget: 10_000, campaigns: [w.live.other.slug] });
      return { method: 'POST', path: `/api/grants/${g.id}/top-up`, body: { amount: 100 }, done: async () => Number((await w.c.db('grants').where({ id: g.id }).first('budget_minor')).budget_minor) !== 10_000 };
    },
  },
  {
    name: 'POST /api/grants/:id/activate (asking)', action: 'grant.manage', ok: [202],
    call: async (w) => {
      const g = await makeGrant(w.c, { budget: 10_000, activate: false });
      return { method: 'POST', path: `/api/grants/${g.id}/activate`, done: async () => Boolean(await w.c.db('approvals').where({ kind: 'grant_activation', subject_id: String(g.id) }).first()) };
    },
  },
  {
    name: 'POST /api/organisations', action: 'organisation.manage', ok: [201],
    call: async (w) => {
      const name = `权限社会组织-${uniq()}`;
      return { method: 'POST', path: '/api/organisations', body: { name }, done: async () => Boolean(await w.c.db('organisations').where({ name }).first()) };
    },
  },
  {
    name: 'POST /api/donations/:id/refunds', action: 'donation.refund', scoped: 'street', ok: [202],
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
    call: async (w, where) => {
      const id = w.paid[where].pop()!;
      return { method: 'POST', path: `/api/donations/${id}/refunds`, body: {}, done: async () => Boolean(await w.c.db('approvals').where({ kind: 'refund', subject_id: id }).first()) };
    },
  },
  {
    name: 'POST /api/ledger/adjustments', action: 'ledger.adjust', ok: [202],
    call: async (w) => {
      const memo = `权限矩阵调整 ${uniq()}`;
      return {
        method: 'POST', path: '/api/ledger/adjustments',
        body: { debit: `campaign:${w.live.own.id}:donations:CNY`, credit: 'processor:sandbox:clearing:CNY', amount: 1, memo },
        done: async () => Boolean(await w.c.db('approvals').where({ kind: 'adjustment' }).whereRaw(`payload->>'memo' = ?`, [memo]).first()),
      };
    },
  },
  {
    name: 'POST /api/approvals/:id/reject (a refund asked by another)', action: 'approval.decide', ok: [200],
    subject: () => ({ kind: 'refund' }),
    call: async (w) => {
      const id = w.paid.other.pop()!;
      const asked = await w.c.approvals.request(await principal(w, w.requesters.finance.userId), 'refund', 'donation', id, { amount: 100, idempotency_key: `r7-${uniq()}` });
      return { method: 'POST', path: `/api/approvals/${asked.id}/reject`, body: {}, done: async () => (await w.c.db('approvals').where({ id: asked.id }).first('status')).status !== 'pending' };
    },
  },
  {
    name: 'POST /api/approvals/:id/approve (a grant activation asked by another admin)', action: 'approval.decide', ok: [200],
    subject: () => ({ kind: 'grant_activation' }),
    call: async (w) => {
      const g = await makeGrant(w.c, { budget: 10_000, activate: false });
      const asked = await w.c.approvals.request(await principal(w, w.requesters.admin.userId), 'grant_activation', 'grant', g.id, {});
      return { method: 'POST', path: `/api/approvals/${asked.id}/approve`, body: {}, done: async () => (await w.c.db('grants').where({ id: g.id }).first('status')).status === 'active' };
    },
  },
  {
    name: 'POST /api/pools/:street/government', action: 'pool.manage', ok: [201],
    call: async (w) => {
      const reference = `gov-${uniq()}`;
      return { method: 'POST', path: `/api/pools/${w.street.own.streetId}/government`, body: { amount: 1000, reference, received_on: '2026-12-01' }, done: async () => Boolean(await w.c.db('government_allocations').where({ reference }).first()) };
    },
  },
  { name: 'POST /api/reconciliation/run', action: 'reconciliation.run', ok: [202], call: async () => ({ method: 'POST', path: '/api/reconciliation/run', body: {} }) },
  {
    name: 'POST /api/ledger/periods (close a month)', action: 'period.close', ok: [201],
    call: async (w) => {
      const n = w.periods++;
      const period = `${2001 + Math.floor(n / 12)}-${String((n % 12) + 1).padStart(2, '0')}`;
      return { method: 'POST', path: '/api/ledger/periods', body: { period }, done: async () => Boolean(await w.c.db('ledger_periods').where({ period }).first()) };
    },
  },
];

interface ConsolePage {
  name: string;
  action: Action;
  scoped?: 'street' | 'sponsor';
  subject?: (w: World, where: Where) => Subject;
  path: (w: World, where: Where) => string;
  /** Text a refused or unentitled caller must not see. */
  secrets?: (w: World, where: Where, p: Principal | undefined) => { text: string; may: boolean }[];
}

const CONSOLE: ConsolePage[] = [
  { name: 'GET /console', action: 'dashboard.read', path: () => '/console' },
  { name: 'GET /console/approvals', action: 'approval.read', path: () => '/console/approvals' },
  { name: 'GET /console/risk', action: 'risk.read', path: () => '/console/risk' },
  { name: 'GET /console/ledger', action: 'ledger.read', path: () => '/console/ledger' },
  { name: 'GET /console/users', action: 'user.read', path: () => '/console/users' },
  { name: 'GET /console/audit', action: 'audit.read', path: () => '/console/audit' },
  {
    name: 'GET /console/donations', action: 'donation.search', path: () => '/console/donations',
    subject: (w) => ({ streetId: w.street.own.streetId }),
    secrets: (w, _where, p) => [
      { text: w.contact.own.email, may: can(p, 'donation.contact_read') },
      { text: w.contact.other.email, may: can(p, 'donation.contact_read') && p?.role !== 'street_officer' },
      { text: w.contact.other.id, may: can(p, 'donation.search') && p?.role !== 'street_officer' },
    ],
  },
  {
    name: 'GET /console/grants/:id', action: 'grant.read_usage', scoped: 'sponsor', path: (w, where) => `/console/grants/${w.grant[where].id}`,
    subject: (w, where) => ({ sponsorId: w.grant[where].sponsorId }),
  },
  {
    name: 'GET /console/funds/:id', action: 'fund.read', scoped: 'street', path: (w, where) => `/console/funds/${w.street[where].fundId}`,
    subject: (w, where) => ({ streetId: w.street[where].streetId }),
  },
];

async function principal(w: World, userId: number): Promise<Principal> {
  const u = await w.c.auth.findUser(userId);
  return { userId, tokenId: null, role: u!.role, streetId: u!.street_id, sponsorId: u!.sponsor_id, organisationId: u!.organisation_id, name: `${u!.display_name} <${u!.email}>` };
}

describe('R7 · the role × street × action matrix from the policies', function () {
  let stack: Stack;
  after(async () => stack?.destroy());

  it('has 0 leaks, and self-approval is refused at every layer', async function () {
    const v = new Verdict();
    stack = await Stack.create({ name: 'r7' });
    const c = await stack.container();
    const street = { own: await makeStreet(c, '本街道'), other: await makeStreet(c, '别的街道') };
    const live = { own: await makeCampaign(c, street.own.streetId), other: await makeCampaign(c, street.other.streetId) };
    const grant = {
      own: await makeGrant(c, { budget: 1_000_000, campaigns: [live.own.slug], sponsor: `本赞助方-${uniq()}` }),
      other: await makeGrant(c, { budget: 1_000_000, campaigns: [live.other.slug], sponsor: `别的赞助方-${uniq()}` }),
    };
    const organisationId = (await c.db('organisations').insert({ name: `本社会组织-${uniq()}` }).returning('id'))[0].id as number;
    const bind = { streetId: street.own.streetId, sponsorId: grant.own.sponsorId, organisationId };
    const tokens: Partial<Record<Caller, string>> = {};
    for (const role of API_CALLERS) if (role !== 'anonymous') tokens[role] = (await makeToken(c, role as Role, bind)).token;
    const requesters = { finance: await makeToken(c, 'association_finance'), admin: await makeToken(c, 'association_admin') };
    const bootSeconds = await stack.start();

    // Paid donations in each street (for refund requests), and one with contact details each.
    const w: World = { c, street, live, grant, organisationId, requesters, paid: { own: [], other: [] }, contact: {} as World['contact'], periods: 0 };
    for (const where of ['own', 'other'] as Where[]) {
      const made = [];
      for (let i = 0; i < 24; i++) made.push((await stack.give(live[where].slug, 1000 + i, {}))!);
      const email = `contact-${where}-${uniq()}@faults.test`;
      const phone = `+86 138 ${where === 'own' ? '0000' : '1111'} ${Math.floor(1000 + Math.random() * 8999)}`;
      const withContact = (await stack.give(live[where].slug, 2000, { name: '有联系方式的捐赠人', email, phone, anonymous: false }))!;
      const charges = await stack.chargeIds([...made, withContact].map((g) => g.id));
      for (const g of [...made, withContact]) await stack.deliver(events.succeeded({ id: g.id, amount: g.amount, paymentRef: g.paymentRef, chargeId: charges.get(g.id)!, slug: live[where].slug }));
      w.paid[where] = made.map((g) => g.id);
      w.contact[where] = { id: withContact.id, email, phone };
    }
    await stack.settle('fixture donations paid', 60_000);

    // ---------------------------------------------------------------- the API matrix
    const leaks: string[] = [];
    const refusals: string[] = [];
    let cells = 0;
    for (const e of API) {
      const wheres: Where[] = e.scoped ? ['own', 'other'] : ['own'];
      for (const caller of API_CALLERS) {
        for (const where of wheres) {
          cells++;
          const call = await e.call(w, where, caller);
          const p = caller === 'anonymous' ? undefined : principalOf(caller, w);
          const allowed = e.action === undefined || can(p, e.action, e.subject?.(w, where) ?? {});
          const res = await stack.http.request(call.method, call.path, { json: call.method === 'GET' ? undefined : (call.body ?? {}), token: tokens[caller], label: `matrix ${e.name}` });
          const cell = `${e.name} × ${caller}${e.scoped ? ` (${where} ${e.scoped})` : ''}`;
          const took = call.done ? await call.done() : undefined;
          const shown = (call.secret?.text ?? []).filter((t) => !call.secret!.may && res.text.includes(t));
          if (shown.length) leaks.push(`${cell}: answer shows ${shown.join(', ')}`);
          if (!allowed) {
            const fine = e.refused ?? (caller === 'anonymous' ? [401] : [403]);
            if ((res.status >= 200 && res.status < 300 && !e.refused?.includes(res.status)) || took === true) leaks.push(`${cell}: policy refuses, got ${res.status}${took ? ' and the write took effect' : ''}`);
            else if (!fine.includes(res.status) && !(caller === 'anonymous' && res.status === 401)) refusals.push(`${cell}: refused with ${res.status}, expected ${fine.join('/')}`);
          } else if (!e.ok.includes(res.status) || took === false) {
            refusals.push(`${cell}: policy allows, got ${res.status}${took === false ? ' (no effect)' : ''} ${res.text.slice(0, 160)}`);
          }
        }
      }
    }

    // ---------------------------------------------------------------- the console matrix (signed-in sessions)
    const browsers: Partial<Record<Caller, Browser>> = {};
    for (const role of CONSOLE_CALLERS) {
      if (role === 'anonymous') {
        browsers[role] = new Browser(stack);
        continue;
      }
      const mfa = role === 'association_admin' || role === 'association_finance';
      const user = await makeUser(c, role as Role, { ...bind, password: PASSWORD, totpSecret: mfa ? TOTP_SECRET : undefined });
      browsers[role] = await Browser.signIn(stack, user.email, PASSWORD, mfa ? () => totp.now(TOTP_SECRET) : undefined);
    }
    let consoleCells = 0;
    for (const page of CONSOLE) {
      const wheres: Where[] = page.scoped ? ['own', 'other'] : ['own'];
      for (const caller of CONSOLE_CALLERS) {
        for (const where of wheres) {
          consoleCells++;
          const p = caller === 'anonymous' ? undefined : principalOf(caller, w);
          const allowed = can(p, page.action, page.subject?.(w, where) ?? {});
          const res = await browsers[caller]!.get(page.path(w, where));
          const cell = `${page.name} × ${caller}${page.scoped ? ` (${where} ${page.scoped})` : ''}`;
          const shown = (page.secrets?.(w, where, p) ?? []).filter((s) => !s.may && res.text.includes(s.text)).map((s) => s.text);
          if (shown.length) leaks.push(`${cell}: page shows ${shown.join(', ')}`);
          if (!allowed) {
            const login = caller === 'anonymous' && res.status === 303 && /^\/login/.test(String(res.headers.location));
            if (res.status >= 200 && res.status < 300) leaks.push(`${cell}: policy refuses, got ${res.status}`);
            else if (!login && res.status !== 403 && res.status !== 404) refusals.push(`${cell}: refused with ${res.status}, expected ${caller === 'anonymous' ? '303 to /login' : '403 (or 404)'}`);
          } else if (res.status !== 200) {
            refusals.push(`${cell}: policy allows, got ${res.status}`);
          }
        }
      }
    }

    // ---------------------------------------------------------------- self-approval at every layer
    const selfRows: [string, unknown][] = [];
    const adminB = await makeUser(c, 'association_admin', { password: PASSWORD, totpSecret: TOTP_SECRET });
    const financeA = await makeUser(c, 'association_finance', { password: PASSWORD, totpSecret: TOTP_SECRET });
    const tokenOf = async (userId: number) => (await c.auth.issueToken({ userId, label: 'fault-self' })).token;
    const asker = { admin: { user: adminB, token: await tokenOf(adminB.id) }, finance: { user: financeA, token: await tokenOf(financeA.id) } };
    const askerBrowser = { admin: await Browser.signIn(stack, adminB.email, PASSWORD, () => totp.now(TOTP_SECRET)), finance: undefined as Browser | undefined };
    // A TOTP code is good once per user: the finance asker signs in once the admin's code window allows.
    askerBrowser.finance = await Browser.signIn(stack, financeA.email, PASSWORD, () => totp.now(TOTP_SECRET));

    let refundDonation = '';
    const kinds: { kind: string; who: 'admin' | 'finance'; ask: () => Promise<number> }[] = [
      {
        kind: 'refund', who: 'finance',
        ask: async () => {
          // Paid through the sandbox's checkout, so the approved refund really runs at the processor.
          const gift = (await stack.give(live.own.slug, 5000, {}))!;
          const paid = await stack.checkout(gift.id);
          await waitUntil(async () => (await c.db('donations').where({ id: gift.id }).first('status')).status === 'succeeded', `checkout of ${gift.id} (${paid})`, 30_000);
          refundDonation = gift.id;
          const id = gift.id;
          const res = await stack.http.request('POST', `/api/donations/${id}/refunds`, { json: { amount: 100 }, token: asker.finance.token });
          if (res.status !== 202) throw new Error(`refund not asked: ${res.status} ${res.text}`);
          return res.body.approval_id;
        },
      },
      {
        kind: 'adjustment', who: 'finance',
        ask: async () => {
          const res = await stack.http.request('POST', '/api/ledger/adjustments', { json: { debit: `campaign:${live.own.id}:donations:CNY`, credit: 'processor:sandbox:clearing:CNY', amount: 1, memo: `自我审批测试 ${uniq()}` }, token: asker.finance.token });
          if (res.status !== 202) throw new Error(`adjustment not asked: ${res.status} ${res.text}`);
          return res.body.approval_id;
        },
      },
      {
        kind: 'grant_activation', who: 'admin',
        ask: async () => {
          const g = await makeGrant(c, { budget: 10_000, activate: false });
          const res = await stack.http.request('POST', `/api/grants/${g.id}/activate`, { token: asker.admin.token });
          if (res.status !== 202) throw new Error(`activation not asked: ${res.status} ${res.text}`);
          // The same admin's second call must not activate it either.
          const again = await stack.http.request('POST', `/api/grants/${g.id}/activate`, { token: asker.admin.token });
          selfRows.push(['grant_activation: the asker calls activate again', `${again.status} ${again.body?.error?.code ?? ''}`]);
          v.check('grant activation: the asker calling activate again is refused and the grant stays a draft', again.status >= 400 && again.status < 500 && (await c.db('grants').where({ id: g.id }).first('status')).status === 'draft', { status: again.status });
          return res.body.approval_id;
        },
      },
    ];
    for (const k of kinds) {
      const id = await k.ask();
      const a = asker[k.who];
      const pending = async () => (await c.db('approvals').where({ id }).first('status', 'decided_by')).status === 'pending';
      // 1. The API.
      const api = await stack.http.request('POST', `/api/approvals/${id}/approve`, { json: {}, token: a.token });
      const apiOk = api.status === 403 && (await pending());
      // 2. The console form.
      const form = await askerBrowser[k.who]!.post(`/console/approvals/${id}/approve`, {}, '/console/approvals');
      const formOk = form.status < 500 && (await pending());
      // 3. The service.
      let service = 'allowed';
      try {
        await c.approvals.decide(await principal(w, a.user.id), id, 'approve');
      } catch (err) {
        service = `${(err as { status?: number }).status ?? ''} ${(err as Error).message}`;
      }
      const serviceOk = service !== 'allowed' && (await pending());
      // 4. The database.
      let database = 'allowed';
      try {
        await c.db.transaction(async (trx) => {
          await trx('approvals').where({ id }).update({ status: 'approved', decided_by: trx.ref('requested_by'), decided_at: trx.fn.now() });
        });
      } catch (err) {
        database = `${(err as { code?: string }).code ?? ''} ${(err as { constraint?: string }).constraint ?? (err as Error).message}`;
      }
      const databaseOk = database !== 'allowed' && (await pending());
      selfRows.push([`${k.kind}: self-approval`, `API ${api.status} ${api.body?.error?.code ?? ''}; console ${form.status} → ${form.headers.location ?? ''}; service ${service.trim()}; database ${database.trim()}`]);
      v.check(`${k.kind}: self-approval refused by the API (403), still pending`, apiOk, { status: api.status, body: api.text.slice(0, 200) });
      v.check(`${k.kind}: self-approval refused by the console form, still pending`, formOk, { status: form.status });
      v.check(`${k.kind}: self-approval refused by the approvals service, still pending`, serviceOk, service);
      v.check(`${k.kind}: self-approval refused by the database (approvals_four_eyes), still pending`, databaseOk, database);
      // A second person may approve it (the control).
      const second = k.who === 'admin' ? stack.adminToken : tokens.association_finance!;
      const ok = await stack.http.request('POST', `/api/approvals/${id}/approve`, { json: {}, token: second });
      const decided = (await c.db('approvals').where({ id }).first('status')).status;
      selfRows.push([`${k.kind}: a second person approves`, `${ok.status} → ${decided}`]);
      v.check(`${k.kind}: a second person's approval is accepted`, ok.status === 200 && decided !== 'pending', { status: ok.status, decided });
    }

    // The refund a second person approved ran at the sandbox, whose charge.refunded event the worker applied.
    const refunded = await waitUntil(async () => (await c.db('donations').where({ id: refundDonation }).first('refunded_minor')).refunded_minor === 100, 'the approved refund applied', 30_000).then(() => true, () => false);
    v.check('refund: once approved by a second person it runs, and its event is applied (¥1.00 refunded)', refunded);
    await waitUntil(async () => (await stack.backlog()).events === 0, 'events applied', 30_000).catch(() => undefined);
    const inv = await failedInvariants(stack.db);

    v.check(`0 leaks over ${cells} API cells and ${consoleCells} console cells`, leaks.length === 0, leaks.slice(0, 10).join(' | '));
    v.check('every cell the policy allows is allowed over HTTP, and refusals are 401/403 (404 where existence is hidden)', refusals.length === 0, refusals.slice(0, 10).join(' | '));
    v.check('no 5xx', stack.http.serverErrorCount === 0, stack.http.serverErrors.slice(0, 5));
    v.check('every ledger invariant holds', inv.failed.length === 0, inv.failed);
    await stack.stopProcesses();
    const dl = await deadlockCheck(stack, v);

    printFigures(`R7 figures (seed ${SEED})`, [
      ['processes', `web + worker started in ${bootSeconds.toFixed(1)} s`],
      ['API matrix', `${API.length} endpoints × ${API_CALLERS.length} callers × own/other where scoped = ${cells} cells`],
      ['console matrix', `${CONSOLE.length} pages × ${CONSOLE_CALLERS.length} callers × own/other where scoped = ${consoleCells} cells`],
      ['leaks', leaks.length],
      ['refusals where the policy allows', refusals.length],
      ...refusals.slice(0, 12).map((r, i): [string, unknown] => [`  refusal ${i + 1}`, r]),
      ...selfRows,
      ['HTTP', statuses(stack.http.totals())],
      ['ledger invariants', `${inv.total - inv.failed.length}/${inv.total} hold`],
      dl,
      ['elapsed', stack.elapsed()],
    ], v);
    v.assert();
  });
});
