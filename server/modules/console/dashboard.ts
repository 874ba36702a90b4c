import { Router } from 'express';
import type { Knex } from 'knex';
import type { Container } from '../../container.js';
import type { Principal } from '../auth/index.js';
import { cstDate } from '../matching/index.js';
import { allow } from './console-helpers.js';

/** Today (China Standard Time) as a UTC range. */
function today(): { from: Date; to: Date } {
  const from = new Date(`${cstDate(new Date())}T00:00:00+08:00`);
  return { from, to: new Date(from.getTime() + 86_400_000) };
}

/** The dashboard's figures, scoped to a street officer's street or a sponsor's grants. */
export async function dashboardData(db: Knex, p: Principal) {
  const { from, to } = today();
  const street = p.role === 'street_officer' ? p.streetId : null;
  const paidToday = () => {
    const q = db('donations as d').join('campaigns as c', 'c.id', 'd.campaign_id').join('community_funds as f', 'f.id', 'c.fund_id').where('d.succeeded_at', '>=', from).where('d.succeeded_at', '<', to);
    if (street) q.where('f.street_id', street);
    return q;
  };
  const hours = await paidToday()
    .select(db.raw(`extract(hour from d.succeeded_at AT TIME ZONE 'Asia/Shanghai')::int AS hour`), db.raw('sum(d.amount_minor)::bigint AS raised'), db.raw('count(*)::int AS n'))
    .groupByRaw('1');
  const byHour = Array.from({ length: 24 }, (_, h) => Number(hours.find((r) => r.hour === h)?.raised ?? 0));
  const top = await paidToday().select('c.slug', 'c.title', db.raw('sum(d.amount_minor)::bigint AS raised')).groupBy('c.slug', 'c.title').orderBy('raised', 'desc').limit(5);

  const grants = db('grants as g').where('g.status', 'active');
  if (p.role === 'sponsor') grants.where('g.sponsor_id', p.sponsorId);
  const ids = (await grants.pluck('g.id')) as number[];
  const [usage] = ids.length
    ? await db('match_allocations').whereIn('grant_id', ids).select(
      db.raw('coalesce(sum(committed_minor - clawed_back_minor), 0)::bigint AS committed'),
      db.raw(`coalesce(sum(reserved_minor) FILTER (WHERE status IN ('reserved', 'held')), 0)::bigint AS reserved`),
    )
    : [{ committed: 0, reserved: 0 }];
  const [{ remaining }] = ids.length
    ? await db('ledger_accounts').where((w) => w.whereIn('id', db('grant_pool_shards').whereIn('grant_id', ids).select('account_id')).orWhereIn('code', ids.map((id) => `grant:${id}:budget:CNY`))).select(db.raw('coalesce(sum(balance), 0)::bigint AS remaining'))
    : [{ remaining: 0 }];
  const [{ approvals }] = await db('approvals').where('status', 'pending').count({ approvals: '*' });
  const [{ holds }] = await db('match_allocations').whereNotNull('hold_reason').whereIn('status', ['reserved', 'held']).count({ holds: '*' });
  return {
    today: { raised: byHour.reduce((s, x) => s + x, 0), donations: hours.reduce((s, r) => s + Number(r.n), 0) },
    byHour,
    match: { committed: Number(usage.committed), reserved: Number(usage.reserved), remaining: Number(remaining) },
    top: top.map((t) => ({ slug: t.slug, title: t.title, raised: Number(t.raised) })),
    pending: { approvals: Number(approvals), holds: Number(holds) },
  };
}

export function dashboardPages(c: Container): Router {
  const r = Router();
  r.get('/console', async (req, res) => {
    allow(req, 'dashboard.read');
    res.render('console/dashboard', { title: req.t('console.dashboard'), data: await dashboardData(c.db, req.principal!) });
  });
  return r;
}
