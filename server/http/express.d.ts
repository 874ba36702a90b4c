import type { Lang, Translate } from '../lib/i18n.js';
import type { Principal } from '../modules/auth/index.js';

declare global {
  namespace Express {
    interface Request {
      /** Language picked from ?lang=, the lang cookie or Accept-Language. */
      lang: Lang;
      /** Translation bound to `lang`. */
      t: Translate;
      /** The authenticated API token's holder, set by `requireRole`. */
      principal?: Principal;
      /** The raw request body, kept only on the Stripe webhook route. */
      rawBody?: Buffer;
      /** A signed-in user who still owes a TOTP code. */
      mfaPending?: boolean;
    }
  }
}

export {};
