import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import { regenerate } from '../../http/middleware/session.js';
import { OUTAGE_RETRY_AFTER_SECONDS, outageOf } from '../../http/outage.js';
import { requireStaff, requireUser } from '../../http/middleware/auth.js';
import { idOrZero } from '../../http/schemas.js';
import { issuesToFields } from '../../http/validation.js';
import { AppError } from '../../lib/errors.js';
import { auditContext, type Audit } from '../audit/index.js';
import { LoginForm, PasswordForm, RegisterForm, safeNext, TokenForm, TotpForm } from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import type { LoginLimiter } from './login-limiter.js';
import { principalOf } from './auth.service.js';
import { MFA_ROLES } from './roles.js';
import { totp } from './totp.js';
import type { UserRow } from './users.repo.js';

type Schema = z.ZodType;

/** Parses a form; on failure renders `view` with status 422, the values and field errors. */
function parseForm<S extends Schema>(req: Request, res: Response, schema: S, view: string, locals: Record<string, unknown> = {}): z.infer<S> | null {
  const r = schema.safeParse(req.body ?? {});
  if (r.success) return r.data;
  res.status(422).render(view, { ...locals, values: { ...req.body, password: '', confirm: '' }, errors: issuesToFields(r.error.issues, req.t) });
  return null;
}

/** "Try again in …", in seconds or minutes, with the Retry-After header. */
function lockedMessage(req: Request, res: Response, seconds: number): string {
  res.set('Retry-After', String(seconds));
  return seconds < 60 ? req.t('auth.wait_seconds', { seconds }) : req.t('auth.locked', { minutes: Math.ceil(seconds / 60) });
}

const homeOf = (u: UserRow) => (u.role === 'resident' ? '/me' : '/console');

