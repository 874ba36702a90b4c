import { Router } from 'express';
import { z } from 'zod';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { pagination, PG_BIGINT_ID_MAX } from '../../http/schemas.js';
import { parseOrThrow, pathId } from '../../http/validation.js';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import { HoldDecision } from './matching.schemas.js';
import type { MatchingService } from './matching.service.js';

const HoldsQuery = z.object(pagination);

/** The risk queue of held matches (M-10–M-13), and replay of any recorded allocation. */
export function riskApi(deps: { matching: MatchingService; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);

  r.get('/risk/holds', auth, permit('risk.read'), async (req, res) => {
    const q = parseOrThrow(HoldsQuery, req.query, req.t);
    res.json(await deps.matching.holds(q.page, q.per_page));
  });

  for (const decision of ['confirm', 'release'] as const) {
    r.post(`/risk/holds/:id/${decision}`, auth, permit('risk.decide'), async (req, res) => {
      const id = pathId(req, 'id', PG_BIGINT_ID_MAX);
      const { note } = parseOrThrow(HoldDecision, req.body ?? {}, req.t);
      const result = await deps.matching.decideHold(id, decision, note);
      await deps.audit.record(auditContext(req), { action: decision === 'confirm' ? 'risk.hold_confirmed' : 'risk.hold_released', subjectType: 'match_allocation', subjectId: id, after: { ...result, note } });
      res.json(result);
    });
  }

  r.get('/match-allocations/:id/replay', auth, permit('risk.read'), async (req, res) => {
    res.json(await deps.matching.replay(pathId(req, 'id', PG_BIGINT_ID_MAX)));
  });

  return r;
}
