import type { Translate } from '../../lib/i18n.js';
import type { DonationRow } from './donations.repo.js';

/** The public name (D-5): 爱心人士 unless the donor chose to be named. Contact details never appear. */
export function displayName(d: Pick<DonationRow, 'anonymous' | 'donor_name'>, t: Translate): string {
  return d.anonymous || !d.donor_name ? t('donor.anonymous') : d.donor_name;
}

/** `GET /api/donations/:id` and the create response (which adds `payment`). */
export function presentDonation(d: DonationRow, t: Translate) {
  return {
    id: d.id,
    status: d.status,
    amount: d.amount_minor,
    currency: d.currency,
    matched: d.match_committed ?? 0,
    refunded: d.refunded_minor,
    disputed: d.disputed_minor,
    campaign: d.campaign_slug,
    donor: { display_name: displayName(d, t), anonymous: d.anonymous },
    message: d.message,
    team: d.team,
    match: { reserved: d.match_reserved ?? 0, committed: d.match_committed ?? 0 },
    created_at: d.created_at.toISOString(),
    succeeded_at: d.succeeded_at?.toISOString() ?? null,
  };
}

/** One line of a campaign's public donation list. */
export function presentPublicDonation(d: DonationRow, t: Translate) {
  return { display_name: displayName(d, t), amount: d.amount_minor, message: d.message, at: (d.succeeded_at ?? d.created_at).toISOString() };
}

/** The `donation:status` socket payload and the thank-you page's state. */
export function presentDonationStatus(d: DonationRow) {
  return { id: d.id, status: d.status, amount: d.amount_minor, matched: d.match_committed ?? 0, reserved: d.match_reserved ?? 0, refunded: d.refunded_minor };
}
