import type { Knex } from 'knex';
import { DEFAULT_CURRENCY } from '../../lib/money.js';
import { chart, type LedgerService } from '../ledger/index.js';
import { fundsRepo, type FundRow } from './funds.repo.js';

/** Community funds (街道/社区慈善基金), hosted by the district association, each with its ledger accounts. */
export function createFundsService(deps: { ledger: LedgerService }) {
  return {
    /** Creates a fund and its purchase-of-services pool account in one transaction. */
    async create(trx: Knex.Transaction, input: { streetId: number; communityId?: number; code: string; name: string; nameEn?: string }): Promise<FundRow> {
      const fund = await fundsRepo.insert(trx, {
        street_id: input.streetId,
        community_id: input.communityId ?? null,
        code: input.code,
        name: input.name,
        name_en: input.nameEn,
      });
      await deps.ledger.ensureAccount(trx, chart.fundPool(fund.id, DEFAULT_CURRENCY));
      return fund;
    },
  };
}

export type FundsService = ReturnType<typeof createFundsService>;
