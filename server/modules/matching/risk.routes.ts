import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireToken } from '../../http/middleware/auth.js';
import { pagination } from '../../http/schemas.js';
import { parseOrThrow } from '../../http/validation.js';
import { ForbiddenError } from '../../lib/errors.js';
import { auditContext, type Audit } from '../audit/index.js';
import { can, type Action, type AuthService } from '../auth/index.js';
import { HoldDecision } from './matching.schemas.js';
import type { MatchingService } from './matching.service.js';

const AllocationId = z.coerce.number().int().positive();
const HoldsQuery = z.object(pagination);

function allow(req: Request, action: Action) {
  if (!can(req.principal, action)) throw new ForbiddenError();
}

/** The risk queue of held matches (M-10–M-13), and replay of any recorded allocation. */
export function riskApi(deps: { matching: MatchingService; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);

  r.get('/risk/holds', auth, async (req, res) => {
    allow(req, 'risk.read');
    const q = parseOrThrow(HoldsQuery, req.query, req.t);
    res.json(await deps.matching.holds(q.page, q.per_page));
  });

  for (const decision of ['confirm', 'release'] as const) {
    r.post(`/risk/holds/:id/${decision}`, auth, async (req, res) => {
      allow(req, 'risk.decide');
      const id = parseOrThrow(AllocationId, req.params.id, req.t);
      const { note } = parseOrThrow(HoldDecision, req.body ?? {}, req.t);
      const result = await deps.matching.decideHold(id, decision, note);
      await deps.audit.record(auditContext(req), { action: decision === 'confirm' ? 'risk.hold_confirmed' : 'risk.hold_released', subjectType: 'match_allocation', subjectId: id, after: { ...result, note } });
      res.json(result);
    });
  }

  r.get('/match-allocations/:id/replay', auth, async (req, res) => {
    allow(req, 'risk.read');
    res.json(await deps.matching.replay(parseOrThrow(AllocationId, req.params.id, req.t)));
  });

  return r;
}
