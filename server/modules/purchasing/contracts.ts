import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { allocate } from '../../lib/money.js';
import type { ApprovalRow, Approvals } from '../approvals/index.js';
import { can, type Principal } from '../auth/index.js';
import { chart, credit, debit, JournalKind, type LedgerService, type Leg, type PoolSource } from '../ledger/index.js';
import type { CallRow } from './calls.js';
import type { Notices } from './notices.js';
import type { AwardRequestInput } from './purchasing.schemas.js';

const cstMonth = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 7);

/** Every month from the contract's first to the one before `now` (CST): each needs its report (G-11). */
export function reportMonths(startsOn: Date, now: Date): string[] {
  const out: string[] = [];
  const [y0, m0] = cstMonth(startsOn).split('-').map(Number);
  const last = cstMonth(now);
  for (let y = y0, m = m0; ; m === 12 ? ((m = 1), y++) : m++) {
    const p = `${y}-${String(m).padStart(2, '0')}`;
    if (p >= last) return out;
    out.push(p);
  }
}

/**
 * Contracts and their tranches (G-9, G-10, G-14). An award is asked for by the street and carried
 * out only when a second person approves it, once the public notice is over with no open
 * objection: each shortlisted application gets a contract, its amount moves from the call's
 * commitment to the contract's, source by source, and its schedule of tranches (totalling 100 %)
 * is fixed. A tranche is paid, also under four-eyes, only when its gate holds (signed, mid-term
 * passed, final accepted), the tranches before it are paid and no monthly report is missing.
 */
