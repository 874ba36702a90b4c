import { z } from 'zod';
import { currency, fen, isoDate, pagination, plainText } from '../../http/schemas.js';

export const CAMPAIGN_STATUSES = ['draft', 'review', 'live', 'closed'] as const;
export const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** `POST /api/campaigns`. `street` is a street id or code; `fund` picks a fund directly. */
export const CampaignCreate = z
  .object({
    slug: z.string().regex(SLUG, { error: 'validation.slug' }),
    title: plainText(120).pipe(z.string().min(2)),
    story: z.string().max(20_000).default(''),
    goal: fen(10_000_000_000),
    currency: currency.default('CNY'),
    street: z.union([z.number().int().positive(), z.string().regex(/^[a-z0-9-]{2,64}$/)]).optional(),
    fund: z.number().int().positive().optional(),
    /** The social organisation running the campaign, for per-organisation caps and sanctions. */
    organisation: z.number().int().positive().optional(),
    starts_at: isoDate.optional(),
    ends_at: isoDate,
    status: z.enum(['draft', 'live']).default('draft'),
  })
  .refine((c) => c.street !== undefined || c.fund !== undefined, { path: ['street'], error: 'validation.street_or_fund' })
  .refine((c) => !c.starts_at || c.ends_at > c.starts_at, { path: ['ends_at'], error: 'validation.ends_after_starts' });
export type CampaignCreateInput = z.infer<typeof CampaignCreate>;

/** Editable fields of a draft or in-review campaign. */
export const CampaignUpdate = z.object({
  title: plainText(120).pipe(z.string().min(2)).optional(),
  story: z.string().max(20_000).optional(),
  goal: fen(10_000_000_000).optional(),
  starts_at: isoDate.optional(),
  ends_at: isoDate.optional(),
});
export type CampaignUpdateInput = z.infer<typeof CampaignUpdate>;

/** `POST /api/campaigns/:slug/transition`. */
export const CampaignTransition = z.object({ to: z.enum(CAMPAIGN_STATUSES) });

/** `GET /api/campaigns` filters. */
export const CampaignListQuery = z.object({
  status: z.enum(CAMPAIGN_STATUSES).optional(),
  street: z.string().regex(/^[a-z0-9-]{1,64}$/).optional(),
  q: z.string().trim().max(60).optional(),
  ...pagination,
});
export type CampaignListQueryInput = z.infer<typeof CampaignListQuery>;
