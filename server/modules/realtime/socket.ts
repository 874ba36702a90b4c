import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { z } from 'zod';
import { dbId, slug } from '../../http/schemas.js';
import type { Logger } from '../../lib/logger.js';
import { presentTotals, type CampaignRow, type CampaignTotals } from '../campaigns/index.js';

const Subscribe = z.union([
  z.object({ campaign: slug }).strict(),
  z.object({ donation: z.uuid() }).strict(),
  z.object({ grant: dbId() }).strict(),
]);

const roomOf = (s: z.infer<typeof Subscribe>) => ('campaign' in s ? `campaign:${s.campaign}` : 'donation' in s ? `donation:${s.donation}` : `grant:${s.grant}`);

type Ack = (reply: { ok: boolean; error?: string }) => void;

/**
 * socket.io on the web server, fanned out through Redis. Clients emit `subscribe` with
 * `{campaign: slug}`, `{donation: id}` or `{grant: id}`, join that room and get the current
 * state at once.
 */
export function attachSocket(deps: {
  http: HttpServer;
  pub: Redis;
  sub: Redis;
  prefix: string;
  findCampaign: (slug: string) => Promise<CampaignRow | undefined>;
  donationStatus: (id: string) => Promise<{ id: string; status: string; amount: number; matched: number; refunded: number } | undefined>;
  /** A non-draft grant's `grant:totals`, or undefined. */
  grantTotals?: (id: number) => Promise<object | undefined>;
  totals: CampaignTotals;
  log: Logger;
}): Server {
  const io = new Server(deps.http, { serveClient: true, cors: { origin: false }, maxHttpBufferSize: 4096 });
  io.adapter(createAdapter(deps.pub, deps.sub, { key: `${deps.prefix}-socket.io` }));

  io.on('connection', (socket) => {
    socket.on('subscribe', async (payload: unknown, ack?: Ack) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const parsed = Subscribe.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, error: 'invalid_subscription' });
      try {
        if ('campaign' in parsed.data) {
          const c = await deps.findCampaign(parsed.data.campaign);
          if (!c || c.status === 'draft' || c.status === 'review') return reply({ ok: false, error: 'not_found' });
          await socket.join(`campaign:${c.slug}`);
          const totals = (await deps.totals.get([c.id])).get(c.id)!;
          socket.emit('campaign:totals', presentTotals(c.slug, totals));
        } else if ('donation' in parsed.data) {
          const d = await deps.donationStatus(parsed.data.donation);
          if (!d) return reply({ ok: false, error: 'not_found' });
          await socket.join(`donation:${d.id}`);
          socket.emit('donation:status', d);
        } else {
          const g = await deps.grantTotals?.(parsed.data.grant);
          if (!g) return reply({ ok: false, error: 'not_found' });
          await socket.join(`grant:${parsed.data.grant}`);
          socket.emit('grant:totals', g);
        }
        reply({ ok: true });
      } catch (err) {
        deps.log.warn({ err }, 'subscribe failed');
        reply({ ok: false, error: 'unavailable' });
      }
    });

    socket.on('unsubscribe', async (payload: unknown) => {
      const parsed = Subscribe.safeParse(payload);
      if (parsed.success) await socket.leave(roomOf(parsed.data));
    });
  });
  return io;
}
