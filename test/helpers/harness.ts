import { Redis } from 'ioredis';
import supertest from 'supertest';
import { startService, type Service } from '../../server/boot.js';
import { loadConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/lib/logger.js';
import { TEST_ENV } from './env.js';

let service: Service | undefined;
let config: Config | undefined;

/** Deletes every Redis key of the test prefix (queues, live totals), so no job from a past run lingers. */
async function clearRedis(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    for (const pattern of [`${prefix}:*`, `${prefix}-*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

/** Starts the whole service once for the run: web on an ephemeral port, real workers. */
export async function startHarness(): Promise<void> {
  config = loadConfig({ ...process.env, ...TEST_ENV });
  await clearRedis(config.REDIS_URL, config.REDIS_PREFIX);
  service = await startService(config, createLogger(config.LOG_LEVEL));
}

export async function stopHarness(): Promise<void> {
  await service?.stop();
  service = undefined;
}

/** The running service, its container and an HTTP agent bound to it. */
export function h() {
  if (!service) throw new Error('harness not started');
  const s = service;
  return {
    service: s,
    c: s.container,
    db: s.container.db,
    config: config!,
    url: s.url!,
    api: () => supertest(s.url!),
  };
}
