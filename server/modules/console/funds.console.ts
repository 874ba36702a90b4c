import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { sendCsv } from '../../http/csv.js';
import { issuesToFields } from '../../http/validation.js';
import type { Container } from '../../container.js';
import { AgreementInput, CommitteeInput } from '../funds/index.js';
import { allow, audited, flashTo } from './console-helpers.js';
import { one } from './form-values.js';
import { idOrZero } from '../../http/schemas.js';

const day = /^\d{4}-\d{2}-\d{2}$/;
const PeriodQuery = z.object({ from: z.string().regex(day).optional().catch(undefined), to: z.string().regex(day).optional().catch(undefined) });

/** `name | role | affiliation`, one member a line, as the committee form takes them. */
function committeeLines(text: string) {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => {
    const [name, role, affiliation] = l.split('|').map((x) => x.trim());
    return { name, role, ...(affiliation ? { affiliation } : {}) };
  });
}

const cst = (s: string) => new Date(`${s}T00:00:00+08:00`);

/** A fund's page: its standing, agreement (C-2), committee (C-4) and statement (D-7) with CSV. */
export function fundsConsole(c: Container): Router {
  const r = Router();

  async function view(req: Request, id: number, extra: Record<string, unknown> = {}) {
    const fund = await c.funds.get(req.principal, id);
    const q = PeriodQuery.parse(req.query);
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const period = { from: q.from ?? `${today.slice(0, 4)}-01-01`, to: q.to ?? today };
    const statement = await c.statements.fund(req.principal, id, cst(period.from), new Date(cst(period.to).getTime() + 86_400_000));
    const committeeText = fund.committee.map((m: { name: string; role: string; affiliation: string | null }) => [m.name, m.role, m.affiliation ?? ''].join(' | ')).join('\n');
    return { title: fund.name, fund, statement, period, values: { committee: committeeText, ...(fund.agreement ? { ...fund.agreement, signed_on: new Date(fund.agreement.signed_on).toISOString().slice(0, 10) } : {}) }, errors: {}, form: null, ...extra };
  }

  const fundId = (req: Request) => idOrZero(req.params.id);

  r.get('/console/funds/:id', async (req, res) => {
    res.render('console/fund', await view(req, fundId(req)));
  });

  r.get('/console/funds/:id/statement.csv', async (req, res) => {
    const v = await view(req, fundId(req));
    const s = v.statement;
    const rows = [
      ['opening_balance', s.opening_balance], ['income.donations', s.income.donations], ['income.matching', s.income.matching], ['income.government', s.income.government],
      ...Object.entries(s.expenses).map(([k, val]) => [`expenses.${k}`, val]), ['closing_balance', s.closing_balance],
    ].map(([line, fen]) => ({ line, fen, yuan: (Number(fen) / 100).toFixed(2) }));
    sendCsv(res, `fund-${s.fund.id}-${v.period.from}-${v.period.to}.csv`, [{ key: 'line', label: req.t('statement.line') }, { key: 'fen', label: req.t('statement.fen') }, { key: 'yuan', label: req.t('statement.yuan') }], rows);
  });

  async function reject(req: Request, res: Response, form: string, fields: Record<string, string>) {
    res.status(422).render('console/fund', await view(req, fundId(req), { values: req.body ?? {}, errors: fields, form }));
  }

  r.post('/console/funds/:id/agreement', async (req, res) => {
    allow(req, 'fund.manage');
    const b = req.body ?? {};
    const parsed = AgreementInput.safeParse({ purpose: one(b.purpose), management_fee_bp: Number(one(b.management_fee_bp)), surplus_disposal: one(b.surplus_disposal), signed_on: one(b.signed_on), signatories: one(b.signatories) });
    if (!parsed.success) return reject(req, res, 'agreement', issuesToFields(parsed.error.issues, req.t));
    const { before, after } = await c.funds.setAgreement(req.principal!, fundId(req), parsed.data);
    await audited(c, req, { action: 'fund.agreement_signed', subjectType: 'fund', subjectId: fundId(req), before, after });
    flashTo(req, res, `/console/funds/${fundId(req)}`, req.t('console.saved'));
  });

  r.post('/console/funds/:id/committee', async (req, res) => {
    allow(req, 'fund.manage');
    const parsed = CommitteeInput.safeParse({ members: committeeLines(String(one(req.body?.committee) ?? '')) });
    if (!parsed.success) return reject(req, res, 'committee', { committee: Object.values(issuesToFields(parsed.error.issues, req.t))[0] });
    const { before, after } = await c.funds.setCommittee(req.principal!, fundId(req), parsed.data);
    await audited(c, req, { action: 'fund.committee_set', subjectType: 'fund', subjectId: fundId(req), before, after });
    flashTo(req, res, `/console/funds/${fundId(req)}`, req.t('console.saved'));
  });

  return r;
}
