import type { Knex } from 'knex';
import { ConflictError, ForbiddenError } from '../../lib/errors.js';
import { can, type Principal } from '../auth/index.js';

/** A month in China Standard Time: `2026-11` → [2026-11-01T00:00+08, 2026-12-01T00:00+08). */
export function periodBounds(period: string): { starts_at: Date; ends_at: Date } {
  const [y, m] = period.split('-').map(Number);
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  return { starts_at: new Date(Date.parse(`${period}-01T00:00:00+08:00`)), ends_at: new Date(Date.parse(`${next}-01T00:00:00+08:00`)) };
}

/**
 * Accounting periods. Closing a month that has ended is final: from then on the database keeps
 * every journal out of it (the `ledger_journals_open_period` trigger), and `ledger_post_journal`
 * posts a late journal dated into it in the open period instead, keeping its own date in refs.
 */
export const periods = {
  list(db: Knex) {
    return db('ledger_periods as p').leftJoin('users as u', 'u.id', 'p.closed_by').select('p.*', 'u.display_name as closed_by_name').orderBy('p.period', 'desc');
  },

  async close(db: Knex, p: Principal, period: string, now = new Date()) {
    if (!can(p, 'period.close')) throw new ForbiddenError();
    const { starts_at, ends_at } = periodBounds(period);
    if (ends_at > now) throw new ConflictError('period_not_over', 'errors.period_not_over', { period });
    const [row] = await db('ledger_periods').insert({ period, starts_at, ends_at, closed_by: p.userId }).onConflict('period').ignore().returning('*');
    if (!row) throw new ConflictError('period_closed', 'errors.period_closed', { period });
    return row;
  },
};
