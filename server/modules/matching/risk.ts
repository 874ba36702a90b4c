import type { Knex } from 'knex';

/** M-10: more than this many donations from one identity within the window hold the match. */
export const VELOCITY_LIMIT = 4;
export const VELOCITY_WINDOW_MS = 60_000;

/** Records a donation's identities (hashed) for velocity checks and QF donor grouping. */
export async function recordIdentities(trx: Knex.Transaction, donationId: string, identities: { identity: string; kind: string }[], at: Date): Promise<void> {
  if (!identities.length) return;
  await trx('donor_identities').insert(identities.map((i) => ({ donation_id: donationId, identity: i.identity, kind: i.kind, created_at: at }))).onConflict(['donation_id', 'identity']).ignore();
}

/**
 * Why a donation's match must wait for staff review, if at all:
 * - `velocity` (M-10): an identity gave more than 4 times in the last 60 s, this gift included;
 * - `linked_party` (M-12): an identity belongs to the campaign's beneficiary or organiser.
 */
export async function holdReason(trx: Knex.Transaction, campaignId: number, identities: string[], at: Date): Promise<string | null> {
  if (!identities.length) return null;
  const linked = await trx('campaign_linked_identities').where({ campaign_id: campaignId }).whereIn('identity', identities).first('role');
  if (linked) return 'linked_party';
  const { rows } = await trx.raw(
    `SELECT identity, count(DISTINCT donation_id) AS n FROM donor_identities
      WHERE identity = ANY(?) AND created_at > ?::timestamptz - interval '60 seconds' AND created_at <= ?::timestamptz
      GROUP BY identity HAVING count(DISTINCT donation_id) > ? LIMIT 1`,
    [identities, at, at, VELOCITY_LIMIT],
  );
  return rows.length ? 'velocity' : null;
}