/** Sign-in (password, then TOTP where required), sign-out, one-time links, resident sign-up, account. */
export function authPages(deps: { auth: AuthService; limiter: LoginLimiter; audit: Audit; recentDonations: (userId: number) => Promise<unknown[]> }): Router {
  const { auth, limiter } = deps;
  const r = Router();

  async function signIn(req: Request, user: UserRow, mfa: boolean): Promise<void> {
    await regenerate(req);
    req.session.userId = user.id;
    req.session.mfa = mfa;
    await auth.touchLogin(user.id);
    await deps.audit.record(auditContext(req, principalOf(user)), { action: 'auth.sign_in', subjectType: 'user', subjectId: user.id, after: { mfa } });
  }

  /** The login page saying plainly that sign-in is unavailable: Redis, which keeps sessions, is down. */
  const unavailable = (req: Request, res: Response, values: Record<string, unknown>) =>
    res.status(503).set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS)).render('auth/login', { title: req.t('auth.login'), values, errors: {}, unavailable: true });

  r.get('/login', async (req, res) => {
    const values = { next: req.query.next ?? '' };
    if (!(await limiter.available())) return unavailable(req, res, values);
    res.render('auth/login', { title: req.t('auth.login'), values, errors: {} });
  });

  r.post('/login', async (req, res) => {
    const form = parseForm(req, res, LoginForm, 'auth/login', { title: req.t('auth.login') });
    if (!form) return;
    const ip = req.ip ?? 'unknown';
    const wait = await limiter.retryAfter(form.email, ip).catch((err) => (outageOf(err) ? null : Promise.reject(err)));
    if (wait === null) return unavailable(req, res, { email: form.email, next: form.next });
    const again = (status: number, message: string) => res.status(status).render('auth/login', { title: req.t('auth.login'), values: { email: form.email, next: form.next }, errors: { form: message } });
    if (wait > 0) return again(429, lockedMessage(req, res, wait));
    const user = await auth.checkCredentials(form.email, form.password);
    if (!user) {
      await limiter.failed(form.email, ip);
      return again(401, req.t('auth.bad_credentials'));
    }
    await limiter.succeeded(form.email, ip);
    const next = safeNext(form.next, homeOf(user));
    if (MFA_ROLES.includes(user.role) || user.totp_enabled_at) {
      await regenerate(req);
      req.session.pendingUserId = user.id;
      return res.redirect(303, `/login/totp?next=${encodeURIComponent(next)}`);
    }
    await signIn(req, user, false);
    res.redirect(303, next);
  });

  /** The second factor: a code, or enrolment for a user whose role needs one and has none yet. */
  r.get('/login/totp', async (req, res) => {
    const user = req.session.pendingUserId ? await auth.findUser(req.session.pendingUserId) : undefined;
    if (!user) return res.redirect(303, '/login');
    const locals: Record<string, unknown> = { title: req.t('auth.totp_title'), values: { next: req.query.next ?? '' }, errors: {} };
    if (!user.totp_enabled_at) {
      req.session.enrolSecret ??= totp.newSecret();
      Object.assign(locals, { enrol: true, secret: req.session.enrolSecret, qr: await totp.qrSvg(totp.uri(req.session.enrolSecret, user.email)) });
    }
    res.render('auth/totp', locals);
  });

  r.post('/login/totp', async (req, res) => {
    const user = req.session.pendingUserId ? await auth.findUser(req.session.pendingUserId) : undefined;
    if (!user || user.disabled_at) return res.redirect(303, '/login');
    const secret = user.totp_enabled_at ? user.totp_secret! : req.session.enrolSecret;
    const parsed = TotpForm.safeParse(req.body ?? {});
    const ip = req.ip ?? 'unknown';
    const wait = await limiter.retryAfter(user.email, ip);
    if (wait > 0) return res.status(429).render('auth/totp', { title: req.t('auth.totp_title'), values: { next: req.body?.next }, errors: { code: lockedMessage(req, res, wait) } });
    if (!parsed.success || !secret || !totp.check(secret, parsed.data.code) || !(await limiter.firstUseOfCode(user.id, parsed.data.code))) {
      await limiter.failed(user.email, ip);
      const enrol = !user.totp_enabled_at && secret ? { enrol: true, secret, qr: await totp.qrSvg(totp.uri(secret, user.email)) } : {};
      return res.status(422).render('auth/totp', { title: req.t('auth.totp_title'), values: { next: req.body?.next }, errors: { code: req.t('validation.totp') }, ...enrol });
    }
    await limiter.succeeded(user.email, ip);
    if (!user.totp_enabled_at) await auth.enableTotp(user.id, secret);
    await signIn(req, user, true);
    res.redirect(303, safeNext(parsed.data.next, homeOf(user)));
  });

  r.post('/logout', async (req, res) => {
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    res.clearCookie('shanhui.sid');
    res.redirect(303, '/');
  });

  for (const kind of ['invite', 'reset'] as const) {
    r.get(`/${kind}/:token`, async (req, res) => {
      const link = await auth.linkInfo(String(req.params.token));
      res.status(link ? 200 : 410).render('auth/link', { title: req.t(`auth.${kind}_title`), link, kind, values: {}, errors: link ? {} : { form: req.t('validation.link_invalid') } });
    });
    r.post(`/${kind}/:token`, async (req, res) => {
      const link = await auth.linkInfo(String(req.params.token));
      const locals = { title: req.t(`auth.${kind}_title`), link, kind };
      if (!link) return res.status(410).render('auth/link', { ...locals, values: {}, errors: { form: req.t('validation.link_invalid') } });
      const form = parseForm(req, res, PasswordForm, 'auth/link', locals);
      if (!form) return;
      await auth.useLink(String(req.params.token), form.password);
      req.session.flash = [{ kind: 'ok', text: req.t('auth.password_set') }];
      res.redirect(303, '/login');
    });
  }

  r.get('/register', (req, res) => res.render('auth/register', { title: req.t('auth.register'), values: {}, errors: {} }));
  r.post('/register', async (req, res) => {
    const form = parseForm(req, res, RegisterForm, 'auth/register', { title: req.t('auth.register') });
    if (!form) return;
    try {
      const user = await auth.createUser({ email: form.email, displayName: form.display_name, password: form.password, role: 'resident' });
      await signIn(req, user, false);
      res.redirect(303, '/me');
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 409) throw err;
      res.status(409).render('auth/register', { title: req.t('auth.register'), values: { ...form, password: '', confirm: '' }, errors: { email: req.t('errors.email_taken') } });
    }
  });

  r.get('/me', requireUser, async (req, res) => {
    res.render('auth/me', { title: req.t('me.title'), donations: await deps.recentDonations(req.principal!.userId!) });
  });

  r.get('/account', requireStaff, async (req, res) => {
    const user = (await auth.findUser(req.principal!.userId!))!;
    res.render('auth/account', { title: req.t('account.title'), user, tokens: await auth.listTokens(user.id), values: {}, errors: {} });
  });

  r.post('/account/password', requireUser, async (req, res) => {
    const user = (await auth.findUser(req.principal!.userId!))!;
    const form = PasswordForm.safeParse(req.body ?? {});
    if (!form.success) {
      return res.status(422).render('auth/account', { title: req.t('account.title'), user, tokens: await auth.listTokens(user.id), values: {}, errors: issuesToFields(form.error.issues, req.t) });
    }
    await auth.setPassword(user.id, form.data.password);
    await deps.audit.record(auditContext(req), { action: 'account.password_changed', subjectType: 'user', subjectId: user.id, after: { changed: 'password' } });
    req.session.flash = [{ kind: 'ok', text: req.t('auth.password_set') }];
    res.redirect(303, '/account');
  });

  r.post('/account/tokens', requireStaff, async (req, res) => {
    const form = TokenForm.safeParse(req.body ?? {});
    if (!form.success) throw new AppError(422, 'validation_failed', 'errors.validation', { fields: issuesToFields(form.error.issues, req.t) });
    const issued = await auth.issueToken({ userId: req.principal!.userId!, label: form.data.label });
    await deps.audit.record(auditContext(req), { action: 'account.token_issued', subjectType: 'api_token', subjectId: issued.id, after: { label: form.data.label } });
    req.session.flash = [{ kind: 'ok', text: req.t('account.token_once'), secret: issued.token }];
    res.redirect(303, '/account');
  });

  r.post('/account/tokens/:id/revoke', requireStaff, async (req, res) => {
    const id = idOrZero(req.params.id);
    if (id && (await auth.revokeToken(req.principal!.userId!, id))) {
      await deps.audit.record(auditContext(req), { action: 'account.token_revoked', subjectType: 'api_token', subjectId: id, after: { revoked: true } });
    }
    res.redirect(303, '/account');
  });

  return r;
}
