import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type { Translate } from '../../lib/i18n.js';
import { DEFAULT_CURRENCY } from '../../lib/money.js';
import { can, type Principal } from '../auth/index.js';
import { chart, POOL_SOURCES, type LedgerService } from '../ledger/index.js';
import { fundsRepo, type FundRow } from './funds.repo.js';
import type { AgreementInput, CommitteeInput, FundCreateInput } from './funds.schemas.js';

/** What a fund's governance says right now (C-2, C-4, C-8). */
export interface FundStanding {
  /** C-2: a signed agreement is in force, so the fund may receive donations. */
  agreement: boolean;
  /** C-4: ≥ 5 voting members, an odd number, and a supervisor. */
  committee: boolean;
  dormant: boolean;
}

export function standing(f: { agreement_id: number | null; voting_members: number; supervisors: number; dormant_since: Date | null }): FundStanding {
  return { agreement: f.agreement_id !== null, committee: f.voting_members >= 5 && f.voting_members % 2 === 1 && f.supervisors >= 1, dormant: f.dormant_since !== null };
}

/**
 * Community funds (街道/社区慈善基金), hosted by the district association. A fund is a sub-ledger of
 * the association (C-1): it owns ledger accounts (its pool, by source) but no bank account, and no
 * fund sits under another. It receives donations only under a signed agreement (C-2).
 */
export function createFundsService(deps: { db: Knex; ledger: LedgerService }) {
  const { db } = deps;

  async function mustFind(id: number): Promise<FundRow> {
    const f = await fundsRepo.find(db, id);
    if (!f) throw new NotFoundError('fund');
    return f;
  }

  const agreementRow = (a: AgreementInput, by: number | null) => ({
    purpose: a.purpose, management_fee_bp: a.management_fee_bp, surplus_disposal: a.surplus_disposal, signed_on: a.signed_on, signatories: a.signatories, created_by: by,
  });

  return {
    /** Creates a fund, its pool accounts (one per source, G-15) and, if given, its agreement, in `trx`. */
    async create(trx: Knex.Transaction, input: { streetId: number; communityId?: number; code: string; name: string; nameEn?: string; agreement?: AgreementInput; createdBy?: number | null }): Promise<FundRow> {
      const fund = await fundsRepo.insert(trx, { street_id: input.streetId, community_id: input.communityId ?? null, code: input.code, name: input.name, name_en: input.nameEn });
      for (const source of POOL_SOURCES) await deps.ledger.ensureAccount(trx, chart.fundPool(fund.id, source, DEFAULT_CURRENCY));
      if (input.agreement) await fundsRepo.replaceAgreement(trx, fund.id, agreementRow(input.agreement, input.createdBy ?? null));
      return fund;
    },

    /** `POST /api/funds`: an admin sets up a fund in a street (or one of its communities). */
    async createFor(p: Principal, input: FundCreateInput, t: Translate): Promise<FundRow> {
      if (!can(p, 'fund.manage')) throw new ForbiddenError();
      return db.transaction(async (trx) => {
        if (!(await trx('streets').where({ id: input.street }).first('id'))) throw new ValidationError({ street: t('validation.unknown_street') });
        if (input.community && !(await trx('communities').where({ id: input.community, street_id: input.street }).first('id'))) {
          throw new ValidationError({ community: t('validation.community_not_in_street') });
        }
        if (await trx('community_funds').where({ code: input.code }).first('id')) throw new ConflictError('fund_code_taken', 'errors.fund_code_taken');
        return this.create(trx, { streetId: input.street, communityId: input.community, code: input.code, name: input.name, nameEn: input.name_en, agreement: input.agreement, createdBy: p.userId });
      });
    },

    async get(p: Principal | undefined, id: number) {
      const f = await mustFind(id);
      if (!can(p, 'fund.read', { streetId: f.street_id })) throw new ForbiddenError();
      const [row] = await fundsRepo.list(db, {}).where('f.id', id);
      return { ...row, standing: standing(row), agreement: (await fundsRepo.currentAgreement(db, id)) ?? null, committee: await fundsRepo.committee(db, id) };
    },

    async list(p: Principal | undefined, f: { street?: number; dormant?: 'true' | 'false' }) {
      const streetId = p?.role === 'street_officer' ? p.streetId ?? -1 : f.street;
      if (!can(p, 'fund.read', { streetId })) throw new ForbiddenError();
      const rows = await fundsRepo.list(db, { streetId, dormant: f.dormant === undefined ? undefined : f.dormant === 'true' });
      return rows.map((r) => ({ ...r, standing: standing(r) }));
    },

    /** C-2: a new signed agreement replaces the one in force (kept, superseded). */
    async setAgreement(p: Principal, id: number, input: AgreementInput) {
      if (!can(p, 'fund.manage')) throw new ForbiddenError();
      await mustFind(id);
      return db.transaction(async (trx) => {
        const before = (await fundsRepo.currentAgreement(trx, id)) ?? null;
        const after = await fundsRepo.replaceAgreement(trx, id, agreementRow(input, p.userId));
        return { before, after };
      });
    },

    /** C-4: the whole committee is replaced at once, so it is never seen half-changed. */
    async setCommittee(p: Principal, id: number, input: CommitteeInput) {
      if (!can(p, 'fund.manage')) throw new ForbiddenError();
      await mustFind(id);
      return db.transaction(async (trx) => {
        const before = await fundsRepo.committee(trx, id);
        await fundsRepo.replaceCommittee(trx, id, input.members.map((m) => ({ name: m.name, role: m.role, affiliation: m.affiliation ?? null, unpaid: m.unpaid })));
        return { before, after: await fundsRepo.committee(trx, id) };
      });
    },

    /**
     * C-8: records each fund's last activity (a donation to one of its campaigns, a release into
     * its pool, a government allocation) and flags those idle for `months` as dormant; activity
     * clears the flag. Returns the funds newly flagged.
     */
    async flagDormant(months: number, now = new Date()): Promise<number[]> {
      const cutoff = new Date(now);
      cutoff.setMonth(cutoff.getMonth() - months);
      const { rows } = await db.raw(
        `WITH last AS (
           SELECT f.id, greatest(
             (SELECT max(d.created_at) FROM donations d JOIN campaigns c ON c.id = d.campaign_id WHERE c.fund_id = f.id),
             (SELECT max(r.created_at) FROM pool_releases r WHERE r.fund_id = f.id),
             (SELECT max(g.created_at) FROM government_allocations g WHERE g.fund_id = f.id)) AS at,
             f.dormant_since AS was
             FROM community_funds f WHERE f.status = 'active')
         UPDATE community_funds f
            SET last_activity_at = last.at,
                dormant_since = CASE WHEN coalesce(last.at, f.created_at) < ? THEN coalesce(f.dormant_since, ?) END
           FROM last WHERE last.id = f.id
         RETURNING f.id, (last.was IS NULL AND f.dormant_since IS NOT NULL) AS newly`,
        [cutoff, now],
      );
      return rows.filter((r: { newly: boolean }) => r.newly).map((r: { id: number }) => r.id);
    },
  };
}

export type FundsService = ReturnType<typeof createFundsService>;
