export { chart, matchSource, POOL_SOURCES, type AccountSpec, type PoolSource } from './accounts.js';
export { JournalKind } from './journal-kinds.js';
export { createLedgerService, credit, debit, InsufficientFundsError, type LedgerService, type JournalInput, type Leg, type PostedJournal } from './ledger.service.js';
export { checkInvariants, INVARIANTS, type InvariantResult } from './invariants.js';
export { trialBalance, type TrialBalance } from './trial-balance.js';
export { Adjustment, PeriodClose, ledgerRouter } from './ledger.routes.js';
export { periods, periodBounds } from './periods.js';
