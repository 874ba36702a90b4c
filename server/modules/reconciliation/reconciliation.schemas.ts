import { z } from 'zod';
import { fen, isoDate, pagination, plainText } from '../../http/schemas.js';
import { INJECTABLE } from '../donations/index.js';

const code = z.string().regex(/^[a-z_]+(:[\w#-]+)+$/, { error: 'validation.account_code' });

/** Resolving an exception: a note always; an adjusting journal when money must move to make the books right. */
export const ExceptionResolve = z.object({
  note: plainText(500).pipe(z.string().min(4)),
  adjustment: z.object({ debit: code, credit: code, amount: fen(10_000_000_000, 1) }).strict().optional(),
}).strict();
export type ExceptionResolve = z.infer<typeof ExceptionResolve>;

export const PayoutListQuery = z.object({ reconciliation: z.enum(['pending', 'reconciled', 'exceptions']).optional(), from: isoDate.optional(), to: isoDate.optional(), ...pagination });
export const ItemListQuery = z.object({ status: z.enum(['pending', 'matched', 'exception', 'skipped']).optional(), ...pagination });
export const ExceptionListQuery = z.object({
  status: z.enum(['open', 'resolved']).optional(),
  kind: z.enum(['missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'fee_mismatch', 'currency_mismatch', 'payout_sum_mismatch']).optional(),
  payout: z.string().regex(/^po_\w+$/).optional(),
  ...pagination,
});
/** `POST /api/reconciliation/run`: one payout, or every payout of the last `days`. */
export const RunRequest = z.object({ payout: z.string().regex(/^po_\w+$/).optional(), days: z.number().int().min(1).max(90).default(7) }).strict();
export const SandboxPayoutRequest = z.object({ inject: z.array(z.enum(INJECTABLE)).max(INJECTABLE.length).default([]) }).strict();
