import { Router } from 'express';
import { z } from 'zod';
import { permit, requireToken } from '../../http/middleware/auth.js';
import { plainText } from '../../http/schemas.js';
import { parseOrThrow } from '../../http/validation.js';
import { ConflictError } from '../../lib/errors.js';
import { isUniqueViolation } from '../../db/pg-errors.js';
import type { Knex } from 'knex';
import { auditContext, type Audit } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';

export const OrganisationCreate = z.object({ name: plainText(120).pipe(z.string().min(2)) });

/** Social organisations that run campaigns: per-organisation caps (M-6) and sanctions (M-13). */
export function organisationsApi(deps: { db: Knex; auth: AuthService; audit: Audit }): Router {
  const r = Router();
  const auth = requireToken(deps.auth);
  const columns = ['id', 'name', 'sanctioned_at', 'sanction_reason'];

  r.get('/organisations', async (_req, res) => {
    res.json(await deps.db('organisations').orderBy('id').select(columns));
  });

  r.post('/organisations', auth, permit('organisation.manage'), async (req, res) => {
    const { name } = parseOrThrow(OrganisationCreate, req.body ?? {}, req.t);
    try {
      const [row] = await deps.db('organisations').insert({ name }).returning(columns);
      await deps.audit.record(auditContext(req), { action: 'organisation.created', subjectType: 'organisation', subjectId: row.id, after: row });
      res.status(201).json(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('organisation_exists', 'errors.already_exists');
      throw err;
    }
  });

  return r;
}
