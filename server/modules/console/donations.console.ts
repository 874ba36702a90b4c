import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { sendCsv } from '../../http/csv.js';
import { pagination } from '../../http/schemas.js';
import { AppError } from '../../lib/errors.js';
import { parseMajor } from '../../lib/money.js';
import { can } from '../auth/index.js';
import type { Container } from '../../container.js';
import { displayName } from '../donations/index.js';
import { allow, audited, csvHref, flashTo, pagerLinks } from './console-helpers.js';
import { one } from './form-values.js';

const Filters = z.object({
  campaign: z.string().regex(/^[a-z0-9-]{1,64}$/).optional().catch(undefined),
  status: z.enum(['pending', 'succeeded', 'failed', 'partially_refunded', 'refunded']).optional().catch(undefined),
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().catch(undefined),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().catch(undefined),
  min: z.string().max(20).optional().catch(undefined),
  max: z.string().max(20).optional().catch(undefined),
  q: z.string().trim().max(60).optional().catch(undefined),
  ...pagination,
});
type FilterInput = z.infer<typeof Filters>;

function search(db: Knex, f: FilterInput, streetId: number | null) {
  const q = db('donations as d').join('campaigns as c', 'c.id', 'd.campaign_id').join('community_funds as fu', 'fu.id', 'c.fund_id');
  if (streetId) q.where('fu.street_id', streetId);
  if (f.campaign) q.where('c.slug', f.campaign);
  if (f.status) q.where('d.status', f.status);
  if (f.from) q.where('d.created_at', '>=', new Date(`${f.from}T00:00:00+08:00`));
  if (f.to) q.where('d.created_at', '<', new Date(new Date(`${f.to}T00:00:00+08:00`).getTime() + 86_400_000));
  const min = f.min ? parseMajor(f.min) : null;
  const max = f.max ? parseMajor(f.max) : null;
  if (min !== null) q.where('d.amount_minor', '>=', min);
  if (max !== null) q.where('d.amount_minor', '<=', max);
  if (f.q) {
    if (/^[0-9a-f-]{36}$/i.test(f.q)) q.where('d.id', f.q);
    else q.where((w) => w.whereILike('d.donor_name', `%${f.q!.replace(/[%_\\]/g, '\\$&')}%`).orWhere('d.payment_ref', f.q!));
  }
  return q;
}

/** The console's donation search (filters, pagination, CSV) and refund requests (finance, four-eyes). */
export function donationsConsole(c: Container): Router {
  const r = Router();

  function scope(req: Request): { f: FilterInput; streetId: number | null } {
    const streetId = req.principal!.role === 'street_officer' ? req.principal!.streetId : null;
    allow(req, 'donation.search', { streetId: streetId ?? undefined });
    return { f: Filters.parse(req.query), streetId };
  }

  const row = (req: Request, d: Record<string, any>) => ({
    id: d.id, created_at: d.created_at, campaign: d.slug, amount: d.amount_minor, refunded: d.refunded_minor, status: d.status, provider: d.provider,
    donor: displayName({ anonymous: d.anonymous, donor_name: d.donor_name }, req.t), payment_ref: d.payment_ref,
    ...(can(req.principal, 'donation.contact_read') ? { email: d.donor_email, phone: d.donor_phone } : {}),
  });

  r.get('/console/donations', async (req, res) => {
    const { f, streetId } = scope(req);
    const [{ n }] = await search(c.db, f, streetId).count({ n: '*' });
    const rows = await search(c.db, f, streetId).select('d.*', 'c.slug').orderBy('d.created_at', 'desc').limit(f.per_page).offset((f.page - 1) * f.per_page);
    res.render('console/donations', { title: req.t('console.donations'), filters: f, donations: rows.map((d) => row(req, d)), pager: pagerLinks(req, f.page, f.per_page, Number(n)), csv: csvHref(req) });
  });

  r.get('/console/donations.csv', async (req, res) => {
    const { f, streetId } = scope(req);
    const rows = await search(c.db, f, streetId).select('d.*', 'c.slug').orderBy('d.created_at', 'desc').limit(50_000);
    const keys = ['id', 'created_at', 'campaign', 'amount', 'refunded', 'status', 'provider', 'donor', 'payment_ref', ...(can(req.principal, 'donation.contact_read') ? ['email', 'phone'] : [])];
    sendCsv(res, 'donations.csv', keys.map((key) => ({ key, label: key })), rows.map((d) => row(req, d)));
  });

  r.post('/console/donations/:id/refund', async (req, res) => {
    const id = String(req.params.id);
    const typed = one(req.body?.amount_yuan)?.trim();
    const amount = typed ? parseMajor(typed) : undefined;
    if (amount === null) return flashTo(req, res, '/console/donations', req.t('validation.amount_format'), 'error');
    try {
      const plan = await c.donations.planRefund(req.principal, id, amount);
      const a = await c.approvals.request(req.principal!, 'refund', 'donation', id, { amount: plan.amount, idempotency_key: randomUUID() });
      await audited(c, req, { action: 'refund.requested', subjectType: 'donation', subjectId: id, after: { amount: plan.amount, approval_id: a.id } });
      flashTo(req, res, '/console/approvals', req.t('console.approval_requested'));
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      flashTo(req, res, `/console/donations?q=${id}`, req.t(err.message, err.params), 'error');
    }
  });

  return r;
}
