import type { GrantRow } from './grants.repo.js';
import type { GrantsService } from './grants.service.js';

type Figures = Awaited<ReturnType<GrantsService['figures']>>;

/** Grant JSON: amounts in fen; `remaining` is what the pool can still give. */
export function presentGrant(g: GrantRow, f: Figures, scope: { campaigns: string[]; streets: number[] }) {
  return {
    id: g.id,
    name: g.name,
    sponsor: { id: g.sponsor_id, name: g.sponsor_name, kind: g.sponsor_kind },
    status: g.status,
    currency: g.currency,
    budget: f.budget,
    committed: f.committed,
    reserved: f.reserved,
    remaining: f.remaining,
    scope: { all: g.scope_all, campaigns: scope.campaigns, streets: scope.streets },
    priority: g.priority,
    starts_at: g.starts_at.toISOString(),
    ends_at: g.ends_at.toISOString(),
    rule_version: g.rule_version,
    rules: g.rules,
    by_campaign: f.by_campaign,
    activated_at: g.activated_at?.toISOString() ?? null,
    closed_at: g.closed_at?.toISOString() ?? null,
  };
}

/** The `grant:totals` socket payload. */
export function presentGrantTotals(g: Pick<GrantRow, 'id' | 'status'>, f: Pick<Figures, 'budget' | 'committed' | 'reserved' | 'remaining'>) {
  return { id: g.id, status: g.status, budget: f.budget, committed: f.committed, reserved: f.reserved, remaining: f.remaining };
}
