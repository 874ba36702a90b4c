import { z } from 'zod';
import { dbId, fen, idParam, isoDate, pagination, plainText } from '../../http/schemas.js';
import { POOL_SOURCES } from '../ledger/index.js';

const text = (max: number, min = 2) => plainText(max).pipe(z.string().min(min));
const key = z.string().regex(/^[a-z][a-z0-9_]{1,30}$/, { error: 'validation.key' });

/** A scoring criterion and its weight (the weights of a call add up to 100). */
const Criterion = z.object({ key, name: text(60, 1), weight: z.number().int().min(1).max(100) }).strict();

/** G-3: what an applicant must meet; each is optional. */
const Eligibility = z.object({
  min_years_registered: z.number().int().min(0).max(50).optional(),
  min_rating: z.enum(['1A', '2A', '3A', '4A', '5A']).optional(),
  /** M-15: the registration certificate must be valid this many months past the call's close. */
  certificate_months: z.number().int().min(0).max(60).default(6),
  /** A weighted score below this is not shortlisted. */
  pass_score: z.number().int().min(0).max(100).default(60),
}).strict();

const Funding = z.partialRecord(z.enum(POOL_SOURCES), fen(100_000_000_000, 1));

/** G-1, G-2: a call for proposals, committed from the street's pool when it is published. */
export const CallCreate = z.object({
  street: dbId(),
  title: text(120),
  description: plainText(4000).default(''),
  category: z.string().regex(/^[a-z0-9-]{2,40}$/, { error: 'validation.category' }),
  budget_line: text(120),
  budget: fen(100_000_000_000, 100),
  /** Which pool sources pay, in fen each; by default in proportion to what each source has. */
  funding: Funding.optional(),
  opens_at: isoDate,
  closes_at: isoDate,
  eligibility: Eligibility.default({ certificate_months: 6, pass_score: 60 }),
  max_applications_per_org: z.number().int().min(1).max(20).default(2),
  criteria: z.array(Criterion).min(1).max(10),
  panel_size: z.number().int().min(1).max(15).default(3),
  notice_days: z.number().int().min(1).max(30).default(7),
}).strict().superRefine((c, ctx) => {
  if (c.closes_at <= c.opens_at) ctx.addIssue({ code: 'custom', path: ['closes_at'], message: 'validation.period_order' });
  if (c.criteria.reduce((s, x) => s + x.weight, 0) !== 100) ctx.addIssue({ code: 'custom', path: ['criteria'], message: 'validation.weights_total' });
  if (new Set(c.criteria.map((x) => x.key)).size !== c.criteria.length) ctx.addIssue({ code: 'custom', path: ['criteria'], message: 'validation.duplicate_keys' });
  if (c.funding && Object.values(c.funding).reduce((s, v) => s + (v ?? 0), 0) !== c.budget) ctx.addIssue({ code: 'custom', path: ['funding'], message: 'validation.funding_total' });
});
export type CallCreateInput = z.infer<typeof CallCreate>;

/** A social organisation registers itself (G-3 data); staff verify it. */
export const OrganisationRegister = z.object({
  name: text(120),
  registration_no: z.string().trim().regex(/^[0-9A-Z]{8,20}$/, { error: 'validation.registration_no' }),
  registered_on: isoDate,
  certificate_expires_on: isoDate,
  rating: z.enum(['1A', '2A', '3A', '4A', '5A']).optional(),
  contact: plainText(120).optional(),
}).strict();

/** An organisation's credit standing, as civil affairs publishes it (活动异常名录, 严重违法失信名单). */
export const OrganisationStanding = z.object({
  credit_status: z.enum(['normal', 'abnormal', 'serious_violation']),
  annual_report_ok: z.boolean(),
  rating: z.enum(['1A', '2A', '3A', '4A', '5A']).nullable().optional(),
}).strict();

const Member = z.object({
  role: z.enum(['organisation', 'community', 'social_worker', 'volunteers']),
  name: text(120, 1),
  organisation_id: dbId().optional(),
}).strict();

