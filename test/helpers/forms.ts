import supertest from 'supertest';
import { h } from './harness.js';

/** The hidden CSRF field of a rendered form. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF field on the page');
  return m[1];
}

/**
 * A browser-like client: keeps cookies, and posts forms with the CSRF token of the page it last
 * loaded, as a real browser submitting a real form would.
 */
export function browser() {
  const agent = supertest.agent(h().url);
  let token: string | undefined;
  return {
    agent,
    async get(path: string, headers: Record<string, string> = {}) {
      const res = await agent.get(path).set(headers);
      if (/name="_csrf"/.test(res.text ?? '')) token = csrfOf(res.text);
      return res;
    },
    /** POSTs form fields (with the CSRF token from `from`, loaded first if given). */
    async post(path: string, fields: Record<string, string> | string, from?: string, headers: Record<string, string> = {}) {
      if (from) await this.get(from, headers);
      if (!token) throw new Error('load a page with a form first');
      const body = typeof fields === 'string' ? `${fields}&_csrf=${encodeURIComponent(token)}` : { ...fields, _csrf: token };
      return agent.post(path).set(headers).type('form').send(body);
    },
  };
}

/** Signs a user in through the real login form (and TOTP code page when given a secret). */
export async function signIn(email: string, password: string, totpCode?: () => string) {
  const b = browser();
  const res = await b.post('/login', { email, password }, '/login');
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  if (res.headers.location.startsWith('/login/totp')) {
    if (!totpCode) throw new Error('a TOTP code is needed');
    const second = await b.post('/login/totp', { code: totpCode() }, '/login/totp');
    if (second.status !== 303) throw new Error(`TOTP failed: ${second.status}`);
  }
  return b;
}
