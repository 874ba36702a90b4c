import { z } from 'zod';
import type { JobDefinition } from './registry.js';

/**
 * Matching's safety net: releases reservations past their TTL (delayed jobs are at least once,
 * and may be lost with Redis), and closes active grants whose window has ended.
 */
export const sweepMatching: JobDefinition<Record<string, never>> = {
  name: 'sweep-matching',
  queue: 'maintenance',
  payloadSchema: z.object({}),
  options: { attempts: 1 },
  async perform(c) {
    const released = await c.matching.expireDue();
    const ended = (await c.db('grants').where('status', 'active').where('ends_at', '<=', new Date()).pluck('id')) as number[];
    for (const id of ended) await c.grants.close(id);
    return { released, closed: ended.length };
  },
};
