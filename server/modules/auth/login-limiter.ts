import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { withTimeout } from '../../../jobs/queues.js';

/** Lock one account from one address for this long after too many consecutive failures. */
export const LOCKOUT_SECONDS = 15 * 60;
/** Consecutive failures of one account from one address before that pair is locked. */
export const MAX_FAILURES = 5;
/** Failures of one account, from any address within an hour, before each further check waits. */
export const BACKOFF_AFTER = 10;
/** The longest an account's backoff ever makes anyone wait, in seconds: it never locks anyone out. */
export const MAX_BACKOFF_SECONDS = 30;
/** Attempts one address may make across all accounts in five minutes. */
const PER_IP = 30;

/**
 * Login throttling in Redis, so that nobody can lock someone else out:
 * - five consecutive failures of one account **from one address** lock that pair for 15 minutes
 *   (the right password from another address still works);
 * - past ten failures of one account within an hour, from any addresses, each further attempt
 *   must wait 1, 2, 4 … seconds after the last failure, never more than 30: guessing slows down,
 *   but the right password always gets through after a short wait;
 * - one address gets at most 30 attempts per 5 minutes across all accounts.
 * A success clears its pair's count and the account's backoff.
 */
export function createLoginLimiter(redis: Redis, prefix: string) {
  const byPair = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:login:pair`, points: MAX_FAILURES, duration: LOCKOUT_SECONDS, blockDuration: LOCKOUT_SECONDS });
  const byAccount = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:login:account`, points: 1_000_000, duration: 3600 });
  const byIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:login:ip`, points: PER_IP, duration: 300 });
  const account = (email: string) => email.trim().toLowerCase();
  const pair = (email: string, ip: string) => `${account(email)}|${ip}`;
  const lastFailure = (email: string) => `${prefix}:login:last-failure:${account(email)}`;

  /** Seconds one must wait after the account's last failure, given its failures in the hour. */
  const backoff = (failures: number) => (failures < BACKOFF_AFTER ? 0 : Math.min(2 ** (failures - BACKOFF_AFTER), MAX_BACKOFF_SECONDS));

  return {
    /** Seconds until this account may be tried from this address, or 0. */
    async retryAfter(email: string, ip: string): Promise<number> {
      const [p, a, i, last] = await Promise.all([byPair.get(pair(email, ip)), byAccount.get(account(email)), byIp.get(ip), redis.get(lastFailure(email))]);
      const blocked = (r: Awaited<ReturnType<typeof byPair.get>>, points: number) => (r && r.consumedPoints >= points ? Math.ceil(r.msBeforeNext / 1000) : 0);
      const sinceLast = last ? (Date.now() - Number(last)) / 1000 : Infinity;
      const slowDown = Math.ceil(Math.max(0, backoff(a?.consumedPoints ?? 0) - sinceLast));
      return Math.max(blocked(p, MAX_FAILURES), blocked(i, PER_IP), slowDown);
    },
    async failed(email: string, ip: string): Promise<void> {
      await Promise.all([
        byPair.consume(pair(email, ip)).catch(() => undefined),
        byAccount.consume(account(email)).catch(() => undefined),
        byIp.consume(ip).catch(() => undefined),
        redis.set(lastFailure(email), String(Date.now()), 'EX', 3600),
      ]);
    },
    async succeeded(email: string, ip: string): Promise<void> {
      await Promise.all([byPair.delete(pair(email, ip)), byAccount.delete(account(email)), redis.del(lastFailure(email))]);
    },
    /** True when Redis, which holds sessions and these counts, answers within a second. */
    available: (): Promise<boolean> => withTimeout(redis.ping(), 1000, 'redis ping').then(() => true, () => false),
    /** True the first time a user presents a TOTP code in its validity window; a replayed code is refused. */
    async firstUseOfCode(userId: number, code: string): Promise<boolean> {
      return (await redis.set(`${prefix}:totp:used:${userId}:${code}`, '1', 'EX', 120, 'NX')) === 'OK';
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
