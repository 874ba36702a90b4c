import type { Principal, Role } from './roles.js';

/** Every action a route may ask about. */
export type Action =
  | 'dashboard.read'
  | 'campaign.read_draft'
  | 'campaign.create'
  | 'campaign.edit'
  | 'campaign.submit'
  | 'campaign.publish'
  | 'campaign.close'
  | 'campaign.link_party'
  | 'geo.manage'
  | 'fund.read'
  | 'fund.manage'
  | 'grant.manage'
  | 'grant.read_draft'
  | 'grant.read_usage'
  | 'donation.search'
  | 'donation.contact_read'
  | 'donation.refund'
  | 'ledger.read'
  | 'ledger.adjust'
  | 'approval.read'
  | 'approval.decide'
  | 'risk.read'
  | 'risk.decide'
  | 'organisation.manage'
  | 'user.read'
  | 'user.manage'
  | 'audit.read'
  | 'queues.admin'
  | 'token.manage_own'
  | 'reconciliation.read'
  | 'reconciliation.run'
  | 'reconciliation.resolve'
  | 'pool.read'
  | 'pool.manage'
  | 'pledge.manage'
  | 'period.close'
  | 'call.manage'
  | 'call.read_draft'
  | 'application.submit'
  | 'review.score'
  | 'organisation.verify'
  | 'objection.reply'
  | 'contract.manage'
  | 'project.report';

/** The object an action touches, where ownership matters. */
export interface Subject {
  streetId?: number | null;
  sponsorId?: number | null;
  /** The social organisation an application or project belongs to. */
  organisationId?: number | null;
  /** For approvals: what kind of thing is approved. */
  kind?: string;
}

const ADMIN: Role[] = ['association_admin'];
const MONEY: Role[] = ['association_admin', 'association_finance'];
const READERS: Role[] = ['association_admin', 'association_finance', 'auditor'];
const STAFF: Role[] = ['association_admin', 'association_finance', 'street_officer', 'social_org', 'reviewer', 'auditor', 'sponsor'];

/** Roles allowed regardless of the subject. */
const BY_ROLE: Record<Action, Role[]> = {
  'dashboard.read': STAFF,
  'campaign.read_draft': READERS,
  'campaign.create': ADMIN,
  'campaign.edit': ADMIN,
  'campaign.submit': ADMIN,
  'campaign.publish': ADMIN,
  'campaign.close': ADMIN,
  'campaign.link_party': ADMIN,
  'geo.manage': ADMIN,
  'fund.read': READERS,
  'fund.manage': ADMIN,
  'grant.manage': ADMIN,
  'grant.read_draft': READERS,
  'grant.read_usage': READERS,
  'donation.search': READERS,
  'donation.contact_read': MONEY,
  'donation.refund': MONEY,
  'ledger.read': READERS,
  'ledger.adjust': MONEY,
  'approval.read': READERS,
  'approval.decide': MONEY,
  'risk.read': READERS,
  'risk.decide': MONEY,
  'organisation.manage': ADMIN,
  'user.read': ['association_admin', 'auditor'],
  'user.manage': ADMIN,
  'audit.read': READERS,
  'queues.admin': ADMIN,
  'token.manage_own': STAFF,
  'reconciliation.read': READERS,
  'reconciliation.run': MONEY,
  'reconciliation.resolve': MONEY,
  'pool.read': READERS,
  'pool.manage': MONEY,
  'pledge.manage': MONEY,
  'period.close': MONEY,
  'call.manage': ADMIN,
  'call.read_draft': READERS,
  'application.submit': ADMIN,
  'review.score': ['association_admin', 'reviewer'],
  'organisation.verify': ADMIN,
  'objection.reply': ADMIN,
  'contract.manage': ADMIN,
  'project.report': ADMIN,
};

/** Actions a street officer may take on its own street's objects. */
const OWN_STREET: Action[] = [
  'campaign.read_draft', 'campaign.create', 'campaign.edit', 'campaign.submit', 'campaign.close', 'campaign.link_party', 'fund.read', 'donation.search', 'pool.read',
  'call.manage', 'call.read_draft', 'objection.reply', 'contract.manage',
];

/** Actions a social organisation's member may take for its own organisation. */
const OWN_ORGANISATION: Action[] = ['application.submit', 'project.report'];

/** Actions a sponsor may take on its own grants. */
const OWN_SPONSOR: Action[] = ['grant.read_draft', 'grant.read_usage'];

/**
 * The single answer to "can this principal do this action on this subject". Street officers act
 * only within their own street, sponsors only on their own grants, social organisations only for
 * themselves, auditors only read, and only
 * an admin approves a grant activation. Four-eyes (the requester never approves) is enforced by
 * the approvals service and a database CHECK as well.
 */
export function can(p: Principal | undefined, action: Action, subject: Subject = {}): boolean {
  if (!p) return false;
  if (action === 'approval.decide' && subject.kind === 'grant_activation') return p.role === 'association_admin';
  if (BY_ROLE[action].includes(p.role)) return true;
  if (p.role === 'street_officer' && OWN_STREET.includes(action)) return subject.streetId != null && subject.streetId === p.streetId;
  if (p.role === 'sponsor' && OWN_SPONSOR.includes(action)) return subject.sponsorId != null && subject.sponsorId === p.sponsorId;
  if (p.role === 'social_org' && OWN_ORGANISATION.includes(action)) return subject.organisationId != null && subject.organisationId === p.organisationId;
  return false;
}

/**
 * The coarse check a route makes before it reads any input: could this principal do `action` at
 * all, on something of its own (its street, sponsor, organisation)? A street officer may create
 * campaigns (in its street), so it passes here and the fine check with the real subject comes
 * after validation; a sponsor never may, so it gets its 403 before its body is looked at.
 */
export function mayAttempt(p: Principal | undefined, action: Action): boolean {
  if (!p) return false;
  return can(p, action, { streetId: p.streetId, sponsorId: p.sponsorId, organisationId: p.organisationId });
}
