import { createHmac } from 'node:crypto';

export type IdentityKind = 'email' | 'phone' | 'fingerprint' | 'account';

/** Normalises then keys a donor identity, so raw contacts never enter risk tables. */
export function identityHash(secret: string, kind: IdentityKind, value: string): string {
  const normal = kind === 'email' ? value.trim().toLowerCase() : kind === 'phone' ? value.replace(/\D/g, '').replace(/^86(?=1\d{10}$)/, '') : value.trim();
  return `${kind}:${createHmac('sha256', secret).update(`${kind}:${normal}`).digest('hex').slice(0, 40)}`;
}

/** Every identity a donation carries (M-10): its account, hashed email and phone, and a payment fingerprint when known. */
export function donationIdentities(secret: string, d: { account?: number | null; email?: string | null; phone?: string | null; fingerprint?: string | null }): { identity: string; kind: IdentityKind }[] {
  const out: { identity: string; kind: IdentityKind }[] = [];
  if (d.account) out.push({ identity: identityHash(secret, 'account', String(d.account)), kind: 'account' });
  if (d.email) out.push({ identity: identityHash(secret, 'email', d.email), kind: 'email' });
  if (d.phone) out.push({ identity: identityHash(secret, 'phone', d.phone), kind: 'phone' });
  if (d.fingerprint) out.push({ identity: identityHash(secret, 'fingerprint', d.fingerprint), kind: 'fingerprint' });
  return out;
}
