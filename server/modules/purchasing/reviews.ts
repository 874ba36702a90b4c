import { createHmac, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import { can, type Principal } from '../auth/index.js';
import type { CallRow } from './calls.js';
import { addWorkingDays } from './working-days.js';

/** The reviewer pool in the order a seed draws it: each reviewer ranked by HMAC(seed, id). */
export function drawOrder(seed: string, reviewerIds: number[]): number[] {
  const rank = (id: number) => createHmac('sha256', seed).update(String(id)).digest('hex');
  return [...reviewerIds].sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : a - b));
}

export interface RankedApplication {
  application_id: number; title: string; organisation: string; amount: number;
  /** Weighted total (0–100), the mean over the panel, two decimals. */
  score: number;
  /** Highest minus lowest reviewer total: how much the panel disagreed. */
  spread: number;
  reviewers: number;
  rank: number;
  shortlisted: boolean;
}

/**
 * Expert review (G-6). Opening the review draws the panel at random from the reviewer pool,
 * recording the seed; each expert declares conflicts of interest before seeing anything to
 * score, and a conflicted one is replaced by the next in the draw. Scores are per expert and
 * criterion, once each, and stay hidden from other experts until the round closes. Closing ranks
 * the applications by weighted total, shortlists within the budget above the pass score, and
 * opens the public notice (G-7).
 */
