import { Router } from 'express';
import { idOrZero } from '../../http/schemas.js';
import { NotFoundError } from '../../lib/errors.js';
import type { Pools } from './pools.js';

const DAYS = [30, 90, 365];

/** Public pool pages: every street's purchase-of-services pool, and one street's with its inflow by source over time and its projects. */
export function poolsPages(deps: { pools: Pools; projects: (streetId: number) => Promise<unknown[]> }): Router {
  const r = Router();

  r.get('/pools', async (req, res) => {
    res.render('pools/index', { title: req.t('pools.title'), pools: await deps.pools.list() });
  });

  r.get('/pools/:street', async (req, res) => {
    const street = idOrZero(req.params.street);
    if (!street) throw new NotFoundError('street');
    const days = DAYS.includes(Number(req.query.days)) ? Number(req.query.days) : 90;
    const pool = await deps.pools.get(street);
    const inflow = await deps.pools.inflow(street, days);
    res.render('pools/show', { title: `${pool.street} · ${req.t('pools.title')}`, pool, inflow, days, choices: DAYS, projects: await deps.projects(street), scripts: ['/public/vendor/chart.umd.js', '/public/js/pool-chart.js'] });
  });

  return r;
}
