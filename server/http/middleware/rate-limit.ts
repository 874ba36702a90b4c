import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { AppError } from '../../lib/errors.js';

/**
 * Limits how many donations one IP address may start per minute (API and form share the count),
 * in Redis so every web node counts together. Over the limit: 429 with Retry-After. If Redis is
 * unreachable the request goes through: giving must not stop because the limiter did.
 */
export function donationRateLimit(deps: { redis: Redis; prefix: string; perMinute: number }): RequestHandler {
  const limiter = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${deps.prefix}:rl:donations`, points: deps.perMinute, duration: 60 });
  return async (req, res, next) => {
    try {
      await limiter.consume(req.ip ?? 'unknown');
    } catch (rejection) {
      if (rejection instanceof Error) return next();
      res.set('Retry-After', String(Math.ceil((rejection as { msBeforeNext: number }).msBeforeNext / 1000)));
      throw new AppError(429, 'rate_limited', 'errors.rate_limited');
    }
    next();
  };
}
