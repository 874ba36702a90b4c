import type { Res } from './http.js';
import type { Stack } from './stack.js';

/**
 * The staff console as a browser drives it: cookies kept, forms posted with the page's CSRF
 * token, sign-in through the real login (and TOTP) forms.
 */

/**
 * A browser-like client for the staff console: keeps cookies, and posts forms with the CSRF token
 * of the page it last loaded (as test/helpers/forms.ts does in-process).
 */
export class Browser {
  private jar = new Map<string, string>();
  private token?: string;
  constructor(private readonly stack: Stack) {}

  private store(res: Res): void {
    for (const c of res.headers['set-cookie'] ?? []) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.jar.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
  }

  private get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(p: string): Promise<Res> {
    const res = await this.stack.http.request('GET', p, { headers: { cookie: this.cookie, accept: 'text/html' }, label: `console GET ${p.split('?')[0]}` });
    this.store(res);
    const m = /name="_csrf" value="([^"]+)"/.exec(res.text);
    if (m) this.token = m[1];
    return res;
  }

  async post(p: string, fields: Record<string, string>, from?: string): Promise<Res> {
    if (from) await this.get(from);
    const res = await this.stack.http.request('POST', p, { form: { ...fields, _csrf: this.token ?? '' }, headers: { cookie: this.cookie, accept: 'text/html' }, label: `console POST ${p.split('?')[0]}` });
    this.store(res);
    return res;
  }

  /** Signs in through the real login form (and the TOTP page for roles that need it). */
  static async signIn(stack: Stack, email: string, password: string, totpCode?: () => string): Promise<Browser> {
    const b = new Browser(stack);
    const res = await b.post('/login', { email, password }, '/login');
    if (res.status !== 303) throw new Error(`sign-in of ${email} failed: ${res.status} ${res.text.slice(0, 200)}`);
    if (String(res.headers.location).startsWith('/login/totp')) {
      if (!totpCode) throw new Error('a TOTP code is needed');
      const second = await b.post('/login/totp', { code: totpCode() }, String(res.headers.location));
      if (second.status !== 303) throw new Error(`TOTP of ${email} failed: ${second.status}`);
    }
    return b;
  }
}
