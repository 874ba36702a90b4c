/** Staff roles (DESIGN §8), plus `resident` for people who want to see their own giving. */
export const ROLES = ['association_admin', 'association_finance', 'street_officer', 'social_org', 'reviewer', 'auditor', 'sponsor', 'resident'] as const;
export type Role = (typeof ROLES)[number];
export const STAFF_ROLES = ROLES.filter((r) => r !== 'resident');

/** Roles that must pass a TOTP second factor before they may act. */
export const MFA_ROLES: readonly Role[] = ['association_admin', 'association_finance'];

/** Who is calling: a signed-in user, or the holder of one of a user's API tokens. */
export interface Principal {
  userId: number | null;
  /** Set when the request carried an API token. */
  tokenId: number | null;
  role: Role;
  /** Street officers: the one street they may act on. */
  streetId: number | null;
  /** Social organisation members: their organisation. */
  organisationId: number | null;
  /** Sponsors: their sponsor. */
  sponsorId: number | null;
  /** For the audit log. */
  name: string;
}

/** The association itself, acting through seeds and maintenance jobs (never through a request). */
export const SYSTEM_PRINCIPAL: Principal = { userId: null, tokenId: null, role: 'association_admin', streetId: null, organisationId: null, sponsorId: null, name: 'system' };
