import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { can, type Principal } from '../auth/index.js';
import { chart, credit, debit, JournalKind, type LedgerService } from '../ledger/index.js';

/** One line of a bank statement, as imported. */
export interface StatementLine { date: Date; amount: number; reference: string; payer?: string }

/**
 * Sponsors' pledges: a grant's budget is pledged at activation (receivable from the sponsor);
 * finance invoices it and records what arrives, by hand or from a bank statement matched by the
 * invoice number in the payment reference. Each receipt is a journal: bank ← sponsor's pledge.
 * Matched money waits for these receipts before it moves into a pool.
 */
export function createPledges(deps: { db: Knex; ledger: LedgerService }) {
  const { db, ledger } = deps;

  async function grantOf(id: number) {
    const g = await db('grants').where({ id }).first('id', 'sponsor_id', 'budget_minor', 'status', 'name');
    if (!g) throw new NotFoundError('grant');
    return g as { id: number; sponsor_id: number; budget_minor: number; status: string; name: string };
  }

  async function receive(p: Principal, g: { id: number; sponsor_id: number }, r: { amount: number; reference: string; received_on: Date; invoice_id: number | null; source: 'manual' | 'bank_statement'; line?: StatementLine }) {
    return db.transaction(async (trx) => {
      const existing = await trx('sponsor_receipts').where({ reference: r.reference }).first();
      if (existing) {
        if (existing.grant_id === g.id && Number(existing.amount_minor) === r.amount) return { receipt: existing, replayed: true };
        throw new ConflictError('reference_taken', 'errors.reference_taken');
      }
      const { journalId } = await ledger.postJournal(trx, {
        kind: JournalKind.SPONSOR_RECEIPT, idempotencyKey: `sponsor-receipt:${r.reference}`, effectiveAt: r.received_on,
        refs: { grant_id: g.id, reference: r.reference, invoice_id: r.invoice_id },
        legs: [debit(await ledger.ensureAccount(trx, chart.bank('CNY')), r.amount), credit(await ledger.ensureAccount(trx, chart.sponsorPledges(g.sponsor_id, 'CNY')), r.amount)],
      });
      const [receipt] = await trx('sponsor_receipts').insert({
        grant_id: g.id, invoice_id: r.invoice_id, amount_minor: r.amount, reference: r.reference, received_on: r.received_on, source: r.source,
        statement_line: r.line ? JSON.stringify(r.line) : null, journal_id: journalId, created_by: p.userId,
      }).returning('*');
      return { receipt, replayed: false };
    });
  }

  return {
    /** What a grant's sponsor pledged, was invoiced for and has paid. */
    async of(grantId: number) {
      const g = await grantOf(grantId);
      const invoices = await db('sponsor_invoices').where({ grant_id: grantId }).orderBy('id');
      const receipts = await db('sponsor_receipts').where({ grant_id: grantId }).orderBy('id');
      const sum = (rows: { amount_minor: number }[]) => rows.reduce((s, r) => s + Number(r.amount_minor), 0);
      const [{ released }] = await db('pool_releases').where({ grant_id: grantId }).sum({ released: 'amount_minor' });
      return {
        grant_id: g.id, pledged: Number(g.budget_minor), invoiced: sum(invoices), received: sum(receipts), released_to_pools: Number(released ?? 0),
        outstanding: Number(g.budget_minor) - sum(receipts), invoices, receipts,
      };
    },

    async invoice(p: Principal, grantId: number, input: { number: string; amount: number; issued_on: Date; due_on?: Date; note?: string }) {
      if (!can(p, 'pledge.manage')) throw new ForbiddenError();
      await grantOf(grantId);
      if (await db('sponsor_invoices').where({ number: input.number }).first('id')) throw new ConflictError('invoice_number_taken', 'errors.invoice_number_taken');
      const [row] = await db('sponsor_invoices').insert({ grant_id: grantId, number: input.number, amount_minor: input.amount, issued_on: input.issued_on, due_on: input.due_on ?? null, note: input.note ?? null, created_by: p.userId }).returning('*');
      return row;
    },

    /** A receipt entered by hand. The same reference with the same figures returns the receipt already made. */
    async receipt(p: Principal, grantId: number, input: { amount: number; reference: string; received_on: Date; invoice?: string }) {
      if (!can(p, 'pledge.manage')) throw new ForbiddenError();
      const g = await grantOf(grantId);
      const invoice = input.invoice ? await db('sponsor_invoices').where({ number: input.invoice, grant_id: grantId }).first('id') : null;
      if (input.invoice && !invoice) throw new NotFoundError('invoice');
      return receive(p, g, { amount: input.amount, reference: input.reference, received_on: input.received_on, invoice_id: invoice?.id ?? null, source: 'manual' });
    },

    /**
     * A bank statement: each credit line whose reference contains an invoice number becomes a
     * receipt against that invoice's grant; other lines are listed back, unmatched. Importing the
     * same statement twice records nothing new.
     */
    async importStatement(p: Principal, lines: StatementLine[]) {
      if (!can(p, 'pledge.manage')) throw new ForbiddenError();
      const invoices: { id: number; grant_id: number; number: string; sponsor_id: number }[] = await db('sponsor_invoices as i').join('grants as g', 'g.id', 'i.grant_id').select('i.id', 'i.grant_id', 'i.number', 'g.sponsor_id');
      const byLength = [...invoices].sort((a, b) => b.number.length - a.number.length);
      const out = { matched: [] as unknown[], duplicates: [] as unknown[], unmatched: [] as StatementLine[] };
      for (const line of lines) {
        const inv = line.amount > 0 ? byLength.find((i) => line.reference.toUpperCase().includes(i.number.toUpperCase())) : undefined;
        if (!inv) {
          out.unmatched.push(line);
          continue;
        }
        const reference = `bank:${line.date.toISOString().slice(0, 10)}:${line.reference}:${line.amount}`;
        const r = await receive(p, { id: inv.grant_id, sponsor_id: inv.sponsor_id }, { amount: line.amount, reference, received_on: line.date, invoice_id: inv.id, source: 'bank_statement', line });
        (r.replayed ? out.duplicates : out.matched).push({ invoice: inv.number, grant_id: inv.grant_id, amount: line.amount, reference: line.reference, receipt_id: r.receipt.id });
      }
      return out;
    },
  };
}

export type Pledges = ReturnType<typeof createPledges>;
