import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import helmet from 'helmet';
import type { Queues } from '../../jobs/queues.js';
import { ForbiddenError } from '../lib/errors.js';
import { can } from '../modules/auth/index.js';
import { requireStaff } from './middleware/auth.js';

/**
 * Bull Board at /admin/queues, for association admins only. Its bundled UI needs inline styles,
 * so this one path gets a CSP that allows them (scripts stay same-origin only).
 */
export function adminQueues(queues: Queues): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({ queues: Object.values(queues).map((q) => new BullMQAdapter(q)), serverAdapter });
  const r = Router();
  r.use(
    '/admin/queues',
    requireStaff,
    (req, _res, next) => next(can(req.principal, 'queues.admin') ? undefined : new ForbiddenError()),
    helmet.contentSecurityPolicy({ useDefaults: false, directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'], fontSrc: ["'self'", 'data:'], connectSrc: ["'self'"], objectSrc: ["'none'"], frameAncestors: ["'none'"] } }),
    serverAdapter.getRouter(),
  );
  return r;
}
