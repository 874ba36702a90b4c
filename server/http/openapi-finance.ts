import { AgreementInput, CommitteeInput, FundCreate, GovernmentAllocation, Invoice, Receipt } from '../modules/funds/index.js';
import { ApprovalDecision, ApprovalListQuery } from '../modules/approvals/index.js';
import { Adjustment } from '../modules/ledger/index.js';
import { ExceptionResolve, RunRequest, SandboxPayoutRequest } from '../modules/reconciliation/index.js';
import { bearer, body, errors, json, paging, path, query, schema } from './openapi-parts.js';

/** Schemas of the money loop: pools, payouts, exceptions. */
export const financeSchemas = {
  Pool: {
    type: 'object', required: ['street_id', 'street', 'available', 'by_source', 'pending'],
    properties: {
      street_id: { type: 'integer' }, street: { type: 'string' }, currency: { const: 'CNY' }, available: { type: 'integer' },
      by_source: { type: 'object', required: ['donations', 'matching', 'government'], properties: { donations: { type: 'integer' }, matching: { type: 'integer' }, government: { type: 'integer' } } },
      matching_by_sponsor: { type: 'object', additionalProperties: { type: 'integer' } }, pending: { type: 'integer' },
    },
  },
  Payout: {
    type: 'object',
    properties: {
      id: { type: 'string' }, provider: { enum: ['stripe', 'sandbox'] }, amount_minor: { type: 'integer' }, currency: { type: 'string' }, status: { type: 'string' },
      reconciliation: { enum: ['pending', 'reconciled', 'exceptions'] }, items: { type: 'integer' }, matched: { type: 'integer' }, exceptions: { type: 'integer' },
      gross_minor: { type: 'integer' }, fee_minor: { type: 'integer' }, net_minor: { type: 'integer' }, arrival_at: { type: ['string', 'null'], format: 'date-time' },
    },
  },
  ReconciliationException: {
    type: 'object',
    properties: {
      id: { type: 'integer' }, kind: { enum: ['missing_in_ledger', 'missing_at_processor', 'amount_mismatch', 'fee_mismatch', 'currency_mismatch', 'payout_sum_mismatch'] },
      payout_id: { type: ['string', 'null'] }, item_id: { type: ['string', 'null'] }, donation_id: { type: ['string', 'null'] }, expected: { type: 'object' }, actual: { type: 'object' },
      difference_minor: { type: 'integer' }, status: { enum: ['open', 'resolved'] }, note: { type: ['string', 'null'] },
    },
  },
};

/** The approval list's query parameters, from the schema that parses them. */
function approvalFilters() {
  const { properties } = schema(ApprovalListQuery) as { properties: Record<string, object> };
  return Object.entries(properties).map(([name, s]) => query(name, s));
}

