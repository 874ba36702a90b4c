import { Router } from 'express';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { parseOrThrow, pathId } from '../../http/validation.js';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import { AgreementInput, CommitteeInput, FundCreate, FundListQuery } from './funds.schemas.js';
import type { FundsService } from './funds.service.js';

/** Community funds: list and read (readers, a street's officer), create, agreement and committee (admin). */
export function fundsApi(deps: { funds: FundsService; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);

  r.get('/funds', auth, permit('fund.read'), async (req, res) => {
    const q = parseOrThrow(FundListQuery, req.query, req.t);
    res.json(await deps.funds.list(req.principal, q));
  });

  r.get('/funds/:id', auth, permit('fund.read'), async (req, res) => {
    res.json(await deps.funds.get(req.principal, pathId(req, 'id')));
  });

  r.post('/funds', auth, permit('fund.manage'), async (req, res) => {
    const input = parseOrThrow(FundCreate, req.body ?? {}, req.t);
    const fund = await deps.funds.createFor(req.principal!, input, req.t);
    await deps.audit.record(auditContext(req), { action: 'fund.created', subjectType: 'fund', subjectId: fund.id, after: { ...fund, agreement: input.agreement ?? null } });
    res.status(201).location(`/api/funds/${fund.id}`).json(await deps.funds.get(req.principal, fund.id));
  });

  r.put('/funds/:id/agreement', auth, permit('fund.manage'), async (req, res) => {
    const id = pathId(req, 'id');
    const { before, after } = await deps.funds.setAgreement(req.principal!, id, parseOrThrow(AgreementInput, req.body ?? {}, req.t));
    await deps.audit.record(auditContext(req), { action: 'fund.agreement_signed', subjectType: 'fund', subjectId: id, before, after });
    res.json(after);
  });

  r.put('/funds/:id/committee', auth, permit('fund.manage'), async (req, res) => {
    const id = pathId(req, 'id');
    const { before, after } = await deps.funds.setCommittee(req.principal!, id, parseOrThrow(CommitteeInput, req.body ?? {}, req.t));
    await deps.audit.record(auditContext(req), { action: 'fund.committee_set', subjectType: 'fund', subjectId: id, before, after });
    res.json(after);
  });

  return r;
}