export function createContracts(deps: { db: Knex; ledger: LedgerService; notices: Notices; approvals: () => Approvals }) {
  const { db, ledger } = deps;

  async function awardBlocker(call: CallRow, now: Date): Promise<string | null> {
    if (call.status !== 'notice') return 'call_not_in_notice';
    if (!call.notice_ends_at || now < new Date(call.notice_ends_at)) return 'notice_running';
    if ((await deps.notices.openCount(call.id)) > 0) return 'objections_open';
    return null;
  }

  async function gateBlocker(trx: Knex.Transaction, t: { contract_id: number; seq: number; gate: string }, now: Date): Promise<string | null> {
    const c = await trx('contracts').where({ id: t.contract_id }).first();
    if (c.status !== 'signed') return 'contract_not_signed';
    const [{ n }] = await trx('tranches').where({ contract_id: t.contract_id }).where('seq', '<', t.seq).whereNot('status', 'paid').count({ n: '*' });
    if (Number(n) > 0) return 'earlier_tranche_unpaid';
    if (t.gate !== 'signed') {
      const e = await trx('evaluations').where({ contract_id: t.contract_id, stage: t.gate }).first();
      if (!e?.completed_at) return `${t.gate}_not_evaluated`;
      if (e.grade === 'fail') return `${t.gate}_failed`;
      const reported: string[] = await trx('project_reports').where({ contract_id: t.contract_id }).pluck('period');
      if (reportMonths(new Date(c.starts_on), now).some((m) => !reported.includes(m))) return 'report_missing';
    }
    return null;
  }

  return {
    reportMonths,

    async requestAward(p: Principal, call: CallRow, input: AwardRequestInput, now = new Date()): Promise<ApprovalRow> {
      if (!can(p, 'contract.manage', { streetId: call.street_id })) throw new ForbiddenError();
      const why = await awardBlocker(call, now);
      if (why) throw new ConflictError(why, `errors.${why}`);
      return deps.approvals().request(p, 'award', 'call', call.id, { ...input, starts_on: input.starts_on.toISOString(), ends_on: input.ends_on.toISOString() });
    },

    /** The approved award: contracts, tranche schedules and one award journal per contract. */
    async award(a: ApprovalRow, now = new Date()) {
      const input = a.payload as unknown as { starts_on: string; ends_on: string; tranches: { percent: number; gate: string }[]; tolerance_bp: number };
      return db.transaction(async (trx) => {
        const call: CallRow = await trx('calls').where({ id: Number(a.subject_id) }).forUpdate().first();
        const why = await awardBlocker(call, now);
        if (why) throw new ConflictError(why, `errors.${why}`);
        const apps = await trx('applications').where({ call_id: call.id, status: 'shortlisted' }).orderBy('id');
        const sources = Object.keys(call.funding) as PoolSource[];
        const left = Object.fromEntries(sources.map((s) => [s, Number(call.funding[s])])) as Record<PoolSource, number>;
        const contracts = [];
        for (const app of apps) {
          const parts = allocate(Number(app.amount_minor), sources.map((s) => left[s]));
          const funding = Object.fromEntries(sources.map((s, i) => [s, parts[i]]).filter(([, v]) => Number(v) > 0)) as Record<PoolSource, number>;
          for (const s of sources) left[s] -= funding[s] ?? 0;
          const [c] = await trx('contracts').insert({
            call_id: call.id, application_id: app.id, organisation_id: app.organisation_id, amount_minor: app.amount_minor, funding: JSON.stringify(funding),
            starts_on: input.starts_on, ends_on: input.ends_on, tolerance_bp: input.tolerance_bp, created_by: a.requested_by,
          }).returning('*');
          // Each source's share of each tranche, largest remainder, so every column and row adds up exactly.
          const bySource = Object.fromEntries(Object.entries(funding).map(([s, v]) => [s, allocate(v, input.tranches.map((t) => t.percent))]));
          for (const [i, t] of input.tranches.entries()) {
            const f = Object.fromEntries(Object.entries(bySource).map(([s, v]) => [s, v[i]]).filter(([, v]) => Number(v) > 0));
            const amount = Object.values(f).reduce((x: number, y) => x + Number(y), 0);
            await trx('tranches').insert({ contract_id: c.id, seq: i + 1, percent: t.percent, amount_minor: amount, gate: t.gate, funding: JSON.stringify(f) });
          }
          const legs: Leg[] = [];
          for (const [s, v] of Object.entries(funding) as [PoolSource, number][]) {
            legs.push(debit(await ledger.ensureAccount(trx, chart.callCommitted(call.id, s, 'CNY')), v), credit(await ledger.ensureAccount(trx, chart.contractCommitted(c.id, s, 'CNY')), v));
          }
          const { journalId } = await ledger.postJournal(trx, { kind: JournalKind.TRANCHE_AWARD, idempotencyKey: `contract-award:${c.id}`, refs: { call_id: call.id, contract_id: c.id, approval_id: a.id }, legs });
          await trx('contracts').where({ id: c.id }).update({ award_journal_id: journalId });
          await trx('applications').where({ id: app.id }).update({ status: 'awarded' });
          contracts.push(c.id);
        }
        await trx('calls').where({ id: call.id }).update({ status: 'awarded' });
        return { call_id: call.id, contracts };
      });
    },

    /** The organisation (or the street for it) signs the awarded contract. */
    async sign(p: Principal, contractId: number) {
      const c = await db('contracts as t').join('calls as c', 'c.id', 't.call_id').where('t.id', contractId).first('t.*', 'c.street_id');
      if (!c) throw new NotFoundError('contract');
      if (!can(p, 'project.report', { organisationId: c.organisation_id }) && !can(p, 'contract.manage', { streetId: c.street_id })) throw new ForbiddenError();
      if (c.status !== 'awarded') throw new ConflictError('contract_not_awarded', 'errors.contract_not_awarded');
      const [row] = await db('contracts').where({ id: contractId }).update({ status: 'signed', signed_at: db.fn.now() }).returning('*');
      return row;
    },

    /** Asks for a tranche to be paid; refused at once if its gate does not hold. A second person approves. */
    async requestTranche(p: Principal, trancheId: number, now = new Date()): Promise<ApprovalRow> {
      const t = await db('tranches as t').join('contracts as k', 'k.id', 't.contract_id').join('calls as c', 'c.id', 'k.call_id').where('t.id', trancheId).first('t.*', 'c.street_id');
      if (!t) throw new NotFoundError('tranche');
      if (!can(p, 'contract.manage', { streetId: t.street_id })) throw new ForbiddenError();
      if (t.status !== 'planned') throw new ConflictError('tranche_not_planned', 'errors.tranche_not_planned');
      const why = await db.transaction((trx) => gateBlocker(trx, t, now));
      if (why) throw new ConflictError(why, `errors.gate.${why}`);
      // Claimed before the approval is asked for, so of two requests sent at once only one asks.
      if (!(await db('tranches').where({ id: trancheId, status: 'planned' }).update({ status: 'requested' }))) throw new ConflictError('tranche_not_planned', 'errors.tranche_not_planned');
      try {
        const approval = await deps.approvals().request(p, 'disbursement', 'tranche', trancheId, { tranche_id: trancheId, amount: Number(t.amount_minor) });
        await db('tranches').where({ id: trancheId }).update({ approval_id: approval.id });
        return approval;
      } catch (err) {
        await db('tranches').where({ id: trancheId, status: 'requested' }).whereNull('approval_id').update({ status: 'planned' });
        throw err;
      }
    },

    /** The approved payment: its gate checked again, then contract commitment → bank. */
    async payTranche(a: ApprovalRow, now = new Date()) {
      return db.transaction(async (trx) => {
        const t = await trx('tranches').where({ id: Number(a.subject_id) }).forUpdate().first();
        if (!t || t.status !== 'requested') throw new ConflictError('tranche_not_requested', 'errors.tranche_not_requested');
        const why = await gateBlocker(trx, t, now);
        if (why) throw new ConflictError(why, `errors.gate.${why}`);
        const legs: Leg[] = [];
        for (const [s, v] of Object.entries(t.funding as Record<PoolSource, number>)) legs.push(debit(await ledger.ensureAccount(trx, chart.contractCommitted(t.contract_id, s as PoolSource, 'CNY')), v));
        legs.push(credit(await ledger.ensureAccount(trx, chart.bank('CNY')), Number(t.amount_minor)));
        const { journalId } = await ledger.postJournal(trx, { kind: JournalKind.TRANCHE_PAYMENT, idempotencyKey: `tranche:${t.id}`, refs: { contract_id: t.contract_id, tranche_id: t.id, approval_id: a.id }, legs });
        await trx('tranches').where({ id: t.id }).update({ status: 'paid', journal_id: journalId, paid_at: trx.fn.now() });
        const [{ n }] = await trx('tranches').where({ contract_id: t.contract_id }).whereNot('status', 'paid').count({ n: '*' });
        if (Number(n) === 0) await trx('contracts').where({ id: t.contract_id }).update({ status: 'completed' });
        return { tranche_id: t.id, journal_id: journalId };
      });
    },

    /** A tranche whose approval was rejected can be asked for again. */
    async onRejected(a: ApprovalRow) {
      await db('tranches').where({ id: Number(a.subject_id), status: 'requested', approval_id: a.id }).update({ status: 'planned', approval_id: null });
    },

    /** The organisation or the street of a contract may read all of its files. */
    async mayRead(p: Principal | undefined, contractId: number): Promise<boolean> {
      const c = await db('contracts as t').join('calls as c', 'c.id', 't.call_id').where('t.id', contractId).first('t.organisation_id', 'c.street_id');
      return Boolean(c) && (can(p, 'project.report', { organisationId: c.organisation_id }) || can(p, 'contract.manage', { streetId: c.street_id }));
    },

    /** An organisation's contract ids, newest first. */
    idsOfOrganisation: (organisationId: number): Promise<number[]> => db('contracts').where({ organisation_id: organisationId }).orderBy('id', 'desc').pluck('id'),

    /** A call's contracts with what each has been paid (public). */
    ofCall: (callId: number) => db('contracts as t').join('organisations as o', 'o.id', 't.organisation_id').join('applications as a', 'a.id', 't.application_id').where('t.call_id', callId).orderBy('t.id')
      .select('t.id', 't.amount_minor', 't.status', 't.starts_on', 't.ends_on', 'o.name as organisation', 'a.title',
        db.raw("(SELECT coalesce(sum(x.amount_minor), 0)::bigint FROM tranches x WHERE x.contract_id = t.id AND x.status = 'paid') AS paid_minor")),

    /** A street's projects, newest first, with what each has been paid. */
    ofStreet: (streetId: number) => db('contracts as t').join('calls as c', 'c.id', 't.call_id').join('organisations as o', 'o.id', 't.organisation_id').join('applications as a', 'a.id', 't.application_id')
      .where('c.street_id', streetId).orderBy('t.id', 'desc')
      .select('t.id', 't.amount_minor', 't.status', 'o.name as organisation', 'a.title', 'c.title as call_title', 't.funding',
        db.raw("(SELECT coalesce(sum(x.amount_minor), 0)::bigint FROM tranches x WHERE x.contract_id = t.id AND x.status = 'paid') AS paid_minor")),

    async get(contractId: number) {
      const c = await db('contracts as t').join('calls as c', 'c.id', 't.call_id').join('applications as a', 'a.id', 't.application_id').join('organisations as o', 'o.id', 't.organisation_id')
        .where('t.id', contractId).first('t.*', 'c.street_id', 'c.fund_id', 'c.title as call_title', 'a.title', 'a.budget_lines', 'o.name as organisation');
      if (!c) throw new NotFoundError('contract');
      return { ...c, tranches: await db('tranches').where({ contract_id: contractId }).orderBy('seq') };
    },
  };
}

export type Contracts = ReturnType<typeof createContracts>;
