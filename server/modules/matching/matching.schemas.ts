import { z } from 'zod';
import { currency, dbId, fen, isoDate, pagination, plainText, slug } from '../../http/schemas.js';

const MAX = 10_000_000_000;
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'validation.time' });
const percent = (max = 1000) => z.number().int().min(0).max(max);

/**
 * A grant's rule set (README "Matching rules" documents every key). Stored per version;
 * every allocation records the version it used.
 */
export const Rules = z
  .object({
    /** `per_donation` matches each gift; `quadratic` distributes the budget at close (QF). */
    mode: z.enum(['per_donation', 'quadratic']).default('per_donation'),
    /** Match ratio in percent: 100 is 1:1, 50 is half. */
    ratio_percent: percent().default(100),
    /** Tiered ratios: the highest tier whose `min_amount` ≤ the gift applies. */
    tiers: z.array(z.object({ min_amount: fen(MAX, 0), ratio_percent: percent() })).min(1).max(10).optional(),
    /** Random matching (M-4): with `probability_percent` chance, a ratio drawn in [min, max]. */
    random: z.object({ min_percent: percent(), max_percent: percent(), probability_percent: z.number().int().min(1).max(100).default(100) })
      .refine((r) => r.max_percent >= r.min_percent, { path: ['max_percent'], error: 'validation.range' })
      .optional(),
    /** M-1: gifts below this (fen) are not matched. */
    min_donation: fen(MAX, 0).default(100),
    /** Most match one gift can get (fen). */
    cap_per_donation: fen(MAX, 1).optional(),
    /** M-5: most match one donor can get per calendar day (Asia/Shanghai), counted across every grant. */
    cap_per_donor_per_day: fen(MAX, 1).default(99_900),
    /** Most match this grant gives one campaign (fen). */
    cap_per_campaign: fen(MAX, 1).optional(),
    /** M-6: most match this grant gives one organisation's campaigns (fen). */
    cap_per_organisation: fen(MAX, 1).optional(),
    /** M-2: daily windows (Asia/Shanghai), each with its own budget per day. */
    daily_slots: z.array(z.object({ opens: HHMM, closes: HHMM.optional(), budget: fen(MAX, 1) })).min(1).max(8).optional(),
    /** Challenge: matching unlocks once the campaign has this many paid donations or this much raised. */
    challenge: z.object({ donors: z.number().int().min(1).optional(), amount: fen(MAX, 1).optional() })
      .refine((c) => c.donors !== undefined || c.amount !== undefined, { error: 'validation.challenge' })
      .optional(),
    /** M-3: when the pool or a cap has less than a full match left, give the remainder (else nothing). */
    partial_last_match: z.boolean().default(true),
    /** At close, whatever is left is shared among the campaigns in scope pro rata to what they raised. */
    stretch_at_close: z.boolean().default(false),
    /** Quadratic funding at close: per-project cap (fen). Required with mode `quadratic`. */
    quadratic: z.object({ per_project_cap: fen(MAX, 1) }).optional(),
    /** A gift this grant matches is not matched by lower-priority grants. */
    exclusive: z.boolean().default(false),
    /** Pool rows the budget is spread over (1 = a single row). */
    pool_shards: z.number().int().min(1).max(64).default(8),
  })
  .strict()
  .refine((r) => r.mode !== 'quadratic' || r.quadratic !== undefined, { path: ['quadratic'], error: 'validation.quadratic_cap' });
export type RulesInput = z.input<typeof Rules>;
export type MatchRules = z.infer<typeof Rules>;

const sponsor = z.union([
  plainText(80).pipe(z.string().min(2)),
  z.object({ name: plainText(80).pipe(z.string().min(2)), kind: z.enum(['enterprise', 'foundation', 'government', 'platform']).default('enterprise') }),
]);

/** `POST /api/grants`. */
export const GrantCreate = z
  .object({
    sponsor,
    name: plainText(120).optional(),
    budget: fen(MAX),
    currency: currency.default('CNY'),
    scope: z.object({
      campaigns: z.array(slug).max(500).optional(),
      streets: z.array(dbId()).max(200).optional(),
      all: z.literal(true).optional(),
    }).refine((s) => s.all || s.campaigns?.length || s.streets?.length, { error: 'validation.scope' }),
    starts_at: isoDate,
    ends_at: isoDate,
    priority: z.number().int().min(-1000).max(1000).default(0),
    rules: Rules.default(Rules.parse({})),
  })
  .refine((g) => g.ends_at > g.starts_at, { path: ['ends_at'], error: 'validation.ends_after_starts' });
export type GrantCreateInput = z.infer<typeof GrantCreate>;

export const GrantListQuery = z.object({ status: z.enum(['draft', 'active', 'closed']).optional(), ...pagination });
export const TopUp = z.object({ amount: fen(MAX) });
export const RulesUpdate = z.object({ rules: Rules });
export const MatchPreviewQuery = z.object({ amount: z.coerce.number().int().min(0).max(MAX) });
export const LinkedParty = z.object({
  role: z.enum(['beneficiary', 'organiser']),
  email: z.email({ error: 'validation.email' }).optional(),
  phone: z.string().regex(/^\+?[0-9][0-9 -]{4,19}$/, { error: 'validation.phone' }).optional(),
}).refine((p) => p.email || p.phone, { error: 'validation.email_or_phone' });
export const HoldDecision = z.object({ note: plainText(500).optional() });
