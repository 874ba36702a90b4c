import type { RequestHandler } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import { AppError } from '../../lib/errors.js';
import { ensureVisitor, VISITOR_COOKIE } from './session.js';

/**
 * CSRF protection for every HTML form (double-submit cookie, HMAC-bound to the browser's visitor
 * id). Views put `csrf()` in a hidden `_csrf` field. The JSON API is exempt: it authenticates with
 * Bearer tokens, never cookies. The Stripe webhook is exempt: it is signed.
 */
export function csrf(deps: { secret: string; secure: boolean }): { protect: RequestHandler; expose: RequestHandler } {
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => deps.secret,
    getSessionIdentifier: (req) => req.cookies?.[VISITOR_COOKIE] ?? '',
    cookieName: 'shanhui.csrf',
    cookieOptions: { sameSite: 'lax', secure: deps.secure, httpOnly: true, path: '/' },
    // A file upload form (multipart, not parsed before this) carries its token in the action URL.
    getCsrfTokenFromRequest: (req) => (typeof req.body?._csrf === 'string' ? req.body._csrf
      : req.is('multipart/form-data') && typeof req.query._csrf === 'string' ? req.query._csrf : req.get('X-CSRF-Token')),
    skipCsrfProtection: (req) => req.path.startsWith('/api/') || req.path.startsWith('/webhooks/'),
  });
  return {
    protect: (req, res, next) =>
      doubleCsrfProtection(req, res, (err?: unknown) => next(err ? new AppError(403, 'csrf_invalid', 'errors.csrf_invalid') : undefined)),
    expose: (req, res, next) => {
      let token: string | undefined;
      res.locals.csrf = () => {
        ensureVisitor(req, res, deps.secure);
        return (token ??= generateCsrfToken(req, res));
      };
      next();
    },
  };
}