/** Paths of community funds, pools, pledges, statements, periods and reconciliation. */
export function financePaths() {
  return {
    '/api/funds': {
      get: { summary: 'Community funds with their standing (readers; a street officer sees its street)', security: bearer, parameters: [query('street', { type: 'integer' }), query('dormant', { enum: ['true', 'false'] })], responses: { '200': json({ type: 'array' }, 'funds'), ...errors(401, 403) } },
      post: { summary: 'Create a fund in a street or community (admin); never under another fund (C-1)', security: bearer, requestBody: body(FundCreate), responses: { '201': json({ type: 'object' }, 'fund'), ...errors(400, 401, 403, 409) } },
    },
    '/api/funds/{id}': { get: { summary: 'A fund: standing, agreement in force, committee', security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'object' }, 'fund'), ...errors(401, 403, 404) } } },
    '/api/funds/{id}/agreement': { put: { summary: 'Sign a cooperation agreement (C-2); the previous one is kept, superseded', security: bearer, parameters: [path('id')], requestBody: body(AgreementInput), responses: { '200': json({ type: 'object' }, 'agreement'), ...errors(400, 401, 403, 404) } } },
    '/api/funds/{id}/committee': { put: { summary: 'Replace the committee: ≥ 5 unpaid voting members, an odd number, a supervisor (C-4)', security: bearer, parameters: [path('id')], requestBody: body(CommitteeInput), responses: { '200': json({ type: 'array' }, 'members'), ...errors(400, 401, 403, 404) } } },
    '/api/funds/{id}/statement': { get: { summary: 'Fund statement (D-7): opening and closing balance, income by source, expenses; format=csv for CSV', security: bearer, parameters: [path('id'), query('from', { type: 'string', format: 'date-time' }), query('to', { type: 'string', format: 'date-time' }), query('format', { enum: ['json', 'csv'] })], responses: { '200': json({ type: 'object' }, 'statement'), ...errors(400, 401, 403, 404) } } },
    '/api/pools': { get: { summary: "Every street's purchase-of-services pool by source (public)", responses: { '200': json({ type: 'array', items: { $ref: '#/components/schemas/Pool' } }, 'pools') } } },
    '/api/pools/{street}': { get: { summary: "One street's pool", parameters: [path('street')], responses: { '200': json({ $ref: '#/components/schemas/Pool' }, 'pool'), ...errors(404) } } },
    '/api/pools/{street}/inflow': { get: { summary: 'What flowed into the pool per day and source', parameters: [path('street'), query('days', { type: 'integer', maximum: 730 })], responses: { '200': json({ type: 'array' }, 'inflow') } } },
    '/api/pools/{street}/government': { post: { summary: 'Government money (财政资金) into the street pool, by reference (finance, admin)', security: bearer, parameters: [path('street')], requestBody: body(GovernmentAllocation), responses: { '201': json({ type: 'object' }, 'allocated'), '200': json({ type: 'object' }, 'same reference, already allocated'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/pools/release': { post: { summary: 'Release everything due into the pools now (finance, admin); the hourly job does the same', security: bearer, responses: { '200': json({ type: 'object' }, 'released'), ...errors(401, 403) } } },
    '/api/grants/{id}/pledge': { get: { summary: "A grant's pledge: pledged, invoiced, received, released to pools, outstanding", security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'object' }, 'pledge'), ...errors(401, 403, 404) } } },
    '/api/grants/{id}/invoices': { post: { summary: 'Invoice the sponsor (finance, admin)', security: bearer, parameters: [path('id')], requestBody: body(Invoice), responses: { '201': json({ type: 'object' }, 'invoice'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/grants/{id}/receipts': { post: { summary: "Record the sponsor's payment by hand (finance, admin)", security: bearer, parameters: [path('id')], requestBody: body(Receipt), responses: { '201': json({ type: 'object' }, 'receipt'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/pledges/bank-statement': { post: { summary: 'Import a bank statement (text/csv: date,amount,reference[,payer]); lines naming an invoice become receipts', security: bearer, requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object', properties: { csv: { type: 'string' } } } } } }, responses: { '200': json({ type: 'object' }, 'matched, duplicates, unmatched'), ...errors(400, 401, 403) } } },
    '/api/finance/management-costs': { get: { summary: 'C-7 figures and warnings for a year (readers)', security: bearer, parameters: [query('year', { type: 'integer' })], responses: { '200': json({ type: 'object' }, 'figures'), ...errors(401, 403) } } },
    '/api/ledger/adjustments': { post: { summary: 'Ask for an adjusting journal between two accounts of the same currency (finance, admin); a second person approves under /api/approvals', security: bearer, requestBody: body(Adjustment), responses: { '202': json({ type: 'object' }, 'pending approval'), ...errors(400, 401, 403, 409) } } },
    '/api/approvals': { get: { summary: 'Four-eyes requests: refunds, grant activations, adjusting journals, awards, tranche payments (finance, admin, auditor); paged', security: bearer, parameters: approvalFilters(), responses: { '200': json({ type: 'array', items: { type: 'object' } }, 'approvals'), ...errors(400, 401, 403) } } },
    '/api/approvals/{id}/approve': { post: { summary: 'Approve, which carries the request out; never by the person who asked (four eyes). Grant activations need an admin', security: bearer, parameters: [path('id')], requestBody: body(ApprovalDecision), responses: { '200': json({ type: 'object' }, 'decided'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/approvals/{id}/reject': { post: { summary: 'Reject: nothing is carried out', security: bearer, parameters: [path('id')], requestBody: body(ApprovalDecision), responses: { '200': json({ type: 'object' }, 'decided'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/ledger/periods': {
      get: { summary: 'Closed accounting periods', security: bearer, responses: { '200': json({ type: 'array' }, 'periods'), ...errors(401, 403) } },
      post: { summary: 'Close a month that has ended (finance, admin); no journal is posted into it afterwards', security: bearer, requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['period'], properties: { period: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } } } } } }, responses: { '201': json({ type: 'object' }, 'closed'), ...errors(400, 401, 403, 409) } },
    },
    '/api/reconciliation/payouts': { get: { summary: 'Payouts with their reconciliation state (readers)', security: bearer, parameters: [query('reconciliation', { enum: ['pending', 'reconciled', 'exceptions'] }), ...paging], responses: { '200': json({ type: 'array', items: { $ref: '#/components/schemas/Payout' } }, 'payouts'), ...errors(401, 403) } } },
    '/api/reconciliation/payouts/{id}': { get: { summary: 'One payout and a page of its balance transactions', security: bearer, parameters: [path('id', 'string'), query('status', { enum: ['pending', 'matched', 'exception', 'skipped'] }), ...paging], responses: { '200': json({ $ref: '#/components/schemas/Payout' }, 'payout'), ...errors(401, 403, 404) } } },
    '/api/reconciliation/exceptions': { get: { summary: 'The exception queue', security: bearer, parameters: [query('status', { enum: ['open', 'resolved'] }), query('kind', { type: 'string' }), query('payout', { type: 'string' }), ...paging], responses: { '200': json({ type: 'array', items: { $ref: '#/components/schemas/ReconciliationException' } }, 'exceptions'), ...errors(401, 403) } } },
    '/api/reconciliation/exceptions/{id}/resolve': { post: { summary: 'Ask to resolve an exception (with an adjusting journal or none); a second person approves under /api/approvals', security: bearer, parameters: [path('id')], requestBody: body(ExceptionResolve), responses: { '202': json({ type: 'object' }, 'pending approval'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/reconciliation/run': { post: { summary: 'Start a reconciliation run (finance, admin); watch it at /api/reconciliation/runs/{id}', security: bearer, requestBody: body(RunRequest), responses: { '202': json({ type: 'object' }, 'queued'), ...errors(400, 401, 403) } } },
    '/api/reconciliation/runs/{id}': { get: { summary: "A run's state, progress and result", security: bearer, parameters: [path('id', 'string')], responses: { '200': json({ type: 'object' }, 'run'), ...errors(401, 403, 404) } } },
    '/api/sandbox/payouts': { post: { summary: 'Test mode only: pay out everything available, injecting the discrepancies asked for (finance, admin)', security: bearer, requestBody: body(SandboxPayoutRequest), responses: { '201': json({ type: 'object' }, 'payout created; payout.paid sent'), ...errors(400, 401, 403, 409) } } },
  };
}
