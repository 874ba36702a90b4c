export { APPROVAL_KINDS, createApprovals, type Approvals, type ApprovalKind, type ApprovalRow, type Executor } from './approvals.js';
export { ApprovalDecision, ApprovalListQuery, approvalsApi } from './approvals.routes.js';
