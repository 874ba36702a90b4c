import { z } from 'zod';
import { currency, dbId, fen, isoDate, pagination, PG_INT_MAX, plainText, safeText, slug, SLUG_PATTERN } from '../../http/schemas.js';

export const CAMPAIGN_STATUSES = ['draft', 'review', 'live', 'closed'] as const;
export const SLUG = SLUG_PATTERN;
/** A street named by its code in a body or a filter. */
const streetCode = z.string().regex(/^[a-z0-9-]{2,64}$/, { error: 'validation.slug' });

/** `POST /api/campaigns`. `street` is a street id or code; `fund` picks a fund directly. */
export const CampaignCreate = z
  .object({
    slug,
    title: plainText(120).pipe(z.string().min(2)),
    story: safeText(20_000).default(''),
    goal: fen(10_000_000_000),
    currency: currency.default('CNY'),
    street: z.union([dbId(), streetCode]).optional(),
    fund: dbId().optional(),
    /** The social organisation running the campaign, for per-organisation caps and sanctions. */
    organisation: dbId().optional(),
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
  story: safeText(20_000).optional(),
  goal: fen(10_000_000_000).optional(),
  starts_at: isoDate.optional(),
  ends_at: isoDate.optional(),
});
export type CampaignUpdateInput = z.infer<typeof CampaignUpdate>;

/** `POST /api/campaigns/:slug/transition`. */
export const CampaignTransition = z.object({ to: z.enum(CAMPAIGN_STATUSES) });

/** A street filter: its code, or its id (digits only), which must fit a PostgreSQL `integer`. */
const streetFilter = z.string().regex(/^[a-z0-9-]{1,64}$/, { error: 'validation.slug' }).superRefine((s, ctx) => {
  if (/^\d+$/.test(s) && Number(s) > PG_INT_MAX) ctx.addIssue({ code: 'too_big', origin: 'number', maximum: PG_INT_MAX, inclusive: true, input: s, message: 'validation.too_big' });
});

/** `GET /api/campaigns` filters. */
export const CampaignListQuery = z.object({
  status: z.enum(CAMPAIGN_STATUSES).optional(),
  street: streetFilter.optional(),
  q: safeText(60).trim().optional(),
  ...pagination,
});
export type CampaignListQueryInput = z.infer<typeof CampaignListQuery>;
