import type { Knex } from 'knex';
import type { Approvals } from '../approvals/index.js';
import type { LedgerService } from '../ledger/index.js';
import { createApplications } from './applications.js';
import { createAttachments } from './attachments.js';
import { createCalls } from './calls.js';
import { createContracts } from './contracts.js';
import { createEvaluations } from './evaluations.js';
import { createNotices } from './notices.js';
import { createOrganisations } from './organisations.js';
import { createReports } from './reports.js';
import { createReviews } from './reviews.js';

/** The purchase-of-services lifecycle, each step its own part; approvals are wired in after they exist. */
export function createPurchasing(deps: { db: Knex; ledger: LedgerService; dataDir: string }) {
  let approvals: Approvals | undefined;
  const lateApprovals = () => approvals!;
  const notices = createNotices({ db: deps.db });
  return {
    useApprovals(a: Approvals) {
      approvals = a;
    },
    calls: createCalls({ db: deps.db, ledger: deps.ledger }),
    applications: createApplications({ db: deps.db }),
    reviews: createReviews({ db: deps.db }),
    notices,
    contracts: createContracts({ db: deps.db, ledger: deps.ledger, notices, approvals: lateApprovals }),
    reports: createReports({ db: deps.db, approvals: lateApprovals }),
    evaluations: createEvaluations({ db: deps.db }),
    organisations: createOrganisations({ db: deps.db }),
    attachments: createAttachments({ db: deps.db, dir: deps.dataDir }),
  };
}

export type Purchasing = ReturnType<typeof createPurchasing>;
export { addWorkingDays } from './working-days.js';
export { drawOrder } from './reviews.js';
export { grade, SCORECARD, PARTIES } from './evaluations.js';
export { NEAR_DUPLICATE, ineligibility } from './applications.js';
export { MAX_ATTACHMENT_BYTES, sniff, cleanName } from './attachments.js';
export { reportMonths } from './contracts.js';
export * as PurchasingSchemas from './purchasing.schemas.js';
export { callsApi } from './calls.routes.js';
export { contractsApi } from './contracts.routes.js';
export { purchasingPages } from './purchasing.pages.js';
