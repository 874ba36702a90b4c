import type { RequestHandler } from 'express';
import { ForbiddenError, UnauthorizedError } from '../../lib/errors.js';
import { MFA_ROLES, mayAttempt, principalOf, type Action, type AuthService } from '../../modules/auth/index.js';
import { heldBodyProblem } from './json-body.js';

/**
 * Reads `Authorization: Bearer <token>` and sets `req.principal`, or answers 401.
 * What the principal may do is asked of the policy module by each route.
 */
export function requireToken(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const m = /^Bearer\s+(\S{16,512})$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new UnauthorizedError('errors.token_missing');
    const principal = await auth.authenticate(m[1]);
    if (!principal) throw new UnauthorizedError('errors.token_invalid');
    req.principal = principal;
    next();
  };
}

/**
 * After `requireToken`: the coarse check, before any input is read. The caller's
 * role must be able to do one of `actions` at all (on its own street, sponsor or organisation),
 * else 403. Only then is a held-back body problem (not JSON, NUL, lone surrogate) answered, as a
 * 400. Checks that need the body or the row (which street?) stay in the service, after validation.
 */
export function permit(...actions: Action[]): RequestHandler {
  return (req, _res, next) => {
    if (!actions.some((a) => mayAttempt(req.principal, a))) throw new ForbiddenError();
    next(heldBodyProblem(req));
  };
}

/** Like `requireToken`, but a request without an Authorization header passes as anonymous. */
export function optionalToken(auth: AuthService): RequestHandler {
  const strict = requireToken(auth);
  return (req, res, next) => (req.headers.authorization ? strict(req, res, next) : next());
}

/**
 * For pages: the signed-in user from the session. A user who owes a TOTP code (admin and
 * finance roles) has no principal yet; `req.mfaPending` says so. A disabled user is signed out.
 */
export function sessionPrincipal(auth: AuthService): RequestHandler {
  return async (req, res, next) => {
    const userId = req.session?.userId;
    if (userId) {
      const user = await auth.findUser(userId);
      if (!user || user.disabled_at) {
        delete req.session.userId;
        delete req.session.mfa;
      } else if (MFA_ROLES.includes(user.role) && !req.session.mfa) {
        req.mfaPending = true;
      } else {
        req.principal = principalOf(user);
      }
    }
    res.locals.me = req.principal ?? null;
    next();
  };
}

/** Pages for staff: anonymous visitors go to sign in; a user owing TOTP goes to the code page. */
export const requireStaff: RequestHandler = (req, res, next) => {
  if (req.mfaPending) return res.redirect(303, '/login/totp');
  if (!req.principal) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  if (req.principal.role === 'resident') throw new ForbiddenError();
  next();
};

/** Pages for any signed-in user (residents included). */
export const requireUser: RequestHandler = (req, res, next) => {
  if (req.mfaPending) return res.redirect(303, '/login/totp');
  if (!req.principal) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  next();
};
