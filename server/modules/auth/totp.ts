import { generateSecret, generateSync, generateURI, verifySync } from 'otplib';
import QRCode from 'qrcode';

/** TOTP (RFC 6238, 30 s steps, 6 digits), as authenticator apps expect. One step of clock drift is accepted. */
export const totp = {
  newSecret: (): string => generateSecret(),
  uri: (secret: string, account: string): string => generateURI({ secret, issuer: 'Shanhui 善汇', label: account }),
  /** The enrolment QR code as an SVG string (rendered on our own page, no third party). */
  qrSvg: (uri: string): Promise<string> => QRCode.toString(uri, { type: 'svg', margin: 1, width: 200 }),
  check(secret: string, token: string): boolean {
    if (!/^\d{6}$/.test(token)) return false;
    try {
      return verifySync({ secret, token, epochTolerance: 30 }).valid;
    } catch {
      return false;
    }
  },
  /** The current code (tests and the demo seed's printed instructions). */
  now: (secret: string): string => generateSync({ secret }),
};
