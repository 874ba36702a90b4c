import type { Knex } from 'knex';
import { ConflictError, NotFoundError } from '../../../lib/errors.js';
import type { ProviderBalanceTransaction, ProviderPayout } from './payment-provider.js';
import { stripeId } from './stripe-events.js';

/** Discrepancies the sandbox can put into a payout on command, one each, so every exception path runs offline. */
export const INJECTABLE = ['missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'fee_mismatch', 'currency_mismatch', 'payout_sum_mismatch'] as const;
export type Injection = (typeof INJECTABLE)[number];

/** The fixed fee the sandbox charges on a dispute (Stripe's dispute fee, in fen). */
export const SANDBOX_DISPUTE_FEE = 1500;
const PAGE = 5000;

/**
 * Writes the pages the sandbox answers a payout's list with: its transactions by id, PAGE to a
 * page, each page a JSON array in the provider interface's shape (as Stripe sends a JSON page).
 */
export async function writeTransactionPages(q: Knex | Knex.Transaction, payoutIds: string[]): Promise<void> {
  await q.raw(
    `INSERT INTO sandbox_balance_transaction_pages (payout_id, page, body)
     SELECT payout_id, page, json_agg(json_build_object('id', id, 'type', type, 'category', category, 'source', source, 'amount', amount_minor,
              'fee', fee_minor, 'net', net_minor, 'currency', lower(currency), 'created', extract(epoch FROM created_at)::bigint) ORDER BY id)::text
       FROM (SELECT b.*, ((row_number() OVER (PARTITION BY payout_id ORDER BY id)) - 1) / ? AS page
               FROM sandbox_balance_transactions b WHERE payout_id = ANY(?)) t
      GROUP BY payout_id, page`,
    [PAGE, payoutIds],
  );
}

interface PayoutRow { id: string; amount_minor: number; currency: string; created_at: Date; injected: string[] }
const unix = (d: Date) => Math.floor(d.getTime() / 1000);
const payoutShape = (p: PayoutRow): ProviderPayout => ({ id: p.id, amount: Number(p.amount_minor), currency: p.currency.toLowerCase(), status: 'paid', created: unix(p.created_at), arrival_date: unix(p.created_at) });

/**
 * The sandbox's payouts, shaped like Stripe's: a payout carries every balance transaction not yet
 * paid out (succeeded charges less the fee, refunds, disputes less the dispute fee) and its own
 * `payout` transaction, and is announced with a signed `payout.paid` event.
 */
export function createSandboxPayouts(deps: { db: Knex; feeBasisPoints: number; send: (type: string, object: Record<string, unknown>) => Promise<void> }) {
  const { db } = deps;

  /** Writes the payout's balance transactions in one statement per kind of movement. */
  async function collect(trx: Knex.Transaction, payoutId: string): Promise<void> {
    const id = `'txn_sandbox_' || replace(gen_random_uuid()::text, '-', '')`;
    await trx.raw(
      `INSERT INTO sandbox_balance_transactions (id, payout_id, type, category, source, amount_minor, fee_minor, net_minor, currency, created_at)
       SELECT ${id}, ?, 'charge', 'charge', p.charge_id, p.amount_minor, f.fee, p.amount_minor - f.fee, p.currency, p.updated_at
         FROM sandbox_payments p, LATERAL (SELECT coalesce(p.fee_minor, (p.amount_minor * ? + 5000) / 10000) AS fee) f
        WHERE p.status = 'succeeded' AND NOT p.withheld
          AND NOT EXISTS (SELECT 1 FROM sandbox_balance_transactions b WHERE b.source = p.charge_id AND b.type = 'charge')`,
      [payoutId, deps.feeBasisPoints],
    );
    await trx.raw(
      `INSERT INTO sandbox_balance_transactions (id, payout_id, type, category, source, amount_minor, fee_minor, net_minor, currency, created_at)
       SELECT ${id}, ?, 'refund', 'refund', r->>'id', -(r->>'amount')::bigint, 0, -(r->>'amount')::bigint, p.currency, to_timestamp((r->>'created')::bigint)
         FROM sandbox_payments p, jsonb_array_elements(p.refunds) r
        WHERE r->>'status' = 'succeeded' AND NOT p.withheld
          AND NOT EXISTS (SELECT 1 FROM sandbox_balance_transactions b WHERE b.source = r->>'id' AND b.type = 'refund')`,
      [payoutId],
    );
    await trx.raw(
      `INSERT INTO sandbox_balance_transactions (id, payout_id, type, category, source, amount_minor, fee_minor, net_minor, currency, created_at)
       SELECT ${id}, ?, 'adjustment', 'dispute', d->>'id', -(d->>'amount')::bigint, ?, -(d->>'amount')::bigint - ?, p.currency, to_timestamp((d->>'created')::bigint)
         FROM sandbox_payments p, jsonb_array_elements(p.disputes) d
        WHERE NOT p.withheld AND NOT EXISTS (SELECT 1 FROM sandbox_balance_transactions b WHERE b.source = d->>'id' AND b.type = 'adjustment')`,
      [payoutId, SANDBOX_DISPUTE_FEE, SANDBOX_DISPUTE_FEE],
    );
  }

  /** Bends this payout's transactions as asked; each injection takes a different charge. */
  async function inject(trx: Knex.Transaction, payoutId: string, injections: Injection[]): Promise<number> {
    const charges: string[] = await trx('sandbox_balance_transactions').where({ payout_id: payoutId, type: 'charge' }).orderBy('id').pluck('id');
    const take = () => {
      const next = charges.shift();
      if (!next) throw new ConflictError('not_enough_to_inject', 'errors.not_enough_to_inject');
      return trx('sandbox_balance_transactions').where({ id: next });
    };
    let sumOffset = 0;
    for (const kind of injections) {
      if (kind === 'amount_mismatch') await take().update({ amount_minor: trx.raw('amount_minor + 100'), net_minor: trx.raw('net_minor + 100') });
      if (kind === 'fee_mismatch') await take().update({ fee_minor: trx.raw('fee_minor + 1'), net_minor: trx.raw('net_minor - 1') });
      if (kind === 'currency_mismatch') await take().update({ currency: 'USD' });
      if (kind === 'payout_sum_mismatch') sumOffset -= 100;
      if (kind === 'missing_in_ledger') {
        await trx('sandbox_balance_transactions').insert({ id: stripeId('txn_sandbox'), payout_id: payoutId, type: 'charge', category: 'charge', source: stripeId('ch_sandbox_unknown'), amount_minor: 1000, fee_minor: 6, net_minor: 994, currency: 'CNY', created_at: new Date() });
      }
    }
    return sumOffset;
  }

  return {
    /**
     * Pays out everything available, with the asked discrepancies, and announces it with
     * `payout.paid`. `missing_at_processor` keeps one paid charge out of this and every later payout.
     */
    async create(injections: Injection[] = []): Promise<{ id: string; amount: number; items: number; injected: Injection[] }> {
      const id = stripeId('po_sandbox');
      const payout = await db.transaction(async (trx) => {
        await trx.raw('LOCK TABLE sandbox_payouts IN EXCLUSIVE MODE');
        if (injections.includes('missing_at_processor')) {
          const kept = await trx('sandbox_payments as p').where({ status: 'succeeded', withheld: false })
            .whereNotExists(trx('sandbox_balance_transactions as b').whereRaw('b.source = p.charge_id')).orderBy('p.updated_at').first('p.payment_ref');
          if (!kept) throw new ConflictError('not_enough_to_inject', 'errors.not_enough_to_inject');
          await trx('sandbox_payments').where({ payment_ref: kept.payment_ref }).update({ withheld: true });
        }
        await trx('sandbox_payouts').insert({ id, amount_minor: 0, currency: 'CNY', injected: injections });
        await collect(trx, id);
        const offset = await inject(trx, id, injections);
        const { rows } = await trx.raw(`SELECT count(*)::int AS n, coalesce(sum(net_minor), 0)::bigint AS net FROM sandbox_balance_transactions WHERE payout_id = ?`, [id]);
        if (rows[0].n === 0) throw new ConflictError('nothing_to_pay_out', 'errors.nothing_to_pay_out');
        const amount = Number(rows[0].net) + offset;
        await trx('sandbox_balance_transactions').insert({ id: stripeId('txn_sandbox'), payout_id: id, type: 'payout', category: 'payout', source: id, amount_minor: -amount, fee_minor: 0, net_minor: -amount, currency: 'CNY', created_at: new Date() });
        await writeTransactionPages(trx, [id]);
        const [row] = await trx('sandbox_payouts').where({ id }).update({ amount_minor: amount }).returning('*');
        return { row: row as PayoutRow, items: rows[0].n as number };
      });
      await deps.send('payout.paid', { object: 'payout', ...payoutShape(payout.row), method: 'standard', type: 'bank_account' });
      return { id, amount: Number(payout.row.amount_minor), items: payout.items, injected: injections };
    },

    async retrieve(payoutId: string): Promise<ProviderPayout> {
      const row: PayoutRow | undefined = await db('sandbox_payouts').where({ id: payoutId }).first();
      if (!row) throw new NotFoundError('payout');
      return payoutShape(row);
    },

    async *list(sinceUnix: number): AsyncIterable<ProviderPayout> {
      const rows: PayoutRow[] = await db('sandbox_payouts').where('created_at', '>=', new Date(sinceUnix * 1000)).orderBy('created_at', 'desc');
      for (const r of rows) yield payoutShape(r);
    },

    /** A payout's transactions, a page at a time, as written when it was made (each page is parsed as a client parses Stripe's). */
    async *transactions(payoutId: string): AsyncIterable<ProviderBalanceTransaction[]> {
      for (let page = 0; ; page++) {
        const { rows } = await db.raw('SELECT body FROM sandbox_balance_transaction_pages WHERE payout_id = ? AND page = ?', [payoutId, page]);
        if (!rows.length) return;
        const transactions = JSON.parse(rows[0].body) as ProviderBalanceTransaction[];
        yield transactions;
        if (transactions.length < PAGE) return;
      }
    },
  };
}

export type SandboxPayouts = ReturnType<typeof createSandboxPayouts>;
