export { APPROVAL_KINDS, createApprovals, type Approvals, type ApprovalKind, type ApprovalRow, type Executor } from './approvals.js';
export { approvalsApi } from './approvals.routes.js';
