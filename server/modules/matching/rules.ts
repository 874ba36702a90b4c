import { createHmac } from 'node:crypto';
import { scale } from '../../lib/money.js';
import type { MatchRules } from './matching.schemas.js';

/** Matching days and slots run on China Standard Time (UTC+8, no daylight saving). */
export const CST_OFFSET_MS = 8 * 3_600_000;

/** `YYYY-MM-DD` of an instant in China Standard Time. */
export function cstDate(at: Date): string {
  return new Date(at.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10);
}

/** The instant of `HH:MM` on a CST date. */
export function cstInstant(date: string, hhmm: string): Date {
  return new Date(Date.parse(`${date}T${hhmm}:00+08:00`));
}

/** The random draw of M-4, derived from a recorded seed so it can be replayed exactly. */
export interface Draw {
  seed: string;
  /** 0–9999: matched when below `probability_percent × 100`. */
  hit: number;
  /** The drawn ratio in basis points. */
  ratio_bp: number;
}

export function drawFromSeed(seed: string, r: NonNullable<MatchRules['random']>): Draw {
  const h = createHmac('sha256', 'shanhui-match-draw').update(seed).digest();
  const hit = h.readUInt32BE(0) % 10_000;
  const span = (r.max_percent - r.min_percent) * 100 + 1;
  return { seed, hit, ratio_bp: r.min_percent * 100 + (h.readUInt32BE(4) % span) };
}

/** What the rule engine knows about a gift when it decides. */
export interface MatchContext {
  amount: number;
  at: Date;
  /** The campaign's paid donations and raised amount before this gift (for challenges). */
  campaign: { donors: number; raised: number };
}

export interface RuleOutcome {
  /** The match the rules ask for, before pool and caps. */
  desired: number;
  /** Why there is no match (null when `desired` > 0). */
  reason: string | null;
  /** The pool bucket: `main`, or `<CST date>#<slot index>` for daily slots. */
  bucket: string;
  ratio_bp: number;
  draw?: Draw;
}

/**
 * The daily slot open at `at`, if any. A slot without `closes` runs until the next slot
 * opens, or until midnight.
 */
export function openSlot(rules: MatchRules, at: Date): { index: number; bucket: string; budget: number; closesAt: Date } | null {
  if (!rules.daily_slots) return null;
  const date = cstDate(at);
  const midnight = new Date(cstInstant(date, '00:00').getTime() + 86_400_000);
  const slots = rules.daily_slots.map((s, index) => ({ ...s, index, opensAt: cstInstant(date, s.opens) })).sort((a, b) => a.opensAt.getTime() - b.opensAt.getTime());
  for (const [i, s] of slots.entries()) {
    const end = s.closes ? cstInstant(date, s.closes) : (slots[i + 1]?.opensAt ?? midnight);
    if (at >= s.opensAt && at < end) return { index: s.index, bucket: `${date}#${s.index}`, budget: s.budget, closesAt: end };
  }
  return null;
}

/** When the next daily slot opens after `at` (null without slots). */
export function nextSlotOpening(rules: MatchRules, at: Date): Date | null {
  if (!rules.daily_slots) return null;
  const today = cstDate(at);
  const tomorrow = cstDate(new Date(at.getTime() + 86_400_000));
  const candidates = [today, tomorrow].flatMap((d) => rules.daily_slots!.map((s) => cstInstant(d, s.opens))).filter((t) => t > at);
  return candidates.sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
}

/**
 * The rule engine: a pure function of rules, context and (for random matching) a seed.
 * Pool, caps across gifts and risk are decided later, in the database.
 */
export function evaluate(rules: MatchRules, ctx: MatchContext, seed?: string): RuleOutcome {
  const slot = openSlot(rules, ctx.at);
  const bucket = slot?.bucket ?? 'main';
  const none = (reason: string, extra: Partial<RuleOutcome> = {}): RuleOutcome => ({ desired: 0, reason, bucket, ratio_bp: 0, ...extra });

  if (rules.mode === 'quadratic') return none('matched_at_close');
  if (ctx.amount < rules.min_donation) return none('below_minimum');
  if (rules.daily_slots && !slot) return none('outside_slot');
  if (rules.challenge) {
    const { donors, amount } = rules.challenge;
    const unlocked = (donors !== undefined && ctx.campaign.donors >= donors) || (amount !== undefined && ctx.campaign.raised >= amount);
    if (!unlocked) return none('challenge_locked');
  }

  let ratioBp: number;
  let draw: Draw | undefined;
  if (rules.random) {
    if (!seed) throw new Error('random matching needs a seed');
    draw = drawFromSeed(seed, rules.random);
    if (draw.hit >= rules.random.probability_percent * 100) return none('random_not_drawn', { draw });
    ratioBp = draw.ratio_bp;
  } else if (rules.tiers) {
    const tier = [...rules.tiers].sort((a, b) => b.min_amount - a.min_amount).find((t) => ctx.amount >= t.min_amount);
    ratioBp = (tier?.ratio_percent ?? rules.ratio_percent) * 100;
  } else {
    ratioBp = rules.ratio_percent * 100;
  }

  let desired = scale(ctx.amount, ratioBp, 10_000);
  if (rules.cap_per_donation !== undefined) desired = Math.min(desired, rules.cap_per_donation);
  if (desired <= 0) return none('zero_ratio', { draw, ratio_bp: ratioBp });
  return { desired, reason: null, bucket, ratio_bp: ratioBp, draw };
}
