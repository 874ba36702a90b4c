import { z } from 'zod';
import { dbId, idParam, isoDate, pagination, plainText, slug } from '../../http/schemas.js';

/** C-2: the cooperation agreement that lets a fund receive donations. */
export const AgreementInput = z.object({
  purpose: plainText(2000).pipe(z.string().min(4)),
  /** C-7: the host's management fee on money released to the pool, in basis points (500 = 5 %). */
  management_fee_bp: z.number().int().min(0).max(2000),
  surplus_disposal: plainText(1000).pipe(z.string().min(4)),
  signed_on: isoDate,
  signatories: plainText(300).pipe(z.string().min(2)),
}).strict();
export type AgreementInput = z.infer<typeof AgreementInput>;

const Member = z.object({
  name: plainText(60).pipe(z.string().min(1)),
  role: z.enum(['chair', 'member', 'supervisor']),
  affiliation: plainText(100).optional(),
  /** C-4: committee members serve unpaid. */
  unpaid: z.literal(true, { error: 'validation.committee_unpaid' }).default(true),
}).strict();

/** C-4: at least five voting members (chair included), an odd number, and at least one supervisor. */
export const CommitteeInput = z.object({ members: z.array(Member).max(41) }).strict().superRefine((v, ctx) => {
  const voting = v.members.filter((m) => m.role !== 'supervisor').length;
  if (voting < 5 || voting % 2 === 0) ctx.addIssue({ code: 'custom', path: ['members'], message: 'validation.committee_size' });
  if (!v.members.some((m) => m.role === 'supervisor')) ctx.addIssue({ code: 'custom', path: ['members'], message: 'validation.committee_supervisor' });
});
export type CommitteeInput = z.infer<typeof CommitteeInput>;

/** C-3: `{host}{street or community}慈善基金`, with no sub-fund under another fund (C-1). */
export const FundCreate = z.object({
  street: dbId(),
  community: dbId().optional(),
  code: slug,
  name: plainText(100).refine((s) => s.endsWith('慈善基金'), { error: 'validation.fund_name' }),
  name_en: plainText(150).optional(),
  parent_fund: z.never({ error: 'validation.no_sub_funds' }).optional(),
  agreement: AgreementInput.optional(),
}).strict();
export type FundCreateInput = z.infer<typeof FundCreate>;

export const FundListQuery = z.object({
  street: idParam().optional(),
  dormant: z.enum(['true', 'false']).optional(),
  ...pagination,
});
