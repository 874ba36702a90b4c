import type { Knex } from 'knex';

/** M-10: more than this many donations from one identity within the window hold the match. */
export const VELOCITY_LIMIT = 4;
export const VELOCITY_WINDOW_MS = 60_000;
/** The window as PostgreSQL reads it (`match_hold_reason`, `match_reserve_batch`). */
export const VELOCITY_WINDOW = `${VELOCITY_WINDOW_MS / 1000} seconds`;

/** Records a donation's identities (hashed) for velocity checks and QF donor grouping. */
export async function recordIdentities(trx: Knex.Transaction, donationId: string, identities: { identity: string; kind: string }[], at: Date): Promise<void> {
  if (!identities.length) return;
  await trx('donor_identities').insert(identities.map((i) => ({ donation_id: donationId, identity: i.identity, kind: i.kind, created_at: at }))).onConflict(['donation_id', 'identity']).ignore();
}

/**
 * Why a donation's match must wait for staff review, if at all (the SQL function
 * `match_hold_reason`, which `match_reserve_batch` applies to every new gift too):
 * - `linked_party` (M-12): an identity belongs to the campaign's beneficiary or organiser;
 * - `velocity` (M-10): an identity gave more than 4 times in the last 60 s, this gift included.
 */
export async function holdReason(trx: Knex.Transaction, campaignId: number, identities: string[], at: Date): Promise<string | null> {
  if (!identities.length) return null;
  const { rows } = await trx.raw('SELECT match_hold_reason(?, ?::text[], ?, ?, ?::interval) AS reason', [campaignId, identities, at, VELOCITY_LIMIT, VELOCITY_WINDOW]);
  return rows[0].reason;
}
