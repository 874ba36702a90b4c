import { z } from 'zod';
import { currency, fen, plainText, slug } from '../../http/schemas.js';

export { IdempotencyKey } from '../../http/schemas.js';

const donor = z.object({
  name: plainText(40).optional(),
  email: z.string().trim().pipe(z.email({ error: 'validation.email' }).max(254)).optional(),
  phone: z.string().regex(/^\+?[0-9][0-9 -]{4,19}$/, { error: 'validation.phone' }).optional(),
  anonymous: z.boolean().optional(),
});

/** `POST /api/campaigns/:slug/donations`; `max` is DONATION_MAX_AMOUNT. */
export const donationCreate = (max: number) =>
  z.object({
    amount: fen(max),
    currency: currency.default('CNY'),
    donor: donor.default({}),
    message: plainText(200).optional(),
    team: slug.optional(),
  });
export type DonationCreateInput = z.infer<ReturnType<typeof donationCreate>>;


/** `POST /api/donations/:id/refunds`: a partial amount, or the rest when omitted. */
export const RefundCreate = z.object({ amount: fen(10_000_000_000, 1).optional() });

/** A form field: the first value if a field is repeated; length is judged by the donation schema. */
const formField = z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.string().max(4000).optional());

/** The resident's donate form (amounts typed in yuan). */
export const DonateForm = z.object({
  amount_preset: formField,
  amount_yuan: formField,
  name: formField,
  anonymous: formField,
  email: formField,
  phone: formField,
  message: formField,
  idempotency_key: formField,
});

export const DonationId = z.uuid({ error: 'validation.invalid' });
