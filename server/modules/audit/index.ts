export { createAudit, auditContext, type Audit, type AuditContext, type AuditEntry, type AuditFilter } from './audit.js';
