import type { Knex } from 'knex';
import { isUniqueViolation } from '../../db/pg-errors.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import { can, type Action, type Principal } from '../auth/index.js';
import { fundsRepo, type FundRow } from '../funds/index.js';
import { chart, type LedgerService } from '../ledger/index.js';
import type { CampaignTotals } from './campaign-totals.js';
import type { CampaignCreateInput, CampaignListQueryInput, CampaignUpdateInput } from './campaigns.schemas.js';
import { campaignsRepo, type CampaignRow } from './campaigns.repo.js';

export type CampaignStatus = 'draft' | 'review' | 'live' | 'closed';

/** Allowed workflow moves and the policy action each needs. */
const TRANSITIONS: Record<string, Action | undefined> = {
  'draft->review': 'campaign.submit',
  'review->draft': 'campaign.publish',
  'review->live': 'campaign.publish',
  'live->closed': 'campaign.close',
};

/** The audit action for a workflow move, the same from the API and the console. */
export function transitionAction(to: CampaignStatus): string {
  return { draft: 'campaign.returned', review: 'campaign.submitted', live: 'campaign.published', closed: 'campaign.closed' }[to];
}

/** Campaign use cases: create (with its ledger account), edit, move through the workflow, read and list. */
export function createCampaignsService(deps: { db: Knex; ledger: LedgerService; totals: CampaignTotals }) {
  const { db, ledger, totals } = deps;

  async function resolveFund(trx: Knex.Transaction, input: CampaignCreateInput, t: Translate): Promise<FundRow> {
    if (input.fund !== undefined) {
      const fund = await fundsRepo.find(trx, input.fund);
      if (!fund || fund.status !== 'active') throw new ValidationError({ fund: t('validation.unknown_fund') });
      return fund;
    }
    const street = typeof input.street === 'number'
      ? await trx('streets').where({ id: input.street }).first('id')
      : await trx('streets').where({ code: input.street }).first('id');
    const fund = street && (await fundsRepo.findStreetFund(trx, street.id));
    if (!fund) throw new ValidationError({ street: t('validation.unknown_street') });
    return fund;
  }

  return {
    /** Creates a campaign in a street's fund; admins anywhere, street officers in their street only. */
    async create(principal: Principal, input: CampaignCreateInput, t: Translate): Promise<CampaignRow> {
      const id = await db.transaction(async (trx) => {
        const fund = await resolveFund(trx, input, t);
        if (!can(principal, 'campaign.create', { streetId: fund.street_id })) throw new ForbiddenError('errors.not_your_street');
        if (input.status === 'live' && !can(principal, 'campaign.publish')) throw new ForbiddenError('errors.publish_needs_review');
        if (input.organisation !== undefined) {
          const org = await trx('organisations').where({ id: input.organisation }).first('sanctioned_at');
          if (!org) throw new ValidationError({ organisation: t('validation.unknown_organisation') });
          if (org.sanctioned_at) throw new ConflictError('organisation_sanctioned', 'errors.organisation_sanctioned');
        }
        const startsAt = input.starts_at ?? new Date();
        if (input.ends_at <= startsAt) throw new ValidationError({ ends_at: t('validation.ends_after_starts') });
        try {
          const campaignId = await campaignsRepo.insert(trx, {
            slug: input.slug, fund_id: fund.id, title: input.title, story: input.story, goal_minor: input.goal,
            currency: input.currency, status: input.status, starts_at: startsAt, ends_at: input.ends_at, organisation_id: input.organisation ?? null,
            created_by: principal.userId,
          });
          await ledger.ensureAccount(trx, chart.campaignDonations(campaignId, input.currency));
          return campaignId;
        } catch (err) {
          if (isUniqueViolation(err)) throw new ConflictError('slug_taken', 'errors.slug_taken', { slug: input.slug });
          throw err;
        }
      });
      return (await campaignsRepo.findById(db, id))!;
    },

    /**
     * Moves a campaign through its workflow: draft → review → live → closed (review can also go
     * back to draft). Officers submit and close in their own street; only admins publish.
     */
    async transition(principal: Principal, slug: string, to: CampaignStatus): Promise<{ before: CampaignRow; after: CampaignRow }> {
      const before = await this.getBySlug(slug, { includeDraft: true });
      const action = TRANSITIONS[`${before.status}->${to}`];
      if (!action) throw new ConflictError('transition_not_allowed', 'errors.transition_not_allowed', { from: before.status, to });
      if (!can(principal, action, { streetId: before.street_id })) throw new ForbiddenError();
      await db('campaigns').where({ id: before.id, status: before.status }).update({ status: to, updated_at: db.fn.now() });
      return { before, after: (await campaignsRepo.findById(db, before.id))! };
    },

    /** Edits a draft or in-review campaign's text, goal and window. */
    async update(principal: Principal, slug: string, patch: CampaignUpdateInput): Promise<{ before: CampaignRow; after: CampaignRow }> {
      const before = await this.getBySlug(slug, { includeDraft: true });
      if (!can(principal, 'campaign.edit', { streetId: before.street_id })) throw new ForbiddenError();
      if (before.status !== 'draft' && before.status !== 'review') throw new ConflictError('campaign_not_editable', 'errors.campaign_not_editable');
      const startsAt = patch.starts_at ?? before.starts_at;
      const endsAt = patch.ends_at ?? before.ends_at;
      if (endsAt <= startsAt) throw new ValidationError({ ends_at: 'validation.ends_after_starts' });
      await db('campaigns').where({ id: before.id }).update({
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.story !== undefined ? { story: patch.story } : {}),
        ...(patch.goal !== undefined ? { goal_minor: patch.goal } : {}),
        starts_at: startsAt, ends_at: endsAt, updated_at: db.fn.now(),
      });
      return { before, after: (await campaignsRepo.findById(db, before.id))! };
    },

    /** A campaign by slug; drafts only for staff. */
    async getBySlug(slug: string, opts: { includeDraft?: boolean } = {}): Promise<CampaignRow> {
      const c = await campaignsRepo.findBySlug(db, slug);
      if (!c || ((c.status === 'draft' || c.status === 'review') && !opts.includeDraft)) throw new NotFoundError('campaign');
      return c;
    },

    list(q: CampaignListQueryInput, opts: { includeDraft?: boolean; streetId?: number | null } = {}) {
      const statuses = q.status ? [q.status] : opts.includeDraft ? ['draft', 'review', 'live', 'closed'] : ['live', 'closed'];
      if ((q.status === 'draft' || q.status === 'review') && !opts.includeDraft) return Promise.resolve({ rows: [] as CampaignRow[], total: 0 });
      return campaignsRepo.list(db, { statuses, street: q.street, q: q.q, streetId: opts.streetId }, q.page, q.per_page);
    },

    totals,
  };
}

export type CampaignsService = ReturnType<typeof createCampaignsService>;
