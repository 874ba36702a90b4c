import { randomBytes } from 'node:crypto';
import RedisStore from 'connect-redis';
import cookieParser from 'cookie-parser';
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Redis } from 'ioredis';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in user. */
    userId?: number;
    /** True once the user passed the TOTP second factor in this session. */
    mfa?: boolean;
    /** A password-checked user still owing a TOTP code. */
    pendingUserId?: number;
    /** A TOTP secret shown for enrolment, until the user confirms a code. */
    enrolSecret?: string;
    /** One-time messages for the next page. */
    flash?: { kind: 'ok' | 'error'; text: string; secret?: string }[];
  }
}

/** The cookie naming a browser before it signs in (CSRF tokens are bound to it). */
export const VISITOR_COOKIE = 'shanhui.vid';

/**
 * Sessions in Redis (connect-redis over the shared ioredis client): cookie `shanhui.sid`,
 * httpOnly, SameSite=Lax, Secure over HTTPS, 8 hours, nothing stored for anonymous visitors.
 * The session id is regenerated at sign-in (no fixation). Also parses cookies and gives every
 * browser that is shown a form a random visitor id (see `ensureVisitor`).
 */
export function sessions(deps: { redis: Redis; prefix: string; secret: string; secure: boolean }): RequestHandler[] {
  return [
    cookieParser(deps.secret),
    session({
      name: 'shanhui.sid',
      store: new RedisStore({ client: deps.redis, prefix: `${deps.prefix}:sess:` }),
      secret: deps.secret,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { httpOnly: true, sameSite: 'lax', secure: deps.secure, maxAge: 8 * 3_600_000 },
    }),
  ];
}

/** Regenerates the session id (on sign-in and sign-out), keeping nothing from before. */
export function regenerate(req: Parameters<RequestHandler>[0]): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

/** The browser's visitor id, set (as an httpOnly cookie) the first time a form needs one. */
export function ensureVisitor(req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], secure: boolean): string {
  const current = req.cookies?.[VISITOR_COOKIE];
  if (typeof current === 'string' && /^[A-Za-z0-9_-]{22,64}$/.test(current)) return current;
  const id = randomBytes(18).toString('base64url');
  req.cookies[VISITOR_COOKIE] = id;
  res.cookie(VISITOR_COOKIE, id, { httpOnly: true, sameSite: 'lax', secure, maxAge: 365 * 864e5, path: '/' });
  return id;
}
