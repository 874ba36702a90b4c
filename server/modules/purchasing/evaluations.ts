import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import { can, type Principal } from '../auth/index.js';

/** G-12: the scorecard (weights add up to 100). */
export const SCORECARD = [
  { key: 'administration', weight: 20 },
  { key: 'finance', weight: 20 },
  { key: 'delivery', weight: 30 },
  { key: 'social', weight: 20 },
  { key: 'publicity', weight: 10 },
] as const;

/** G-13: every party must give its input; their weights in the final score. */
export const PARTIES = { street: 30, residents: 30, third_party: 30, self: 10 } as const;
export type Party = keyof typeof PARTIES;

/** G-12 grade bands and what each brings. */
export function grade(score: number): { grade: 'excellent' | 'good' | 'basic' | 'fail'; consequence: 'priority' | 'rectification' | 'ban' } {
  if (score >= 90) return { grade: 'excellent', consequence: 'priority' };
  if (score >= 80) return { grade: 'good', consequence: 'priority' };
  if (score >= 60) return { grade: 'basic', consequence: 'rectification' };
  return { grade: 'fail', consequence: 'ban' };
}

const cardTotal = (scores: Record<string, number>) => SCORECARD.reduce((s, c) => s + (scores[c.key] ?? 0) * c.weight, 0) / 100;

/**
 * Mid-term and final evaluations (G-12, G-13). Each of the four parties gives its scores once:
 * the street (its officer), the residents served (their survey, entered by the street), an
 * independent third party (an expert of the reviewer pool) and the organisation itself. When the
 * last input arrives the weighted score and grade are fixed and applied: excellent or good puts
 * the organisation on the red list (priority next round), basic asks for a rectification plan,
 * fail bans it for a year (black list).
 */
export function createEvaluations(deps: { db: Knex }) {
  const { db } = deps;

  function mayGive(p: Principal, party: Party, c: { street_id: number; organisation_id: number }): boolean {
    if (party === 'street' || party === 'residents') return can(p, 'contract.manage', { streetId: c.street_id });
    if (party === 'third_party') return p.role === 'reviewer' || p.role === 'association_admin';
    return can(p, 'project.report', { organisationId: c.organisation_id });
  }

  return {
    async give(p: Principal, contractId: number, stage: 'midterm' | 'final', input: { party: Party; scores: Record<string, number>; comment?: string }, t: Translate, now = new Date()) {
      const c = await db('contracts as k').join('calls as c', 'c.id', 'k.call_id').where('k.id', contractId).first('k.*', 'c.street_id');
      if (!c) throw new NotFoundError('contract');
      if (!mayGive(p, input.party, c)) throw new ForbiddenError();
      if (c.status !== 'signed') throw new ConflictError('contract_not_signed', 'errors.gate.contract_not_signed');
      const keys: string[] = SCORECARD.map((x) => x.key);
      const missing = keys.filter((k) => !(k in input.scores));
      const extra = Object.keys(input.scores).filter((k) => !keys.includes(k));
      if (missing.length || extra.length) throw new ValidationError(Object.fromEntries([...missing.map((k) => [`scores.${k}`, t('validation.required')]), ...extra.map((k) => [`scores.${k}`, t('validation.unknown_field')])]));
      return db.transaction(async (trx) => {
        await trx('evaluations').insert({ contract_id: contractId, stage }).onConflict(['contract_id', 'stage']).ignore();
        const e = await trx('evaluations').where({ contract_id: contractId, stage }).forUpdate().first();
        if (e.completed_at) throw new ConflictError('evaluation_complete', 'errors.evaluation_complete');
        if (stage === 'final' && !(await trx('evaluations').where({ contract_id: contractId, stage: 'midterm' }).whereNotNull('completed_at').first('id'))) {
          throw new ConflictError('midterm_first', 'errors.midterm_first');
        }
        if (await trx('evaluation_inputs').where({ evaluation_id: e.id, party: input.party }).first('id')) throw new ConflictError('input_given', 'errors.input_given');
        await trx('evaluation_inputs').insert({ evaluation_id: e.id, party: input.party, scores: JSON.stringify(input.scores), comment: input.comment ?? null, submitted_by: p.userId });
        const inputs: { party: Party; scores: Record<string, number> }[] = await trx('evaluation_inputs').where({ evaluation_id: e.id });
        if (inputs.length < Object.keys(PARTIES).length) return { evaluation_id: e.id, complete: false, waiting_for: Object.keys(PARTIES).filter((x) => !inputs.some((i) => i.party === x)) };
        const score = Math.round(inputs.reduce((s, i) => s + cardTotal(i.scores) * PARTIES[i.party], 0)) / 100;
        const g = grade(score);
        await trx('evaluations').where({ id: e.id }).update({ score, grade: g.grade, consequence: g.consequence, completed_at: now });
        const year = new Date(now.getTime() + 365 * 86_400_000);
        if (g.consequence === 'priority') await trx('credit_list').insert({ organisation_id: c.organisation_id, list: 'red', reason: `${stage}:${g.grade}`, since: now, until: year, evaluation_id: e.id });
        if (g.consequence === 'ban') await trx('credit_list').insert({ organisation_id: c.organisation_id, list: 'black', reason: `${stage}:fail`, since: now, until: year, evaluation_id: e.id });
        return { evaluation_id: e.id, complete: true, score, ...g };
      });
    },

    ofContract: async (contractId: number) => {
      const evals = await db('evaluations').where({ contract_id: contractId }).orderBy('id');
      const inputs = evals.length ? await db('evaluation_inputs').whereIn('evaluation_id', evals.map((e) => e.id)).orderBy('id').select('evaluation_id', 'party', 'scores', 'comment', 'submitted_at') : [];
      return evals.map((e) => ({ ...e, score: e.score === null ? null : Number(e.score), inputs: inputs.filter((i) => i.evaluation_id === e.id) }));
    },

    /** The public red and black list (entries still running, newest first). */
    creditList: (now = new Date()) => db('credit_list as l').join('organisations as o', 'o.id', 'l.organisation_id')
      .where((w) => w.whereNull('l.until').orWhere('l.until', '>=', now)).orderBy('l.id', 'desc').select('l.*', 'o.name as organisation'),
  };
}

export type Evaluations = ReturnType<typeof createEvaluations>;
