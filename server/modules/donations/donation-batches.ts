import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.js';
import type { CampaignRow } from '../campaigns/index.js';
import type { DonationRow } from './donations.repo.js';

/** A pending donation to write: its row (id included), its campaign, when it was asked for, and matching's preparation. */
export interface NewDonation<P = unknown> {
  row: Omit<DonationRow, 'campaign_slug' | 'match_reserved' | 'match_committed' | 'status' | 'refunded_minor' | 'disputed_minor' | 'fee_minor' | 'payment_ref' | 'client_secret' | 'failure_reason' | 'succeeded_at' | 'updated_at'>;
  campaign: CampaignRow;
  at: Date;
  prepared: P;
}

/** What matching does for a batch: plan every new donation's match; the batch's statement then reserves it. */
export interface ReserveMatch<P = unknown> {
  /** Before the batch: what reserving will need for one donation (the grants that cover its campaign). */
  prepare(c: CampaignRow, at: Date): Promise<P>;
  /** Matching's plan for the batch, handed to `match_reserve_batch` as it is; null when nothing is to be matched. */
  plan(gifts: { donation: NewDonation['row'] & { refunded_minor: number; disputed_minor: number }; campaign: CampaignRow; at: Date; grants: P }[]): Promise<unknown | null>;
  /** After commit: live updates for the grants touched, and the reservation's expiry job. */
  reserved(donationId: string, grants: number[]): void;
}

/** The outcome for one donation: written now (or an earlier donation already had its key), and its match. */
export interface Written {
  created: boolean;
  reserved: number;
  grants: number[];
}

/**
 * Group commit for new donations. Requests that arrive while batches are being written wait and
 * go together in the next one: one statement (`donations_write_batch`) inserts them all and
 * reserves their matches, so a batch costs one round trip and one commit, and a hot pool row is
 * locked once per batch instead of once per gift. At low load a
 * batch holds one donation and nothing waits. `maxBatch: 1` writes every donation on its own.
 *
 * A batch that fails (a bad row, a lost connection) is written again one donation at a time, so
 * one bad gift fails alone.
 */
export function createDonationBatches(deps: { db: Knex; matching?: ReserveMatch; maxBatch: number; maxInFlight: number; log: Logger }) {
  const queue: { item: NewDonation; resolve: (w: Written) => void; reject: (err: unknown) => void }[] = [];
  let inFlight = 0;
  let scheduled = false;

  /** One statement, so one round trip and one commit: insert the batch, reserve its matches. */
  async function write(items: NewDonation[]): Promise<Written[]> {
    const plan = deps.matching
      ? await deps.matching.plan(items.map((i) => ({ donation: { ...i.row, refunded_minor: 0, disputed_minor: 0 }, campaign: i.campaign, at: i.at, grants: i.prepared })))
      : null;
    const { rows } = await deps.db.raw('SELECT * FROM donations_write_batch(?::jsonb, ?::jsonb)', [JSON.stringify(items.map((i) => i.row)), plan === null ? null : JSON.stringify(plan)]);
    const out = new Map<string, Written>();
    for (const r of rows as { donation_id: string; grant_id: number | null; reserved: number | null }[]) {
      const w = out.get(r.donation_id) ?? { created: true, reserved: 0, grants: [] };
      if (r.grant_id !== null) {
        w.reserved += Number(r.reserved);
        w.grants.push(r.grant_id);
      }
      out.set(r.donation_id, w);
    }
    return items.map((i) => out.get(i.row.id) ?? { created: false, reserved: 0, grants: [] });
  }

  function afterCommit(items: NewDonation[], out: Written[]) {
    out.forEach((w, k) => {
      if (w.created && w.grants.length) deps.matching?.reserved(items[k].row.id, w.grants);
    });
  }

  function pump() {
    scheduled = false;
    while (queue.length && inFlight < deps.maxInFlight) {
      const batch = queue.splice(0, deps.maxBatch);
      const items = batch.map((b) => b.item);
      inFlight++;
      write(items)
        .then((out) => {
          afterCommit(items, out);
          batch.forEach((b, k) => b.resolve(out[k]));
        })
        .catch(async (err) => {
          if (batch.length === 1) return batch[0].reject(err);
          deps.log.warn({ err, size: batch.length, category: 'donations' }, 'donation batch failed; writing its donations one by one');
          await Promise.all(batch.map((b) => write([b.item]).then((out) => (afterCommit([b.item], out), b.resolve(out[0])), b.reject)));
        })
        .finally(() => {
          inFlight--;
          schedule();
        });
    }
  }

  function schedule() {
    if (scheduled || !queue.length) return;
    scheduled = true;
    setImmediate(pump);
  }

  return {
    /** Writes one pending donation (in the next batch) and reserves its match. */
    submit(item: NewDonation): Promise<Written> {
      return new Promise((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}

export type DonationBatches = ReturnType<typeof createDonationBatches>;
