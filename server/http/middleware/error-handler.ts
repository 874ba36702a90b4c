import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, NotFoundError } from '../../lib/errors.js';
import { DEFAULT_LANG, translator } from '../../lib/i18n.js';
import { OUTAGE_RETRY_AFTER_SECONDS, outageOf } from '../outage.js';

/** Errors thrown by body parsers, mapped to stable codes. */
function fromParserError(err: { type?: string; status?: number }): AppError | null {
  if (err.type === 'entity.parse.failed') return new AppError(400, 'invalid_json', 'errors.invalid_json');
  if (err.type === 'entity.too.large') return new AppError(413, 'payload_too_large', 'errors.payload_too_large');
  if (err.type === 'charset.unsupported' || err.type === 'encoding.unsupported') return new AppError(415, 'unsupported_encoding', 'errors.unsupported_encoding');
  return null;
}

/** 503: PostgreSQL or Redis is unreachable; the client should try again shortly. */
export const unavailable = (service: 'database' | 'redis') => new AppError(503, 'service_unavailable', `errors.${service}_unavailable`);

/** True when the client should get JSON: API and webhook paths, or a client that prefers JSON. */
export function wantsJson(req: Parameters<RequestHandler>[0]): boolean {
  if (req.path.startsWith('/api/') || req.path.startsWith('/webhooks/') || req.path === '/healthz' || req.path === '/readyz') return true;
  return req.accepts(['html', 'json']) === 'json';
}

/** 404 for anything no router answered. */
export const notFound: RequestHandler = (_req, _res, next) => next(new NotFoundError('page'));

/**
 * The one error handler: `{error:{code,message,fields?}}` for JSON clients, an HTML error page
 * otherwise. Unexpected errors are logged at `error` with the request id and shown generically.
 */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const outage = err instanceof AppError ? null : outageOf(err);
  const known = err instanceof AppError ? err : (fromParserError(err) ?? (outage ? unavailable(outage) : null));
  const appErr = known ?? new AppError(500, 'internal_error', 'errors.internal');
  if (!known) req.log?.error({ err }, 'unhandled error');
  else if (appErr.status >= 500) req.log?.warn({ err }, appErr.code);
  if (res.headersSent) return;
  if (appErr.status === 503) res.set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
  const t = req.t ?? translator(DEFAULT_LANG);
  res.locals.t ??= t;
  res.locals.lang ??= DEFAULT_LANG;
  res.locals.testMode ??= false;
  const message = t(appErr.message, appErr.params);
  res.status(appErr.status);
  if (wantsJson(req)) {
    res.json({ error: { code: appErr.code, message, ...(appErr.fields ? { fields: appErr.fields } : {}) } });
  } else {
    res.render('errors/error', { status: appErr.status, code: appErr.code, message, title: message });
  }
};
