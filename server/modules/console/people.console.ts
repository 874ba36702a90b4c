import { Router, type Request } from 'express';
import { z } from 'zod';
import { sendCsv } from '../../http/csv.js';
import { issuesToFields } from '../../http/validation.js';
import { AppError } from '../../lib/errors.js';
import type { AuditFilter } from '../audit/index.js';
import { InviteForm, ROLES, UserUpdateForm } from '../auth/index.js';
import type { Container } from '../../container.js';
import { allow, audited, csvHref, flashTo, pagerLinks } from './console-helpers.js';
import { idOrZero, idParam } from '../../http/schemas.js';

const AuditQuery = z.object({
  actor: idParam().optional().catch(undefined),
  action: z.string().regex(/^[a-z_.]{1,60}$/).optional().catch(undefined),
  subject_type: z.string().regex(/^[a-z_]{1,40}$/).optional().catch(undefined),
  subject_id: z.string().max(80).optional().catch(undefined),
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().catch(undefined),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(10_000).catch(1),
});

function auditFilter(q: z.infer<typeof AuditQuery>): AuditFilter {
  return {
    actor: q.actor, action: q.action, subjectType: q.subject_type, subjectId: q.subject_id,
    from: q.from ? new Date(`${q.from}T00:00:00+08:00`) : undefined,
    to: q.to ? new Date(new Date(`${q.to}T00:00:00+08:00`).getTime() + 86_400_000) : undefined,
  };
}

/** Users and roles (invitations, reset links, role changes, disabling), and the audit log viewer. */
export function peopleConsole(c: Container): Router {
  const r = Router();

  async function choices() {
    return { streets: await c.db('streets').orderBy('id'), organisations: await c.db('organisations').orderBy('name'), sponsors: await c.db('sponsors').orderBy('name'), roles: ROLES };
  }

  async function renderUsers(req: Request, status = 200, extra: Record<string, unknown> = {}) {
    allow(req, 'user.read');
    const page = Math.max(1, Number(req.query.page) || 1);
    const role = ROLES.includes(String(req.query.role) as never) ? String(req.query.role) : undefined;
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 60) : undefined;
    const { rows, total } = await c.auth.listUsers({ role, q }, page, 30);
    return { status, locals: { title: req.t('console.users'), users: rows, filters: { role: role ?? '', q: q ?? '' }, pager: pagerLinks(req, page, 30, total), ...(await choices()), values: {}, errors: {}, ...extra } };
  }

  r.get('/console/users', async (req, res) => {
    const { status, locals } = await renderUsers(req);
    res.status(status).render('console/users', locals);
  });

  /** Invitations: the one-time link is shown to the admin, who passes it on (there is no mail server). */
  r.post('/console/users/invite', async (req, res) => {
    allow(req, 'user.manage');
    const parsed = InviteForm.safeParse(req.body ?? {});
    if (!parsed.success) {
      const { locals } = await renderUsers(req, 422, { values: req.body, errors: issuesToFields(parsed.error.issues, req.t) });
      return res.status(422).render('console/users', locals);
    }
    const f = parsed.data;
    try {
      const token = await c.auth.invite(req.principal!.userId!, { email: f.email, displayName: f.display_name, role: f.role as never, street_id: f.street_id, organisation_id: f.organisation_id, sponsor_id: f.sponsor_id });
      await audited(c, req, { action: 'user.invited', subjectType: 'user_invitation', subjectId: f.email, after: { ...f } });
      flashTo(req, res, '/console/users', req.t('console.invite_link'), 'ok', `${c.config.publicUrl}/invite/${token}`);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      const { locals } = await renderUsers(req, err.status, { values: req.body, errors: { email: req.t(err.message) } });
      res.status(err.status).render('console/users', locals);
    }
  });

  r.post('/console/users/:id/reset', async (req, res) => {
    allow(req, 'user.manage');
    const id = idOrZero(req.params.id);
    const token = await c.auth.resetLink(req.principal!.userId!, id);
    await audited(c, req, { action: 'user.reset_link_issued', subjectType: 'user', subjectId: id, after: { valid_hours: 24, single_use: true } });
    flashTo(req, res, '/console/users', req.t('console.reset_link'), 'ok', `${c.config.publicUrl}/reset/${token}`);
  });

  r.post('/console/users/:id', async (req, res) => {
    allow(req, 'user.manage');
    const id = idOrZero(req.params.id);
    const parsed = UserUpdateForm.safeParse(req.body ?? {});
    if (!parsed.success) return flashTo(req, res, '/console/users', Object.values(issuesToFields(parsed.error.issues, req.t)).join(' '), 'error');
    if (id === req.principal!.userId && parsed.data.disabled === 'true') return flashTo(req, res, '/console/users', req.t('console.not_yourself'), 'error');
    const f = parsed.data;
    try {
      const { before, after } = await c.auth.updateUser(id, { ...(f.role ? { role: f.role as never, street_id: f.street_id, organisation_id: f.organisation_id, sponsor_id: f.sponsor_id } : {}), ...(f.disabled ? { disabled: f.disabled === 'true' } : {}) });
      await audited(c, req, { action: f.disabled ? (f.disabled === 'true' ? 'user.disabled' : 'user.enabled') : 'user.role_changed', subjectType: 'user', subjectId: id, before, after });
      flashTo(req, res, '/console/users', req.t('console.saved'));
    } catch (err) {
      if ((err as { code?: string }).code !== '23514') throw err;
      flashTo(req, res, '/console/users', req.t('console.role_binding'), 'error');
    }
  });

  r.get('/console/audit', async (req, res) => {
    allow(req, 'audit.read');
    const q = AuditQuery.parse(req.query);
    const { rows, total } = await c.audit.search(auditFilter(q), q.page, 50);
    res.render('console/audit', { title: req.t('console.audit'), entries: rows, filters: q, pager: pagerLinks(req, q.page, 50, total), csv: csvHref(req) });
  });

  r.get('/console/audit.csv', async (req, res) => {
    allow(req, 'audit.read');
    const rows = await c.audit.all(auditFilter(AuditQuery.parse(req.query)));
    sendCsv(res, 'audit-log.csv', ['id', 'at', 'actor_user_id', 'actor_label', 'action', 'subject_type', 'subject_id', 'before', 'after', 'ip', 'user_agent', 'request_id'].map((key) => ({ key, label: key })),
      rows.map((e) => ({ ...e, before: e.before ? JSON.stringify(e.before) : '', after: e.after ? JSON.stringify(e.after) : '' })));
  });

  return r;
}
