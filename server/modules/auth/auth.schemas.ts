import { z } from 'zod';
import { idParam, plainText } from '../../http/schemas.js';
import { PUBLISHED_DEMO_PASSWORD } from './demo-secrets.js';
import { PASSWORD_MIN } from './passwords.js';
import { ROLES } from './roles.js';

const email = z.string().trim().toLowerCase().pipe(z.email({ error: 'validation.email' }).max(254));
/** A password a user may set: long enough, and never the demo's published one. */
const password = z.string().min(PASSWORD_MIN, { error: 'validation.password_short' }).max(200)
  .refine((p) => p !== PUBLISHED_DEMO_PASSWORD, { error: 'validation.password_published' });
const formId = z.preprocess((v) => (v === '' || v === undefined ? undefined : v), idParam().optional());

export const LoginForm = z.object({ email, password: z.string().min(1).max(200), next: z.string().max(500).optional() });
export const TotpForm = z.object({ code: z.string().trim().regex(/^\d{6}$/, { error: 'validation.totp' }), next: z.string().max(500).optional() });
export const PasswordForm = z
  .object({ password, confirm: z.string().max(200) })
  .refine((f) => f.password === f.confirm, { path: ['confirm'], error: 'validation.password_mismatch' });
export const RegisterForm = z
  .object({ email, display_name: plainText(40).pipe(z.string().min(1)), password, confirm: z.string().max(200) })
  .refine((f) => f.password === f.confirm, { path: ['confirm'], error: 'validation.password_mismatch' });
export const InviteForm = z.object({
  email,
  display_name: plainText(40).pipe(z.string().min(1)),
  role: z.enum(ROLES.filter((r) => r !== 'resident') as [string, ...string[]]),
  street_id: formId,
  organisation_id: formId,
  sponsor_id: formId,
});
export const UserUpdateForm = z.object({
  role: z.enum(ROLES as unknown as [string, ...string[]]).optional(),
  street_id: formId,
  organisation_id: formId,
  sponsor_id: formId,
  disabled: z.enum(['true', 'false']).optional(),
});
export const TokenForm = z.object({ label: plainText(60).pipe(z.string().min(1)) });

/** A safe place to return to after sign-in: a local path only (no open redirect). */
export function safeNext(next: string | undefined, fallback: string): string {
  return next && /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : fallback;
}
