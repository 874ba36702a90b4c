import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';

/** Lock an account for this long after too many consecutive failures. */
export const LOCKOUT_SECONDS = 15 * 60;
/** Consecutive failed logins (per account) before the lockout. */
export const MAX_FAILURES = 5;

/**
 * Login throttling in Redis: 5 consecutive failures on one account lock it for 15 minutes,
 * and one IP gets at most 30 attempts per 5 minutes across all accounts. A success clears the
 * account's count.
 */
export function createLoginLimiter(redis: Redis, prefix: string) {
  const byAccount = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:login:account`, points: MAX_FAILURES, duration: LOCKOUT_SECONDS, blockDuration: LOCKOUT_SECONDS });
  const byIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:login:ip`, points: 30, duration: 300 });
  const key = (email: string) => email.trim().toLowerCase();

  return {
    /** Seconds until the account or IP may try again, or 0. */
    async retryAfter(email: string, ip: string): Promise<number> {
      const [a, i] = await Promise.all([byAccount.get(key(email)), byIp.get(ip)]);
      const blocked = (r: Awaited<ReturnType<typeof byAccount.get>>, points: number) => (r && r.consumedPoints >= points ? Math.ceil(r.msBeforeNext / 1000) : 0);
      return Math.max(blocked(a, MAX_FAILURES), blocked(i, 30));
    },
    async failed(email: string, ip: string): Promise<void> {
      await Promise.all([byAccount.consume(key(email)).catch(() => undefined), byIp.consume(ip).catch(() => undefined)]);
    },
    async succeeded(email: string): Promise<void> {
      await byAccount.delete(key(email));
    },
    /** True the first time a user presents a TOTP code in its validity window; a replayed code is refused. */
    async firstUseOfCode(userId: number, code: string): Promise<boolean> {
      return (await redis.set(`${prefix}:totp:used:${userId}:${code}`, '1', 'EX', 120, 'NX')) === 'OK';
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
