import type { Knex } from 'knex';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import type { Logger } from '../../lib/logger.js';
import { allocate } from '../../lib/money.js';
import { chart, credit, debit, JournalKind, type Leg, type LedgerService } from '../ledger/index.js';
import { closeGrant } from './grant-close.js';
import { grantsRepo, type GrantRow } from './grants.repo.js';
import type { GrantCreateInput, MatchRules } from './matching.schemas.js';

/** How long the list of grants that apply to a campaign is cached (the database re-checks status). */
const APPLICABLE_TTL_MS = 2000;

/**
 * Grants: create (draft, rules version 1), activate (the sponsor's pledge funds the pool),
 * top up, new rule versions, close, and the figures staff and sponsors watch.
 */
export function createGrantsService(deps: { db: Knex; ledger: LedgerService; log: Logger; onGrantChanged?: (grantId: number) => void }) {
  const { db, ledger } = deps;
  const openBuckets = new Set<string>();
  const applicable = new Map<string, { at: number; grants: GrantRow[] }>();
  const changed = (id: number) => {
    applicable.clear();
    deps.onGrantChanged?.(id);
  };

  const accounts = async (trx: Knex.Transaction, g: { id: number; sponsor_id: number }) => ({
    pledges: await ledger.ensureAccount(trx, chart.sponsorPledges(g.sponsor_id, 'CNY')),
    budget: await ledger.ensureAccount(trx, chart.grantBudget(g.id, 'CNY')),
    reserved: await ledger.ensureAccount(trx, chart.grantReserved(g.id, 'CNY')),
  });

  /** Creates a bucket's shards (if missing) and moves `amount` of unopened budget into them. */
  async function openBucket(trx: Knex.Transaction, grantId: number, bucket: string, shards: number, amount: number, key: string): Promise<void> {
    const existing = await grantsRepo.shards(trx, grantId, bucket);
    const ids: number[] = existing.map((s) => s.account_id);
    for (let k = existing.length; k < (existing.length || shards); k++) {
      const id = await ledger.ensureAccount(trx, chart.grantPoolShard(grantId, bucket, k, 'CNY'));
      await grantsRepo.insertShard(trx, grantId, bucket, k, id);
      ids.push(id);
    }
    if (amount <= 0) return;
    const parts = allocate(amount, ids.map(() => 1));
    const legs: Leg[] = [debit(await ledger.ensureAccount(trx, chart.grantBudget(grantId, 'CNY')), amount)];
    ids.forEach((id, i) => parts[i] > 0 && legs.push(credit(id, parts[i])));
    await ledger.postJournal(trx, { kind: JournalKind.POOL_OPENED, idempotencyKey: key, legs, refs: { grant_id: grantId, bucket } });
  }

  const usesMainBucket = (rules: MatchRules) => rules.mode === 'per_donation' && !rules.daily_slots;

  return {
    async create(input: GrantCreateInput, t: Translate, createdBy: number | null = null): Promise<GrantRow> {
      const id = await db.transaction(async (trx) => {
        const sponsor = typeof input.sponsor === 'string' ? { name: input.sponsor, kind: 'enterprise' } : input.sponsor;
        const sponsorId = await grantsRepo.upsertSponsor(trx, sponsor.name, sponsor.kind);
        const slugs = input.scope.campaigns ?? [];
        const campaigns: { id: number; slug: string }[] = slugs.length ? await trx('campaigns').whereIn('slug', slugs).select('id', 'slug') : [];
        const missing = slugs.filter((s) => !campaigns.some((c) => c.slug === s));
        if (missing.length) throw new ValidationError({ 'scope.campaigns': t('validation.unknown_campaigns', { slugs: missing.join(', ') }) });
        const streets = input.scope.streets ?? [];
        const found = streets.length ? ((await trx('streets').whereIn('id', streets).pluck('id')) as number[]) : [];
        if (found.length !== new Set(streets).size) throw new ValidationError({ 'scope.streets': t('validation.unknown_street') });
        const grantId = await grantsRepo.insertGrant(trx, {
          sponsor_id: sponsorId, name: input.name ?? `${sponsor.name}`, currency: input.currency, budget_minor: input.budget,
          scope_all: input.scope.all === true, priority: input.priority, starts_at: input.starts_at, ends_at: input.ends_at, created_by: createdBy,
        });
        await grantsRepo.insertScope(trx, grantId, campaigns.map((c) => c.id), [...new Set(streets)]);
        await grantsRepo.insertRuleVersion(trx, grantId, 1, input.rules);
        return grantId;
      });
      return (await grantsRepo.find(db, id))!;
    },

    /** Draft → active: the sponsor's pledge funds the grant; per-donation grants open their pool. */
    async activate(id: number): Promise<GrantRow> {
      await db.transaction(async (trx) => {
        const g = await grantsRepo.lock(trx, id);
        if (!g) throw new NotFoundError('grant');
        if (g.status !== 'draft') throw new ConflictError('grant_not_draft', 'errors.grant_not_draft');
        const full = (await grantsRepo.find(trx, id))!;
        const a = await accounts(trx, g);
        await ledger.postJournal(trx, { kind: JournalKind.GRANT_FUNDED, idempotencyKey: `grant-funded:${id}`, legs: [debit(a.pledges, full.budget_minor), credit(a.budget, full.budget_minor)], refs: { grant_id: id } });
        if (usesMainBucket(full.rules)) await openBucket(trx, id, 'main', full.rules.pool_shards, full.budget_minor, `pool-open:${id}:main`);
        await trx('grants').where({ id }).update({ status: 'active', activated_at: trx.fn.now() });
      });
      changed(id);
      return (await grantsRepo.find(db, id))!;
    },

    /** Adds budget to an active grant; the same key never tops up twice. */
    async topUp(id: number, amount: number, key: string): Promise<GrantRow> {
      await db.transaction(async (trx) => {
        const g = await grantsRepo.lock(trx, id);
        if (!g) throw new NotFoundError('grant');
        if (g.status !== 'active') throw new ConflictError('grant_not_active', 'errors.grant_not_active');
        const full = (await grantsRepo.find(trx, id))!;
        const a = await accounts(trx, g);
        const posted = await ledger.postJournal(trx, { kind: JournalKind.GRANT_FUNDED, idempotencyKey: `grant-topup:${id}:${key}`, legs: [debit(a.pledges, amount), credit(a.budget, amount)], refs: { grant_id: id, top_up: key } });
        if (posted.replayed) return;
        await trx('grants').where({ id }).increment('budget_minor', amount);
        if (usesMainBucket(full.rules)) await openBucket(trx, id, 'main', full.rules.pool_shards, amount, `pool-topup:${id}:${key}`);
      });
      changed(id);
      return (await grantsRepo.find(db, id))!;
    },

    /** Stores a new rule version; allocations keep the version they were made with. */
    async updateRules(id: number, rules: MatchRules): Promise<GrantRow> {
      await db.transaction(async (trx) => {
        const g = await grantsRepo.lock(trx, id);
        if (!g) throw new NotFoundError('grant');
        if (g.status === 'closed') throw new ConflictError('grant_closed', 'errors.grant_closed');
        const current = (await grantsRepo.find(trx, id))!;
        if (g.status === 'active' && (current.rules.mode !== rules.mode || Boolean(current.rules.daily_slots) !== Boolean(rules.daily_slots))) {
          throw new ConflictError('rules_change_not_allowed', 'errors.rules_change_not_allowed');
        }
        await grantsRepo.insertRuleVersion(trx, id, g.rule_version + 1, rules);
        await trx('grants').where({ id }).update({ rule_version: g.rule_version + 1 });
      });
      changed(id);
      return (await grantsRepo.find(db, id))!;
    },

    /** Active → closed; what is left is shared (stretch, quadratic) or returned to the sponsor. */
    async close(id: number): Promise<GrantRow> {
      await closeGrant({ db, ledger }, id);
      changed(id);
      return (await grantsRepo.find(db, id))!;
    },

    /** Makes sure a daily-slot bucket exists and holds its slot budget (at most what is unopened). */
    async ensureBucket(grant: GrantRow, bucket: string, slotBudget: number): Promise<void> {
      const key = `${grant.id}/${bucket}`;
      if (openBuckets.has(key)) return;
      await db.transaction(async (trx) => {
        const g = await grantsRepo.lock(trx, grant.id);
        if (!g || g.status !== 'active') return;
        if ((await grantsRepo.shards(trx, grant.id, bucket)).length === 0) {
          const budget = await ledger.ensureAccount(trx, chart.grantBudget(grant.id, 'CNY'));
          const { balance } = await trx('ledger_accounts').where({ id: budget }).first('balance');
          await openBucket(trx, grant.id, bucket, grant.rules.pool_shards, Math.min(slotBudget, balance), `pool-open:${grant.id}:${bucket}`);
        }
      });
      openBuckets.add(key);
    },

    /** Active grants covering a campaign, in claim order (cached briefly). */
    async applicable(campaignId: number, streetId: number): Promise<GrantRow[]> {
      const key = `${campaignId}/${streetId}`;
      const hit = applicable.get(key);
      if (hit && Date.now() - hit.at < APPLICABLE_TTL_MS) return hit.grants;
      const grants = await grantsRepo.forCampaign(db, campaignId, streetId);
      applicable.set(key, { at: Date.now(), grants });
      return grants;
    },

    async get(id: number): Promise<GrantRow> {
      const g = await grantsRepo.find(db, id);
      if (!g) throw new NotFoundError('grant');
      return g;
    },

    list: (status: string | undefined, page: number, perPage: number, sponsorId?: number | null) => grantsRepo.list(db, status, page, perPage, sponsorId),

    /** The campaigns (by slug) and streets (by id) a grant covers. */
    async scopeOf(id: number): Promise<{ campaigns: string[]; streets: number[] }> {
      const [campaigns, streets] = await grantsRepo.scope(db, id);
      return { campaigns: campaigns.map((c) => c.slug), streets: streets.map((s) => s.id) };
    },

    /** Budget, committed, reserved and remaining (in fen), and usage per campaign. */
    async figures(g: GrantRow) {
      const [usage, shards, budgetBalance] = await Promise.all([
        grantsRepo.usage(db, g.id),
        grantsRepo.shards(db, g.id),
        ledger.balanceOf(db, chart.grantBudget(g.id, 'CNY').code),
      ]);
      const distributed = usage.distributions.reduce((s, d) => s + d.amount_minor, 0);
      const committed = usage.byCampaign.reduce((s, c) => s + c.committed, 0) + distributed;
      const reserved = usage.byCampaign.reduce((s, c) => s + c.reserved, 0);
      const remaining = g.status === 'draft' ? g.budget_minor : shards.reduce((s, x) => s + x.balance, 0) + (budgetBalance ?? 0);
      return {
        budget: g.budget_minor,
        committed,
        reserved,
        remaining,
        by_campaign: usage.byCampaign.map((c) => ({
          slug: c.slug, title: c.title, reserved: c.reserved, donations: Number(c.donations),
          committed: c.committed + (usage.distributions.find((d) => d.campaign_id === c.id)?.amount_minor ?? 0),
        })),
      };
    },

    /** Forgets cached grant lists (tests that reset the database call this). */
    forget(): void {
      openBuckets.clear();
      applicable.clear();
    },
  };
}

export type GrantsService = ReturnType<typeof createGrantsService>;
