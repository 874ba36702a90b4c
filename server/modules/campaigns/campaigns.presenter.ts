import type { Lang } from '../../lib/i18n.js';
import type { Totals } from './campaign-totals.js';
import type { CampaignRow } from './campaigns.repo.js';

const localName = (zh: string, en: string | null, lang: Lang) => (lang === 'en' && en ? en : zh);

/** True while a live campaign's window is open. */
export function isAccepting(c: Pick<CampaignRow, 'status' | 'starts_at' | 'ends_at' | 'fund_agreement_id'>, now = new Date()): boolean {
  return c.status === 'live' && c.starts_at <= now && now < c.ends_at && c.fund_agreement_id !== null;
}

/** Campaign JSON (DESIGN §9): amounts in fen. */
export function presentCampaign(c: CampaignRow, t: Totals, lang: Lang) {
  return {
    id: c.id,
    slug: c.slug,
    title: c.title,
    story: c.story,
    street: { id: c.street_id, code: c.street_code, name: localName(c.street_name, c.street_name_en, lang) },
    fund: { id: c.fund_id, code: c.fund_code, name: localName(c.fund_name, c.fund_name_en, lang) },
    goal: c.goal_minor,
    currency: c.currency,
    raised: t.raised,
    matched: t.matched,
    donors: t.donors,
    match_remaining: t.match_remaining,
    status: c.status,
    accepting_donations: isAccepting(c),
    starts_at: c.starts_at.toISOString(),
    ends_at: c.ends_at.toISOString(),
  };
}

export type CampaignJson = ReturnType<typeof presentCampaign>;

/** The `campaign:totals` socket payload; a client keeps the one with the latest `as_of`. */
export function presentTotals(slug: string, t: Totals) {
  return { slug, raised: t.raised, matched: t.matched, donors: t.donors, match_remaining: t.match_remaining, as_of: t.as_of };
}
