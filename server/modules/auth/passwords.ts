import { hash, verify } from '@node-rs/argon2';

/** argon2id with the library's defaults (m=19 MiB, t=2, p=1, OWASP's minimum). */
export const hashPassword = (password: string): Promise<string> => hash(password);

/** Constant-time check of a password against its argon2 hash; false for a missing hash. */
export async function checkPassword(stored: string | null, password: string): Promise<boolean> {
  if (!stored) return false;
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A password staff may set: 10–200 characters. */
export const PASSWORD_MIN = 10;