/** G-5: an application, alone or joint; its budget by line adds up to the amount asked for. */
export const ApplicationCreate = z.object({
  title: text(120),
  summary: text(2000, 10),
  service_area: text(200),
  beneficiaries: text(500),
  beneficiary_count: z.number().int().min(1).max(1_000_000),
  activities: text(4000, 10),
  outcomes: text(2000, 10),
  budget_lines: z.array(z.object({ line: text(60, 1), amount: fen(100_000_000_000, 1) }).strict()).min(1).max(30),
  members: z.array(Member).max(10).default([]),
  /** G-3: "no major violation in the last three years". */
  no_violation_declared: z.literal(true, { error: 'validation.declaration' }),
}).strict().superRefine((a, ctx) => {
  if (new Set(a.budget_lines.map((l) => l.line)).size !== a.budget_lines.length) ctx.addIssue({ code: 'custom', path: ['budget_lines'], message: 'validation.duplicate_keys' });
  if (new Set(a.members.map((m) => m.name)).size !== a.members.length) ctx.addIssue({ code: 'custom', path: ['members'], message: 'validation.duplicate_keys' });
});
export type ApplicationCreateInput = z.infer<typeof ApplicationCreate>;

/** Staff applying for an organisation name it; a social organisation's member applies for its own. */
export const ApplicantOrganisation = z.object({ organisation: dbId() });

export const MemberConfirm = z.object({ token: z.string().regex(/^[\w-]{20,100}$/) }).strict();

/** G-6: a conflict-of-interest declaration, before any score. */
export const Declaration = z.object({ conflicted: z.boolean(), note: plainText(500).optional() }).strict();
export const Scores = z.object({ scores: z.record(key, z.number().int().min(0).max(100)), comment: plainText(1000).optional() }).strict();

export const ObjectionCreate = z.object({
  application: dbId().optional(),
  author: text(60, 1),
  contact: plainText(120).optional(),
  body: text(2000, 10),
}).strict();
export const ObjectionReply = z.object({ reply: text(2000, 4) }).strict();

/** G-10: a payment schedule; the percentages must add up to 100. */
const Tranche = z.object({ percent: z.number().int().min(1).max(100), gate: z.enum(['signed', 'midterm', 'final']) }).strict();
export const AwardRequest = z.object({
  starts_on: isoDate,
  ends_on: isoDate,
  tranches: z.array(Tranche).min(1).max(6).default([{ percent: 40, gate: 'signed' }, { percent: 40, gate: 'midterm' }, { percent: 20, gate: 'final' }]),
  tolerance_bp: z.number().int().min(0).max(5000).default(1000),
}).strict().superRefine((a, ctx) => {
  if (a.tranches.reduce((s, t) => s + t.percent, 0) !== 100) ctx.addIssue({ code: 'custom', path: ['tranches'], message: 'validation.tranches_total' });
  if (a.ends_on <= a.starts_on) ctx.addIssue({ code: 'custom', path: ['ends_on'], message: 'validation.period_order' });
});
export type AwardRequestInput = z.infer<typeof AwardRequest>;

/** G-11 / G-14: a monthly report with its statement, and each expense with its voucher. */
export const ReportCreate = z.object({
  period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: 'validation.period' }),
  outputs: text(4000, 4),
  income: z.number().int().min(0),
  expenses: z.array(z.object({ budget_line: text(60, 1), description: text(200, 1), amount: fen(100_000_000_000, 1), attachment: z.uuid() }).strict()).max(100).default([]),
}).strict();
export type ReportCreateInput = z.infer<typeof ReportCreate>;

/** G-12 / G-13: one party's scores on the evaluation's scorecard. */
export const EvaluationInput = z.object({
  party: z.enum(['street', 'residents', 'third_party', 'self']),
  scores: z.record(key, z.number().int().min(0).max(100)),
  comment: plainText(2000).optional(),
}).strict();

export const CallListQuery = z.object({ street: idParam().optional(), status: z.enum(['draft', 'open', 'review', 'notice', 'awarded', 'closed']).optional(), ...pagination });
