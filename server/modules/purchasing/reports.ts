import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import { scale } from '../../lib/money.js';
import type { ApprovalRow, Approvals } from '../approvals/index.js';
import { can, type Principal } from '../auth/index.js';
import type { ReportCreateInput } from './purchasing.schemas.js';

/**
 * Monthly reports and the expenses in them (G-11, G-14). Each expense names a line of the
 * application's budget and an uploaded voucher of the same contract. An expense that takes the
 * line's spending past its budget × (1 + the contract's tolerance) needs approval, asked for at
 * once and decided by a second person; the rest are accepted.
 */
export function createReports(deps: { db: Knex; approvals: () => Approvals }) {
  const { db } = deps;

  return {
    async submit(p: Principal, contractId: number, input: ReportCreateInput, t: Translate) {
      const c = await db('contracts as k').join('applications as a', 'a.id', 'k.application_id').where('k.id', contractId).first('k.*', 'a.budget_lines');
      if (!c) throw new NotFoundError('contract');
      if (!can(p, 'project.report', { organisationId: c.organisation_id })) throw new ForbiddenError();
      if (c.status !== 'signed') throw new ConflictError('contract_not_signed', 'errors.gate.contract_not_signed');
      const lines = new Map<string, number>((c.budget_lines as { line: string; amount: number }[]).map((l) => [l.line, Number(l.amount)]));
      const fields: Record<string, string> = {};
      const vouchers = input.expenses.length ? await db('attachments').whereIn('id', input.expenses.map((e) => e.attachment)).where({ owner_type: 'contract', owner_id: String(contractId) }).pluck('id') : [];
      input.expenses.forEach((e, i) => {
        if (!lines.has(e.budget_line)) fields[`expenses.${i}.budget_line`] = t('validation.unknown_budget_line');
        if (!vouchers.includes(e.attachment)) fields[`expenses.${i}.attachment`] = t('validation.unknown_attachment');
      });
      if (Object.keys(fields).length) throw new ValidationError(fields);

      const result = await db.transaction(async (trx) => {
        await trx('contracts').where({ id: contractId }).forUpdate().first('id');
        if (await trx('project_reports').where({ contract_id: contractId, period: input.period }).first('id')) throw new ConflictError('report_exists', 'errors.report_exists', { period: input.period });
        const [report] = await trx('project_reports').insert({
          contract_id: contractId, period: input.period, outputs: input.outputs, income_minor: input.income,
          expense_minor: input.expenses.reduce((s, e) => s + e.amount, 0), submitted_by: p.userId,
        }).returning('*');
        const spent = new Map<string, number>((await trx('project_expenses').where({ contract_id: contractId }).whereIn('status', ['accepted', 'approved', 'needs_approval']).groupBy('budget_line').select('budget_line', trx.raw('sum(amount_minor)::bigint AS s'))).map((r) => [r.budget_line, Number(r.s)]));
        const review: number[] = [];
        for (const e of input.expenses) {
          const after = (spent.get(e.budget_line) ?? 0) + e.amount;
          spent.set(e.budget_line, after);
          const limit = lines.get(e.budget_line)! + scale(lines.get(e.budget_line)!, c.tolerance_bp, 10_000);
          const [row] = await trx('project_expenses').insert({
            contract_id: contractId, report_id: report.id, budget_line: e.budget_line, description: e.description, amount_minor: e.amount, attachment_id: e.attachment,
            status: after > limit ? 'needs_approval' : 'accepted',
          }).returning('*');
          if (row.status === 'needs_approval') review.push(row.id);
        }
        return { report, review };
      });
      for (const id of result.review) {
        const a = await deps.approvals().request(p, 'expense', 'project_expense', id, { expense_id: id, contract_id: contractId });
        await db('project_expenses').where({ id }).update({ approval_id: a.id });
      }
      return { report: result.report, expenses: await db('project_expenses').where({ report_id: result.report.id }).orderBy('id') };
    },

    /** The second person's decision on an expense over its line. */
    decided: async (a: ApprovalRow, approved: boolean) => {
      await db('project_expenses').where({ id: Number(a.subject_id), status: 'needs_approval' }).update({ status: approved ? 'approved' : 'rejected' });
      return { expense_id: Number(a.subject_id), status: approved ? 'approved' : 'rejected' };
    },

    /** Whether a report names this file as a voucher (then it is part of the public money trail). */
    voucherIsReported: async (attachmentId: string) => Boolean(await db('project_expenses').where({ attachment_id: attachmentId }).first('id')),

    ofContract: async (contractId: number) => {
      const reports = await db('project_reports').where({ contract_id: contractId }).orderBy('period');
      const expenses = await db('project_expenses as e').join('attachments as f', 'f.id', 'e.attachment_id').where('e.contract_id', contractId).orderBy('e.id').select('e.*', 'f.filename', 'f.content_type');
      return reports.map((r) => ({ ...r, expenses: expenses.filter((e) => e.report_id === r.id) }));
    },
  };
}

export type Reports = ReturnType<typeof createReports>;
