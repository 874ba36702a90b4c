import { PurchasingSchemas as S } from '../modules/purchasing/index.js';
import { bearer, body, errors, json, paging, path, query } from './openapi-parts.js';

const int = { type: 'integer' };
const str = { type: 'string' };
const when = { type: ['string', 'null'], format: 'date-time' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (name: string, description = name) => ({ '200': json(ref(name), description) });

/** Schemas of purchase of services: calls, applications, ranking, contracts and tranches. */
export const purchasingSchemas = {
  Call: {
    type: 'object',
    properties: {
      id: int, street_id: int, fund_id: int, title: str, description: str, category: str, budget_line: str, budget_minor: int,
      funding: { type: 'object', description: 'fen committed from each pool source (G-15)', additionalProperties: int },
      opens_at: when, closes_at: when, eligibility: { type: 'object' }, max_applications_per_org: int,
      criteria: { type: 'array', items: { type: 'object', properties: { key: str, name: str, weight: int } } }, panel_size: int, notice_days: int,
      status: { enum: ['draft', 'open', 'review', 'notice', 'awarded', 'closed'] }, published_at: when, review_closed_at: when, notice_starts_at: when, notice_ends_at: when,
      ranking: { type: 'array', items: ref('RankedApplication'), description: 'once the review has closed' }, objections: { type: 'array', items: ref('Objection') },
    },
  },
  Application: {
    type: 'object',
    properties: {
      id: int, call_id: int, organisation_id: int, title: str, summary: str, service_area: str, beneficiaries: str, beneficiary_count: int, activities: str, outcomes: str,
      budget_lines: { type: 'array', items: { type: 'object', properties: { line: str, amount: int } } }, amount_minor: int,
      status: { enum: ['awaiting_members', 'submitted', 'shortlisted', 'not_shortlisted', 'awarded', 'withdrawn'] },
      confirmation_links: { type: 'array', description: 'once, on submission of a joint application', items: { type: 'object', properties: { member: str, token: str, path: str } } },
    },
  },
  RankedApplication: {
    type: 'object',
    properties: { application_id: int, title: str, organisation: str, amount: int, score: { type: 'number' }, spread: { type: 'number' }, reviewers: int, rank: int, shortlisted: { type: 'boolean' } },
  },
  Objection: { type: 'object', properties: { id: int, application_id: { type: ['integer', 'null'] }, author: str, body: str, status: { enum: ['open', 'resolved'] }, reply: { type: ['string', 'null'] }, created_at: when } },
  Contract: {
    type: 'object',
    properties: {
      id: int, call_id: int, application_id: int, organisation_id: int, organisation: str, title: str, amount_minor: int, funding: { type: 'object', additionalProperties: int },
      starts_on: str, ends_on: str, tolerance_bp: int, status: { enum: ['awarded', 'signed', 'completed', 'terminated'] },
      tranches: { type: 'array', items: { type: 'object', properties: { id: int, seq: int, percent: int, amount_minor: int, gate: { enum: ['signed', 'midterm', 'final'] }, status: { enum: ['planned', 'requested', 'paid'] }, paid_at: when } } },
    },
  },
};

/** Paths of calls, organisations, applications, review, notice, contracts, reports, evaluations and the credit list. */
export function purchasingPaths() {
  return {
    '/api/service-catalogue': { get: { summary: 'The service catalogue (指导性目录) a call must name (G-1)', responses: { '200': json({ type: 'array' }, 'categories') } } },
    '/api/calls': {
      get: { summary: 'Calls for proposals (public; drafts only for staff of the street)', parameters: [query('street', int), query('status', { enum: ['draft', 'open', 'review', 'notice', 'awarded', 'closed'] }), ...paging], responses: { '200': json({ type: 'array', items: ref('Call') }, 'calls'), ...errors(400) } },
      post: { summary: "Draft a call against the street's pool (street officer of that street, admin)", security: bearer, requestBody: body(S.CallCreate), responses: { '201': json(ref('Call'), 'draft'), ...errors(400, 401, 403) } },
    },
    '/api/calls/{id}': { get: { summary: 'A call; its ranking and objections once the review has closed, its applications for staff', parameters: [path('id')], responses: { ...ok('Call'), ...errors(404) } } },
    '/api/calls/{id}/publish': { post: { summary: "Publish: the budget is committed from the pool's available balance in one journal (G-1)", security: bearer, parameters: [path('id')], responses: { ...ok('Call'), ...errors(401, 403, 404, 409) } } },
    '/api/calls/{id}/applications': {
      get: { summary: "A call's applications with members and duplicate flags (staff, the panel)", security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'array', items: ref('Application') }, 'applications'), ...errors(401, 403, 404) } },
      post: { summary: 'Apply (social organisation member); refused with the reason when ineligible (G-3), over the limit or the scope is funded (G-4)', security: bearer, parameters: [path('id')], requestBody: body(S.ApplicationCreate), responses: { '201': json(ref('Application'), 'application'), ...errors(400, 401, 403, 404, 409, 422) } },
    },
    '/api/applications/{id}/confirm': { post: { summary: "A joint member confirms with its one-time token (G-5); the last one submits the application", parameters: [path('id')], requestBody: body(S.MemberConfirm), responses: { '200': json({ type: 'object' }, 'confirmed'), ...errors(400, 404, 409) } } },
    '/api/calls/{id}/review': { post: { summary: 'Open the review once the window has closed: the panel is drawn at random, the seed recorded (G-6)', security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'object' }, 'seed and panel'), ...errors(401, 403, 404, 409) } } },
    '/api/calls/{id}/panel': { get: { summary: 'The panel and its declarations', security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'array' }, 'panel'), ...errors(401, 403, 404) } } },
    '/api/calls/{id}/declaration': { post: { summary: "An expert's conflict-of-interest declaration, before scoring; a conflicted expert is replaced", security: bearer, parameters: [path('id')], requestBody: body(S.Declaration), responses: { '200': json({ type: 'object' }, 'declared'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/calls/{id}/applications/{app}/scores': { post: { summary: 'Scores per criterion, once; hidden from other experts until the round closes', security: bearer, parameters: [path('id'), path('app')], requestBody: body(S.Scores), responses: { '201': json({ type: 'object' }, 'scored'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/calls/{id}/scores': { get: { summary: "The caller's own scores; everyone's for staff once the round has closed", security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'array' }, 'scores'), ...errors(401, 403, 404) } } },
    '/api/calls/{id}/close-review': { post: { summary: 'Close the round: rank by weighted total with the spread, shortlist within the budget, start the notice of N working days (G-7)', security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'object' }, 'ranking'), ...errors(401, 403, 404, 409) } } },
    '/api/calls/{id}/objections': { post: { summary: 'Anyone comments or objects while the notice runs; an open objection blocks the award', parameters: [path('id')], requestBody: body(S.ObjectionCreate), responses: { '201': json(ref('Objection'), 'objection'), ...errors(400, 404, 409) } } },
    '/api/objections/{id}/reply': { post: { summary: 'Resolve an objection with a published reply (staff of the street)', security: bearer, parameters: [path('id')], requestBody: body(S.ObjectionReply), responses: { '200': json(ref('Objection'), 'resolved'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/calls/{id}/award': { post: { summary: 'Ask for the award once the notice is over with no open objection; a second person approves under /api/approvals, creating contracts and tranches (G-9, G-10)', security: bearer, parameters: [path('id')], requestBody: body(S.AwardRequest), responses: { '202': json({ type: 'object' }, 'pending approval'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/calls/{id}/close': { post: { summary: 'Close the call; what was not contracted goes back to the pool', security: bearer, parameters: [path('id')], responses: { ...ok('Call'), ...errors(401, 403, 404, 409) } } },
    '/api/organisations/register': { post: { summary: 'Register a social organisation with its certificate (anyone); it may apply once staff verify it (G-3)', requestBody: body(S.OrganisationRegister), responses: { '201': json({ type: 'object' }, 'organisation'), ...errors(400, 409) } } },
    '/api/organisations/{id}/verify': { post: { summary: 'Verify an organisation against the registry (admin)', security: bearer, parameters: [path('id')], responses: { '200': json({ type: 'object' }, 'organisation'), ...errors(401, 403, 404) } } },
    '/api/organisations/{id}/standing': { put: { summary: 'Record the credit standing civil affairs publishes (admin)', security: bearer, parameters: [path('id')], requestBody: body(S.OrganisationStanding), responses: { '200': json({ type: 'object' }, 'organisation'), ...errors(400, 401, 403, 404) } } },
    '/api/contracts/{id}': { get: { summary: 'A contract with its tranches (public)', parameters: [path('id')], responses: { ...ok('Contract'), ...errors(404) } } },
    '/api/contracts/{id}/sign': { post: { summary: 'The organisation signs its contract', security: bearer, parameters: [path('id')], responses: { ...ok('Contract'), ...errors(401, 403, 404, 409) } } },
    '/api/tranches/{id}/pay': { post: { summary: "Ask for a tranche once its gate holds (signed, mid-term passed, final accepted; every monthly report in); a second person approves the payment journal", security: bearer, parameters: [path('id')], responses: { '202': json({ type: 'object' }, 'pending approval'), ...errors(401, 403, 404, 409) } } },
    '/api/contracts/{id}/attachments': { post: { summary: 'Upload a voucher (multipart, field `file`): PDF, PNG or JPEG up to 5 MB, kept under its own id', security: bearer, parameters: [path('id')], requestBody: { required: true, content: { 'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } } } } } }, responses: { '201': json({ type: 'object' }, 'attachment'), ...errors(400, 401, 403, 404, 413) } } },
    '/api/attachments/{id}': { get: { summary: 'A voucher, with its content type; public once a report cites it', parameters: [path('id', 'string')], responses: { '200': { description: 'the file' }, ...errors(404) } } },
    '/api/contracts/{id}/reports': { post: { summary: 'A monthly report with its statement and expenses by budget line, each with a voucher; over line plus tolerance needs approval (G-11, G-14)', security: bearer, parameters: [path('id')], requestBody: body(S.ReportCreate), responses: { '201': json({ type: 'object' }, 'report'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/contracts/{id}/evaluations/{stage}': { post: { summary: "One party's scorecard for the mid-term or final evaluation; the last input grades it and applies the consequence (G-12, G-13)", security: bearer, parameters: [path('id'), { name: 'stage', in: 'path', required: true, schema: { enum: ['midterm', 'final'] } }], requestBody: body(S.EvaluationInput), responses: { '201': json({ type: 'object' }, 'input, or the grade when complete'), ...errors(400, 401, 403, 404, 409) } } },
    '/api/credit-list': { get: { summary: 'The public red and black list (G-3, M-13)', responses: { '200': json({ type: 'array' }, 'entries') } } },
  };
}
