import type { Knex } from 'knex';
import { REFUSALS } from './payment-events.js';
import { PARKED_UNSTORABLE } from './webhook-intake.js';

/** What a refused or parked processor event is shown with for review. */
export interface EventForReview {
  id: string; type: string; outcome: string; received_at: Date;
  donation_id: string | null; payment_intent: string | null; amount_minor: number | null; currency: string | null;
}

/** Outcomes that need a person: refused events, and events parked because their text cannot be stored. */
export const REVIEW_OUTCOMES = [...REFUSALS.map((r) => `rejected_${r}`), PARKED_UNSTORABLE];

/** knex access to stored processor events, for the review list. */
export const processorEventsRepo = {
  async listForReview(db: Knex, f: { outcome?: string }, page: number, perPage: number): Promise<{ rows: EventForReview[]; total: number }> {
    const base = () => {
      // The same predicate as the partial index processor_events_for_review.
      const q = db('processor_events').whereRaw(`(outcome LIKE 'rejected%' OR outcome LIKE 'parked%')`);
      if (f.outcome) q.where('outcome', f.outcome);
      return q;
    };
    const [{ n }] = await base().count({ n: '*' });
    const rows = await base()
      .orderBy('received_at', 'desc')
      .limit(perPage)
      .offset((page - 1) * perPage)
      .select(
        'id', 'type', 'outcome', 'received_at',
        db.raw(`payload #>> '{data,object,metadata,donation_id}' AS donation_id`),
        db.raw(`CASE WHEN payload #>> '{data,object,object}' = 'payment_intent' THEN payload #>> '{data,object,id}' ELSE payload #>> '{data,object,payment_intent}' END AS payment_intent`),
        db.raw(`CASE WHEN jsonb_typeof(payload #> '{data,object,amount}') = 'number' THEN (SELECT CASE WHEN n = trunc(n) AND abs(n) < 1e15 THEN n::bigint END FROM (SELECT (payload #>> '{data,object,amount}')::numeric AS n) a) END AS amount_minor`),
        db.raw(`upper(payload #>> '{data,object,currency}') AS currency`),
      );
    return { rows, total: Number(n) };
  },
};
