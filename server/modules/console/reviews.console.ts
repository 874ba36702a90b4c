import { Router, type Request, type Response } from 'express';
import { issuesToFields } from '../../http/validation.js';
import { AppError, ForbiddenError } from '../../lib/errors.js';
import type { Container } from '../../container.js';
import { PurchasingSchemas } from '../purchasing/index.js';
import { consoleStep } from './console-helpers.js';
import { one } from './form-values.js';
import { idOrZero } from '../../http/schemas.js';

const { Declaration } = PurchasingSchemas;

/**
 * An expert's console (G-6): the calls whose panel it sits on; for each, the conflict-of-interest
 * declaration first, then every application with its duplicate flags side by side and a score
 * form per criterion (its own scores only, until the round closes).
 */
export function reviewsConsole(c: Container): Router {
  const r = Router();
  const { calls, applications, reviews } = c.purchasing;
  const me = (req: Request) => {
    if (req.principal!.role !== 'reviewer') throw new ForbiddenError();
    return req.principal!.userId!;
  };

  r.get('/console/reviews', async (req, res) => {
    const seats = await reviews.seatsOf(me(req));
    res.render('console/reviews', { title: req.t('console.reviews'), seats });
  });

  async function view(req: Request, extra: Record<string, unknown> = {}) {
    const call = await calls.get(req.principal, idOrZero(req.params.id));
    const seat = (await reviews.panel(call.id)).find((m) => m.reviewer_id === me(req));
    if (!seat) throw new ForbiddenError('errors.not_on_panel');
    const canSee = seat.declared_at && !seat.conflicted;
    const mine = canSee ? await reviews.scores(req.principal, call) : [];
    return { title: call.title, call, seat, apps: canSee ? (await applications.ofCall(call.id)).filter((a) => a.status === 'submitted') : [], mine, values: {}, errors: {}, form: null, ...extra };
  }

  r.get('/console/reviews/:id', async (req, res) => {
    res.render('console/review', await view(req));
  });

  const step = (req: Request, res: Response, form: string, action: string, run: () => Promise<unknown>) => consoleStep(c, req, res, {
    action, subjectType: 'call', subjectId: String(req.params.id), to: `/console/reviews/${req.params.id}`,
    again: async (status, errors) => res.status(status).render('console/review', await view(req, { values: req.body ?? {}, errors, form })),
  }, run);

  r.post('/console/reviews/:id/declaration', (req, res) => step(req, res, 'declaration', 'review.declared', async () => {
    me(req);
    const parsed = Declaration.safeParse({ conflicted: one(req.body?.conflicted) === 'yes', ...(one(req.body?.note) ? { note: one(req.body?.note) } : {}) });
    if (!parsed.success) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: issuesToFields(parsed.error.issues, req.t) });
    return reviews.declare(req.principal!, await calls.mustFind(idOrZero(req.params.id)), parsed.data);
  }));

  r.post('/console/reviews/:id/applications/:app/scores', (req, res) => step(req, res, `score-${req.params.app}`, 'review.scored', async () => {
    me(req);
    const call = await calls.mustFind(idOrZero(req.params.id));
    const b = req.body ?? {};
    const scores: Record<string, number> = {};
    const bad: Record<string, string> = {};
    for (const k of call.criteria) {
      const v = one(b[`score_${k.key}`]);
      if (!v || !/^\d{1,3}$/.test(v) || Number(v) > 100) bad[`scores.${k.key}`] = req.t('validation.score');
      else scores[k.key] = Number(v);
    }
    if (Object.keys(bad).length) throw new AppError(400, 'validation_failed', 'errors.validation', { fields: bad });
    return reviews.score(req.principal!, call, idOrZero(req.params.app), { scores, ...(one(b.comment) ? { comment: one(b.comment) } : {}) }, req.t);
  }));

  return r;
}
