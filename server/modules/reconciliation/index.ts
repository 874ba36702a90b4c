export { createReconciliation, type Reconciliation } from './reconciliation.service.js';
export { createPayoutReconciler, type PayoutOutcome } from './reconcile.js';
export { reconciliationApi, type RunQueue } from './reconciliation.routes.js';
export { reconciliationRepo, type PayoutRow, type ExceptionRow, type ExceptionKind } from './reconciliation.repo.js';
export { ExceptionResolve, RunRequest, SandboxPayoutRequest } from './reconciliation.schemas.js';
