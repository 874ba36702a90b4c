import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger.js';
import type { CampaignTotals } from '../campaigns/index.js';
import { presentTotals } from '../campaigns/index.js';

/** Coalescing window: at most one update per campaign room per window (~4 a second). */
export const COALESCE_MS = 250;

export interface LivePublicDonation { display_name: string; anonymous: boolean; amount: number; message: string | null; at: string }

/**
 * Publishes live updates through socket.io's Redis emitter, so any process (web or worker)
 * reaches every web node. Called only after commit.
 *
 * Campaign and grant updates are coalesced per room across processes: the first change in a
 * window takes a Redis key (`SET NX PX 250`) and flushes at the window's end, reading fresh
 * from PostgreSQL; later changes in the window are covered by that flush, which reads after them.
 */
export function createPublisher(deps: {
  redis: Redis;
  prefix: string;
  totals: CampaignTotals;
  campaignSlug: (campaignId: number) => Promise<string | undefined>;
  recent: (campaignId: number) => Promise<LivePublicDonation[]>;
  /** A grant's `grant:totals` payload. */
  grantTotals?: (grantId: number) => Promise<object>;
  /** The campaigns whose match state a grant's pool feeds. */
  grantCampaigns?: (grantId: number) => Promise<number[]>;
  log: Logger;
}) {
  const { redis, prefix, log } = deps;
  const emitter = new Emitter(redis, { key: `${prefix}-socket.io` });
  const timers = new Map<NodeJS.Timeout, string>();

  /** Takes the room's window if nobody has (`SET NX PX`), and flushes when it ends. */
  async function schedule(target: string): Promise<void> {
    const took = await redis.set(`${prefix}:live:${target}`, '1', 'PX', COALESCE_MS, 'NX').catch((err) => {
      log.warn({ err }, 'live update skipped: Redis unavailable');
      return null;
    });
    if (took !== 'OK') return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      run(target).catch((err) => log.warn({ err, target }, 'live flush failed'));
    }, COALESCE_MS);
    timers.set(timer, target);
  }

  async function run(target: string): Promise<void> {
    const [kind, raw] = target.split(':');
    const id = Number(raw);
    if (kind === 'campaign') return flush(id);
    if (!deps.grantTotals) return;
    emitter.to(`grant:${id}`).emit('grant:totals', await deps.grantTotals(id));
    for (const campaignId of (await deps.grantCampaigns?.(id)) ?? []) await schedule(`campaign:${campaignId}`);
  }

  async function flush(campaignId: number): Promise<void> {
    const slug = await deps.campaignSlug(campaignId);
    if (!slug) return;
    const totals = await deps.totals.refresh(campaignId);
    const room = emitter.to(`campaign:${slug}`);
    room.emit('campaign:totals', presentTotals(slug, totals));
    room.emit('campaign:donations', { slug, donations: await deps.recent(campaignId) });
  }

  return {
    emitter,

    /** Marks a campaign changed; its room gets fresh totals within one window. */
    campaignChanged: (campaignId: number) => schedule(`campaign:${campaignId}`),

    /** Marks a grant changed: its room, and the rooms of the campaigns its pool feeds, update within one window. */
    grantChanged: (grantId: number) => schedule(`grant:${grantId}`),

    /** Tells a donor's thank-you page about its donation's new state. */
    donationChanged(payload: { id: string; status: string; amount: number; matched: number; refunded: number }): void {
      emitter.to(`donation:${payload.id}`).emit('donation:status', payload);
    },

    /** Runs pending flushes now instead of waiting for their window (at shutdown, so no update is lost). */
    async drain(): Promise<void> {
      const pending = [...new Set(timers.values())];
      for (const t of timers.keys()) clearTimeout(t);
      timers.clear();
      await Promise.all(pending.map((target) => run(target).catch((err) => log.warn({ err, target }, 'live flush failed'))));
    },
  };
}

export type Publisher = ReturnType<typeof createPublisher>;