export function createReviews(deps: { db: Knex }) {
  const { db } = deps;

  async function panel(trx: Knex | Knex.Transaction, callId: number) {
    return trx('panel_members as m').join('users as u', 'u.id', 'm.reviewer_id').where('m.call_id', callId).orderBy('m.id').select('m.*', 'u.display_name');
  }

  const weighted = (call: CallRow, scores: Record<string, number>) => call.criteria.reduce((s, c) => s + (scores[c.key] ?? 0) * c.weight, 0) / 100;

  return {
    panel: (callId: number) => panel(db, callId),

    /** The calls whose panel an expert sits on, newest first, with its declaration. */
    seatsOf: (reviewerId: number) => db('panel_members as m').join('calls as c', 'c.id', 'm.call_id').where('m.reviewer_id', reviewerId).orderBy('m.id', 'desc')
      .select('c.id', 'c.title', 'c.status', 'm.declared_at', 'm.conflicted'),

    /** Open → review, once the window has closed: draws `panel_size` experts with a recorded seed. */
    async open(p: Principal, call: CallRow, now = new Date()) {
      if (!can(p, 'call.manage', { streetId: call.street_id })) throw new ForbiddenError();
      if (call.status !== 'open') throw new ConflictError('call_not_open', 'errors.call_not_open');
      if (now < call.closes_at) throw new ConflictError('window_still_open', 'errors.window_still_open');
      return db.transaction(async (trx) => {
        const reviewers: number[] = await trx('users').where({ role: 'reviewer' }).whereNull('disabled_at').pluck('id');
        if (reviewers.length < call.panel_size) throw new ConflictError('too_few_reviewers', 'errors.too_few_reviewers', { n: call.panel_size });
        const seed = randomBytes(16).toString('hex');
        const drawn = drawOrder(seed, reviewers).slice(0, call.panel_size);
        await trx('panel_members').insert(drawn.map((id) => ({ call_id: call.id, reviewer_id: id, draw_seed: seed })));
        await trx('applications').where({ call_id: call.id, status: 'awaiting_members' }).update({ status: 'withdrawn' });
        await trx('calls').where({ id: call.id }).update({ status: 'review' });
        return { seed, panel: await panel(trx, call.id) };
      });
    },

    /** The conflict-of-interest declaration; a conflicted expert is replaced by the next one the seed draws. */
    async declare(p: Principal, call: CallRow, input: { conflicted: boolean; note?: string }) {
      if (!can(p, 'review.score')) throw new ForbiddenError();
      if (call.status !== 'review') throw new ConflictError('call_not_in_review', 'errors.call_not_in_review');
      return db.transaction(async (trx) => {
        const me = await trx('panel_members').where({ call_id: call.id, reviewer_id: p.userId }).forUpdate().first();
        if (!me) throw new ForbiddenError('errors.not_on_panel');
        if (me.declared_at) throw new ConflictError('already_declared', 'errors.already_declared');
        await trx('panel_members').where({ id: me.id }).update({ declared_at: trx.fn.now(), conflicted: input.conflicted, conflict_note: input.note ?? null });
        let replacement: number | null = null;
        if (input.conflicted) {
          const taken: number[] = await trx('panel_members').where({ call_id: call.id }).pluck('reviewer_id');
          const pool: number[] = await trx('users').where({ role: 'reviewer' }).whereNull('disabled_at').pluck('id');
          replacement = drawOrder(me.draw_seed, pool).find((id) => !taken.includes(id)) ?? null;
          if (replacement) await trx('panel_members').insert({ call_id: call.id, reviewer_id: replacement, draw_seed: me.draw_seed });
        }
        return { conflicted: input.conflicted, replacement };
      });
    },

    /** One expert's scores for one application, every criterion, once (re-scoring is not allowed). */
    async score(p: Principal, call: CallRow, applicationId: number, input: { scores: Record<string, number>; comment?: string }, t: Translate) {
      if (!can(p, 'review.score')) throw new ForbiddenError();
      if (call.status !== 'review') throw new ConflictError('call_not_in_review', 'errors.call_not_in_review');
      const me = await db('panel_members').where({ call_id: call.id, reviewer_id: p.userId }).first();
      if (!me) throw new ForbiddenError('errors.not_on_panel');
      if (!me.declared_at) throw new ConflictError('declaration_required', 'errors.declaration_required');
      if (me.conflicted) throw new ForbiddenError('errors.conflicted');
      const app = await db('applications').where({ id: applicationId, call_id: call.id, status: 'submitted' }).first('id');
      if (!app) throw new NotFoundError('application');
      const keys = call.criteria.map((c) => c.key);
      const missing = keys.filter((k) => !(k in input.scores));
      const extra = Object.keys(input.scores).filter((k) => !keys.includes(k));
      if (missing.length || extra.length) throw new ValidationError(Object.fromEntries([...missing.map((k) => [`scores.${k}`, t('validation.required')]), ...extra.map((k) => [`scores.${k}`, t('validation.unknown_field')])]));
      if (await db('review_scores').where({ application_id: applicationId, reviewer_id: p.userId }).first('id')) throw new ConflictError('already_scored', 'errors.already_scored');
      await db('review_scores').insert(keys.map((k) => ({ call_id: call.id, application_id: applicationId, reviewer_id: p.userId, criterion: k, score: input.scores[k], comment: input.comment ?? null })));
      return { application_id: applicationId, total: Math.round(weighted(call, input.scores) * 100) / 100 };
    },

    /** Scores as `p` may see them: its own while the round runs; everyone's once it is closed (staff only). */
    async scores(p: Principal | undefined, call: CallRow) {
      const q = db('review_scores as s').join('users as u', 'u.id', 's.reviewer_id').where('s.call_id', call.id).orderBy(['s.application_id', 's.reviewer_id', 's.criterion']).select('s.application_id', 's.reviewer_id', 'u.display_name as reviewer', 's.criterion', 's.score', 's.comment');
      if (call.review_closed_at && can(p, 'call.read_draft', { streetId: call.street_id })) return q;
      return q.where('s.reviewer_id', p?.userId ?? -1);
    },

    /** The ranked result: weighted total per reviewer, averaged; shortlisted in rank order while the budget lasts. */
    async ranking(call: CallRow): Promise<RankedApplication[]> {
      const apps = await db('applications as a').join('organisations as o', 'o.id', 'a.organisation_id').where('a.call_id', call.id).whereIn('a.status', ['submitted', 'shortlisted', 'not_shortlisted', 'awarded'])
        .select('a.id', 'a.title', 'a.amount_minor', 'o.name as organisation');
      const rows: { application_id: number; reviewer_id: number; criterion: string; score: number }[] = await db('review_scores').where({ call_id: call.id });
      const ranked = apps.map((a) => {
        const byReviewer = new Map<number, Record<string, number>>();
        for (const r of rows.filter((x) => x.application_id === a.id)) byReviewer.set(r.reviewer_id, { ...(byReviewer.get(r.reviewer_id) ?? {}), [r.criterion]: r.score });
        const totals = [...byReviewer.values()].map((s) => weighted(call, s));
        const mean = totals.length ? totals.reduce((x, y) => x + y, 0) / totals.length : 0;
        return { application_id: a.id, title: a.title, organisation: a.organisation, amount: Number(a.amount_minor), score: Math.round(mean * 100) / 100, spread: totals.length ? Math.round((Math.max(...totals) - Math.min(...totals)) * 100) / 100 : 0, reviewers: totals.length, rank: 0, shortlisted: false };
      }).sort((x, y) => y.score - x.score || x.application_id - y.application_id);
      let left = call.budget_minor;
      ranked.forEach((r, i) => {
        r.rank = i + 1;
        if (r.reviewers > 0 && r.score >= call.eligibility.pass_score && r.amount <= left) {
          r.shortlisted = true;
          left -= r.amount;
        }
      });
      return ranked;
    },

    /** Review → notice: every seated expert must have scored every application; then the shortlist goes public. */
    async close(p: Principal, call: CallRow, now = new Date()) {
      if (!can(p, 'call.manage', { streetId: call.street_id })) throw new ForbiddenError();
      if (call.status !== 'review') throw new ConflictError('call_not_in_review', 'errors.call_not_in_review');
      const seated = await db('panel_members').where({ call_id: call.id }).where((w) => w.whereNull('conflicted').orWhere('conflicted', false)).pluck('reviewer_id');
      const undeclared = await db('panel_members').where({ call_id: call.id }).whereNull('declared_at').count({ n: '*' }).first();
      const apps: number[] = await db('applications').where({ call_id: call.id, status: 'submitted' }).pluck('id');
      const { rows: [{ n }] } = await db.raw(
        `SELECT count(*)::int AS n FROM (SELECT DISTINCT application_id, reviewer_id FROM review_scores WHERE call_id = ? AND reviewer_id = ANY(?::int[])) x`,
        [call.id, seated],
      );
      if (Number(undeclared?.n) > 0 || Number(n) < seated.length * apps.length) throw new ConflictError('review_incomplete', 'errors.review_incomplete');
      const ranked = await this.ranking({ ...call, review_closed_at: now });
      return db.transaction(async (trx) => {
        for (const r of ranked) await trx('applications').where({ id: r.application_id }).update({ status: r.shortlisted ? 'shortlisted' : 'not_shortlisted' });
        const [row] = await trx('calls').where({ id: call.id }).update({ status: 'notice', review_closed_at: now, notice_starts_at: now, notice_ends_at: addWorkingDays(now, call.notice_days) }).returning('*');
        return { call: row, ranking: ranked };
      });
    },
  };
}

export type Reviews = ReturnType<typeof createReviews>;
