export { createFundsService, type FundsService } from './funds.service.js';
export { fundsRepo, type FundRow } from './funds.repo.js';
