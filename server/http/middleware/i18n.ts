import type { RequestHandler } from 'express';
import { DEFAULT_LANG, fromAcceptLanguage, normaliseLang, translator } from '../../lib/i18n.js';

function cookieLang(cookieHeader: string | undefined): string | undefined {
  return /(?:^|;\s*)lang=([^;]+)/.exec(cookieHeader ?? '')?.[1];
}

/**
 * Picks the language: `?lang=` (remembered in a cookie), then the `lang` cookie, then
 * Accept-Language, then zh-CN. Exposes `req.t` and view locals `t` and `lang`.
 */
export function i18n(): RequestHandler {
  return (req, res, next) => {
    const fromQuery = normaliseLang(typeof req.query.lang === 'string' ? req.query.lang : undefined);
    if (fromQuery) res.cookie('lang', fromQuery, { httpOnly: true, sameSite: 'lax', maxAge: 365 * 864e5 });
    req.lang = fromQuery ?? normaliseLang(cookieLang(req.headers.cookie)) ?? fromAcceptLanguage(req.headers['accept-language']) ?? DEFAULT_LANG;
    req.t = translator(req.lang);
    res.locals.lang = req.lang;
    res.locals.t = req.t;
    res.setHeader('Content-Language', req.lang);
    next();
  };
}
