import { Router } from 'express';
import { CampaignCreate, CampaignListQuery, CampaignTransition, CampaignUpdate } from '../modules/campaigns/index.js';
import { RefundCreate, donationCreate } from '../modules/donations/index.js';
import { GrantCreate, HoldDecision, LinkedParty, OrganisationCreate, Rules, RulesUpdate, TopUp } from '../modules/matching/index.js';
import { financePaths, financeSchemas } from './openapi-finance.js';
import { bearer, body, errors, json, path, schema } from './openapi-parts.js';
import { purchasingPaths, purchasingSchemas } from './openapi-purchasing.js';

const grantId = path('id');
const allocationId = path('id', 'bigint');
const slug = path('slug', 'string');

/** The public contract as OpenAPI 3.1, built from the same zod schemas that validate requests. */
export function openapiDocument(maxAmount: number) {
  const listQuery = schema(CampaignListQuery) as { properties: Record<string, object> };
  return {
    openapi: '3.1.0',
    info: { title: 'Shanhui 善汇 API', version: '1', description: 'Amounts are integer fen (CNY minor units). Errors are {error:{code,message,fields?}}.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ...financeSchemas,
        ...purchasingSchemas,
        Readiness: {
          type: 'object',
          required: ['status', 'db', 'redis', 'payments', 'schedules'],
          properties: {
            status: { enum: ['ok', 'not_ready'] }, db: { enum: ['ok', 'down'] }, redis: { enum: ['ok', 'down'] },
            payments: { type: 'object', properties: { state: { enum: ['ok', 'stale', 'unknown'] }, unprocessed: { type: 'integer' }, oldest_seconds: { type: ['integer', 'null'] } } },
            schedules: { type: 'object', properties: { state: { enum: ['ok', 'missing', 'unknown'] }, missing: { type: 'array', items: { type: 'string' } } } },
          },
        },
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, fields: { type: 'object', additionalProperties: { type: 'string' } } } } } },
        Campaign: {
          type: 'object',
          required: ['slug', 'title', 'street', 'goal', 'raised', 'matched', 'donors', 'status', 'starts_at', 'ends_at'],
          properties: {
            id: { type: 'integer' }, slug: { type: 'string' }, title: { type: 'string' }, story: { type: 'string' },
            street: { type: 'object', properties: { id: { type: 'integer' }, code: { type: 'string' }, name: { type: 'string' } } },
            fund: { type: 'object', properties: { id: { type: 'integer' }, code: { type: 'string' }, name: { type: 'string' } } },
            goal: { type: 'integer' }, currency: { const: 'CNY' }, raised: { type: 'integer' }, matched: { type: 'integer' }, donors: { type: 'integer' },
            match_remaining: { type: 'integer' }, status: { enum: ['draft', 'live', 'closed'] }, accepting_donations: { type: 'boolean' },
            starts_at: { type: 'string', format: 'date-time' }, ends_at: { type: 'string', format: 'date-time' },
          },
        },
        Rules: schema(Rules),
        Grant: {
          type: 'object',
          required: ['id', 'status', 'budget', 'committed', 'reserved', 'remaining'],
          properties: {
            id: { type: 'integer' }, name: { type: 'string' }, status: { enum: ['draft', 'active', 'closed'] },
            sponsor: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, kind: { enum: ['enterprise', 'foundation', 'government', 'platform'] } } },
            budget: { type: 'integer' }, committed: { type: 'integer' }, reserved: { type: 'integer' }, remaining: { type: 'integer' },
            scope: { type: 'object' }, priority: { type: 'integer' }, rule_version: { type: 'integer' }, rules: { $ref: '#/components/schemas/Rules' },
            by_campaign: { type: 'array', items: { type: 'object', properties: { slug: { type: 'string' }, committed: { type: 'integer' }, reserved: { type: 'integer' }, donations: { type: 'integer' } } } },
            starts_at: { type: 'string', format: 'date-time' }, ends_at: { type: 'string', format: 'date-time' },
          },
        },
        Donation: {
          type: 'object',
          required: ['id', 'status', 'amount', 'matched'],
          properties: {
            id: { type: 'string', format: 'uuid' }, status: { enum: ['pending', 'succeeded', 'failed', 'partially_refunded', 'refunded'] },
            amount: { type: 'integer' }, currency: { const: 'CNY' }, matched: { type: 'integer' }, refunded: { type: 'integer' }, campaign: { type: 'string' },
            donor: { type: 'object', properties: { display_name: { type: 'string' }, anonymous: { type: 'boolean' } } },
            message: { type: ['string', 'null'] }, match: { type: 'object', properties: { reserved: { type: 'integer' } } },
            payment: { type: 'object', properties: { provider: { enum: ['stripe', 'sandbox'] }, test_mode: { type: 'boolean' }, payment_intent: { type: 'string' }, client_secret: { type: ['string', 'null'] }, checkout_url: { type: 'string' } } },
          },
        },
      },
    },
    paths: {
      '/healthz': { get: { summary: 'Liveness of PostgreSQL and Redis', responses: { '200': json({ type: 'object' }, 'all up'), '503': json({ type: 'object' }, 'something is down') } } },
      '/readyz': {
        get: {
          summary: 'Readiness: PostgreSQL and Redis answer, every job schedule exists, and no stored processor event waits past the grace period and two sweeps',
          responses: {
            '200': json({ $ref: '#/components/schemas/Readiness' }, 'ready'),
            '503': json({ $ref: '#/components/schemas/Readiness' }, 'not ready: names what is down, missing or stale'),
          },
        },
      },
      '/api/campaigns': {
        get: {
          summary: 'List campaigns (drafts only with a token); paged with X-Total-Count and Link headers',
          parameters: Object.entries(listQuery.properties).map(([name, s]) => ({ name, in: 'query', schema: s })),
          responses: { '200': json({ type: 'array', items: { $ref: '#/components/schemas/Campaign' } }, 'campaigns'), ...errors(400) },
        },
        post: {
          summary: 'Create a campaign (association_admin, or the street officer of its street)',
          security: bearer,
          requestBody: { required: true, content: { 'application/json': { schema: schema(CampaignCreate) } } },
          responses: { '201': json({ $ref: '#/components/schemas/Campaign' }, 'created'), ...errors(400, 401, 403, 409) },
        },
      },
      '/api/campaigns/{slug}': {
        get: { summary: 'One campaign with live totals', parameters: [slug], responses: { '200': json({ $ref: '#/components/schemas/Campaign' }, 'campaign'), ...errors(400, 404) } },
        patch: { summary: "Edit a draft or in-review campaign's text, goal and window (admin, or the street officer of its street)", security: bearer, parameters: [slug], requestBody: body(CampaignUpdate), responses: { '200': json({ $ref: '#/components/schemas/Campaign' }, 'campaign'), ...errors(400, 401, 403, 404, 409) } },
      },
      '/api/campaigns/{slug}/transition': {
        post: { summary: 'Move a campaign through its workflow: draft → review → live → closed (review may go back to draft); only admins publish', security: bearer, parameters: [slug], requestBody: body(CampaignTransition), responses: { '200': json({ $ref: '#/components/schemas/Campaign' }, 'campaign'), ...errors(400, 401, 403, 404, 409) } },
      },
      '/api/campaigns/{slug}/donations': {
        post: {
          summary: 'Start a donation; the same Idempotency-Key returns the same donation',
          parameters: [
            { name: 'slug', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: schema(donationCreate(maxAmount)) } } },
          responses: { '201': json({ $ref: '#/components/schemas/Donation' }, 'pending donation'), ...errors(400, 404, 409, 502) },
        },
      },
      '/api/donations/{id}': {
        get: { summary: 'A donation (no contact details)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }], responses: { '200': json({ $ref: '#/components/schemas/Donation' }, 'donation'), ...errors(404) } },
      },
      '/api/donations/{id}/refunds': {
        post: {
          summary: 'Ask the processor to refund (finance or admin); the ledger moves when its event arrives',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          requestBody: { content: { 'application/json': { schema: schema(RefundCreate) } } },
          responses: { '202': json({ type: 'object' }, 'refund requested'), ...errors(400, 401, 403, 404, 409) },
        },
      },
      '/api/ledger/trial-balance': {
        get: { summary: 'Trial balance and SQL invariant checks (finance, admin, auditor)', security: bearer, responses: { '200': json({ type: 'object', properties: { balanced: { type: 'boolean' }, accounts: { type: 'array' } } }, 'trial balance'), ...errors(401, 403) } },
      },
      '/api/grants': {
        get: { summary: 'List grants (drafts only for staff)', parameters: [{ name: 'status', in: 'query', schema: { enum: ['draft', 'active', 'closed'] } }, { name: 'page', in: 'query', schema: { type: 'integer' } }, { name: 'per_page', in: 'query', schema: { type: 'integer' } }], responses: { '200': json({ type: 'array', items: { $ref: '#/components/schemas/Grant' } }, 'grants') } },
        post: { summary: 'Create a matching grant (association_admin); rules are documented in the Rules schema and the README', security: bearer, requestBody: { required: true, content: { 'application/json': { schema: schema(GrantCreate) } } }, responses: { '201': json({ $ref: '#/components/schemas/Grant' }, 'draft grant'), ...errors(400, 401, 403) } },
      },
      '/api/grants/{id}': { get: { summary: 'A grant with budget, committed, reserved, remaining and by_campaign', parameters: [grantId], responses: { '200': json({ $ref: '#/components/schemas/Grant' }, 'grant'), ...errors(404) } } },
      '/api/grants/{id}/activate': { post: { summary: 'Draft → active: the sponsor pledge funds the pool', security: bearer, parameters: [grantId], responses: { '200': json({ $ref: '#/components/schemas/Grant' }, 'active grant'), ...errors(401, 403, 404, 409) } } },
      '/api/grants/{id}/top-up': { post: { summary: 'Add budget (Idempotency-Key makes it once only)', security: bearer, parameters: [grantId, { name: 'Idempotency-Key', in: 'header', schema: { type: 'string' } }], requestBody: { required: true, content: { 'application/json': { schema: schema(TopUp) } } }, responses: { '200': json({ $ref: '#/components/schemas/Grant' }, 'grant'), ...errors(400, 401, 403, 404, 409) } } },
      '/api/grants/{id}/rules': { put: { summary: 'A new rule version; allocations keep the version they used', security: bearer, parameters: [grantId], requestBody: body(RulesUpdate), responses: { '200': json({ $ref: '#/components/schemas/Grant' }, 'grant'), ...errors(400, 401, 403, 404, 409) } } },
      '/api/grants/{id}/close': { post: { summary: 'Active → closed: stretch or quadratic shares, the rest back to the sponsor', security: bearer, parameters: [grantId], responses: { '200': json({ $ref: '#/components/schemas/Grant' }, 'closed grant'), ...errors(401, 403, 404, 409) } } },
      '/api/campaigns/{slug}/match-preview': { get: { summary: '"Your ¥50 will be matched ¥50": the match a gift of `amount` fen would get now', parameters: [{ name: 'slug', in: 'path', required: true, schema: { type: 'string' } }, { name: 'amount', in: 'query', required: true, schema: { type: 'integer' } }], responses: { '200': json({ type: 'object', properties: { amount: { type: 'integer' }, match: { type: 'integer' }, grants: { type: 'array' } } }, 'preview'), ...errors(400, 404) } } },
      '/api/campaigns/{slug}/linked-parties': { post: { summary: "Record the campaign beneficiary's or organiser's contact (hashed) for the self-donation hold", security: bearer, parameters: [{ name: 'slug', in: 'path', required: true, schema: { type: 'string' } }], requestBody: { required: true, content: { 'application/json': { schema: schema(LinkedParty) } } }, responses: { '201': json({ type: 'object' }, 'recorded'), ...errors(400, 401, 403, 404) } } },
      '/api/risk/holds': { get: { summary: 'Held matches awaiting review (admin, finance, auditor)', security: bearer, responses: { '200': json({ type: 'array' }, 'holds'), ...errors(401, 403) } } },
      '/api/risk/holds/{id}/confirm': { post: { summary: 'Abuse confirmed: release the match back and sanction the organisation', security: bearer, parameters: [allocationId], requestBody: { content: { 'application/json': { schema: schema(HoldDecision) } } }, responses: { '200': json({ type: 'object' }, 'decided'), ...errors(401, 403, 404, 409) } } },
      '/api/risk/holds/{id}/release': { post: { summary: 'Not abuse: commit the held match', security: bearer, parameters: [allocationId], requestBody: { content: { 'application/json': { schema: schema(HoldDecision) } } }, responses: { '200': json({ type: 'object' }, 'decided'), ...errors(401, 403, 404, 409) } } },
      '/api/match-allocations/{id}/replay': { get: { summary: 'Recompute a recorded allocation from its stored rule version, inputs and draw', security: bearer, parameters: [allocationId], responses: { '200': json({ type: 'object' }, 'replay'), ...errors(401, 403, 404) } } },
      '/api/organisations': {
        get: { summary: 'Social organisations, with sanctions', responses: { '200': json({ type: 'array' }, 'organisations') } },
        post: { summary: 'Register an organisation (association_admin)', security: bearer, requestBody: body(OrganisationCreate), responses: { '201': json({ type: 'object' }, 'created'), ...errors(400, 401, 403, 409) } },
      },
      '/webhooks/stripe': {
        post: { summary: 'Stripe-signed events: payment_intent.succeeded, payment_intent.payment_failed, charge.refunded, charge.dispute.created, payout.paid', responses: { '200': json({ type: 'object' }, 'stored'), ...errors(400) } },
      },
      ...financePaths(),
      ...purchasingPaths(),
    },
  };
}

export function openapiRouter(deps: { maxAmount: number }): Router {
  const doc = openapiDocument(deps.maxAmount);
  const r = Router();
  r.get('/openapi.json', (_req, res) => res.json(doc));
  return r;
}
