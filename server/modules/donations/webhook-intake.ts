import type { Knex } from 'knex';
import Stripe from 'stripe';
import { textProblem, toStorableText } from '../../http/schemas.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';

/** Puts a job on a queue; rejects quickly when Redis is unreachable. */
export type Enqueue = (
  name: 'process-stripe-event' | 'record-processor-fee' | 'expire-match-reservation' | 'reconcile-payout' | 'reconcile-recent',
  payload: Record<string, string>,
  jobId: string,
  opts?: { revive?: boolean; delay?: number },
) => Promise<void>;

/** The outcome of an event whose text PostgreSQL cannot store: kept for review, never applied. */
export const PARKED_UNSTORABLE = 'parked_unstorable_text';

/**
 * `value` itself when jsonb can hold all of it, else a copy whose strings and keys have each NUL
 * and lone surrogate replaced by U+FFFD.
 */
function storableCopy(value: unknown): unknown {
  if (typeof value === 'string') return textProblem(value) ? toStorableText(value) : value;
  if (!value || typeof value !== 'object') return value;
  let changed = false;
  const entries = Object.entries(value).map(([k, v]) => {
    const [key, child] = [storableCopy(k) as string, storableCopy(v)];
    changed ||= key !== k || child !== v;
    return [key, child] as const;
  });
  if (!changed) return value;
  return Array.isArray(value) ? entries.map(([, v]) => v) : Object.fromEntries(entries);
}

/**
 * Receives processor events: verify the signature on the raw body, store the event durably
 * (`processor_events.id` is unique), then enqueue its processing keyed by the event id.
 * Only after the row is committed does the caller answer 2xx. If Redis is down the event
 * stays stored and the sweeper enqueues it once Redis is back.
 */
export function createWebhookIntake(deps: { db: Knex; secret: string; provider: string; enqueue: Enqueue; log: Logger }) {
  const { db, log } = deps;

  async function enqueueQuietly(eventId: string, revive = false): Promise<boolean> {
    try {
      await deps.enqueue('process-stripe-event', { eventId }, eventId, { revive });
      return true;
    } catch (err) {
      log.warn({ err, eventId }, 'event stored but not enqueued; the sweeper will retry');
      return false;
    }
  }

  return {
    async receive(rawBody: Buffer | string, signature: string | undefined): Promise<{ id: string; duplicate: boolean; enqueued: boolean }> {
      if (!signature) throw new AppError(400, 'signature_missing', 'errors.signature_missing');
      let event: { id?: unknown; type?: unknown };
      try {
        event = Stripe.webhooks.constructEvent(rawBody, signature, deps.secret) as unknown as typeof event;
      } catch {
        throw new AppError(400, 'signature_invalid', 'errors.signature_invalid');
      }
      if (typeof event.id !== 'string' || !/^evt_\w{1,250}$/.test(event.id) || typeof event.type !== 'string') {
        throw new AppError(400, 'event_invalid', 'errors.event_invalid');
      }
      // jsonb cannot hold a NUL or a lone surrogate: such an event is stored with that text
      // replaced and its raw bytes kept, parked with its reason, and never applied.
      const storable = storableCopy(event) as typeof event;
      const parked = storable !== event;
      const inserted = await db('processor_events')
        .insert({
          id: event.id, provider: deps.provider, type: storable.type, payload: storable,
          ...(parked ? { processed_at: db.fn.now(), outcome: PARKED_UNSTORABLE, raw_body: Buffer.from(rawBody) } : {}),
        })
        .onConflict('id')
        .ignore()
        .returning('processed_at');
      const duplicate = inserted.length === 0;
      if (parked) {
        log.error({ category: 'payments', eventId: event.id }, 'processor event parked: its text cannot be stored');
        return { id: event.id, duplicate, enqueued: false };
      }
      if (duplicate) {
        const stored = await db('processor_events').where({ id: event.id }).first('processed_at');
        if (stored?.processed_at) return { id: event.id, duplicate, enqueued: false };
      }
      return { id: event.id, duplicate, enqueued: await enqueueQuietly(event.id) };
    },

    /** Re-enqueues stored events still unprocessed after `graceMs`; returns how many. */
    async sweep(graceMs: number, limit = 500): Promise<number> {
      const rows: { id: string }[] = await db('processor_events')
        .whereNull('processed_at')
        .where('received_at', '<', new Date(Date.now() - graceMs))
        .orderBy('received_at')
        .limit(limit)
        .select('id');
      let n = 0;
      for (const r of rows) if (await enqueueQuietly(r.id, true)) n++;
      return n;
    },
  };
}

export type WebhookIntake = ReturnType<typeof createWebhookIntake>;
