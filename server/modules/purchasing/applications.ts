import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError, ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.js';
import { can, type Principal } from '../auth/index.js';
import type { CallRow } from './calls.js';
import type { ApplicationCreateInput } from './purchasing.schemas.js';

const RATINGS = ['1A', '2A', '3A', '4A', '5A'];
const MONTH = 30 * 86_400_000;
/** G-4: text at least this similar (pg_trgm) to another application is flagged for the reviewers. */
export const NEAR_DUPLICATE = 0.6;

const hash = (token: string) => createHash('sha256').update(token).digest('hex');
const normalise = (s: string) => s.replace(/\s+/g, '').toLowerCase();

/** 422: the organisation may not apply, and why (G-3). */
export class NotEligibleError extends AppError {
  constructor(reason: string) {
    super(422, 'not_eligible', `eligibility.${reason}`, { params: { reason } });
  }
}

interface OrganisationRow {
  id: number; name: string; registration_no: string | null; registered_on: Date | null; certificate_expires_on: Date | null; rating: string | null;
  credit_status: string; annual_report_ok: boolean; verified_at: Date | null; sanctioned_at: Date | null;
}

/**
 * Why an organisation may not apply to a call, if it may not (G-3, M-13, M-15): not verified by
 * staff; on the abnormal-activity or serious-violation list; a missing or failed annual report;
 * sanctioned for matching abuse; on the black list (an entry still running, or one of the last
 * three years); a certificate that lapses within the call's months after it closes; too young;
 * rated below the call's minimum.
 */
export async function ineligibility(db: Knex | Knex.Transaction, org: OrganisationRow, call: CallRow, now = new Date()): Promise<string | null> {
  if (!org.verified_at) return 'not_verified';
  if (org.credit_status === 'abnormal') return 'abnormal_activity';
  if (org.credit_status === 'serious_violation') return 'serious_violation';
  if (!org.annual_report_ok) return 'annual_report';
  if (org.sanctioned_at) return 'sanctioned';
  const threeYears = new Date(now.getTime() - 3 * 365 * 86_400_000);
  const black = await db('credit_list').where({ organisation_id: org.id, list: 'black' })
    .where((w) => w.whereNull('until').orWhere('until', '>=', threeYears)).first('id');
  if (black) return 'blacklisted';
  if (!org.certificate_expires_on || new Date(org.certificate_expires_on).getTime() < call.closes_at.getTime() + call.eligibility.certificate_months * MONTH) return 'certificate';
  const min = call.eligibility.min_years_registered;
  if (min && (!org.registered_on || new Date(org.registered_on).getTime() > now.getTime() - min * 365 * 86_400_000)) return 'too_young';
  if (call.eligibility.min_rating && RATINGS.indexOf(org.rating ?? '') < RATINGS.indexOf(call.eligibility.min_rating)) return 'rating';
  return null;
}

/**
 * Applications to calls (G-3, G-4, G-5). Submitting checks the window, the organisation's
 * eligibility, the per-organisation limit and live funding for the same scope, and flags text
 * near-duplicates for the reviewers. A joint application waits until every member has
 * confirmed with the one-time link handed to it.
 */
export function createApplications(deps: { db: Knex }) {
  const { db } = deps;

  return {
    async submit(p: Principal, call: CallRow, organisationId: number, input: ApplicationCreateInput, now = new Date()) {
      if (!can(p, 'application.submit', { organisationId })) throw new ForbiddenError();
      if (call.status !== 'open' || now < call.opens_at || now >= call.closes_at) throw new ConflictError('call_not_open', 'errors.call_not_open');
      const amount = input.budget_lines.reduce((s, l) => s + l.amount, 0);
      if (amount > call.budget_minor) throw new ConflictError('over_budget', 'errors.application_over_budget');
      return db.transaction(async (trx) => {
        const org: OrganisationRow | undefined = await trx('organisations').where({ id: organisationId }).forUpdate().first();
        if (!org) throw new NotFoundError('organisation');
        const why = await ineligibility(trx, org, call, now);
        if (why) throw new NotEligibleError(why);
        const [{ n }] = await trx('applications').where({ call_id: call.id, organisation_id: organisationId }).whereNot('status', 'withdrawn').count({ n: '*' });
        if (Number(n) >= call.max_applications_per_org) throw new ConflictError('over_application_limit', 'errors.over_application_limit', { max: call.max_applications_per_org });
        const funded = await trx('contracts as t').join('applications as a', 'a.id', 't.application_id').join('calls as c', 'c.id', 't.call_id')
          .whereIn('t.status', ['awarded', 'signed']).where('c.category', call.category)
          .whereRaw(`regexp_replace(lower(a.service_area), '\\s', '', 'g') = ?`, [normalise(input.service_area)]).first('a.id');
        if (funded) throw new ConflictError('scope_already_funded', 'errors.scope_already_funded');

        const joint = input.members.length > 0;
        const [app] = await trx('applications').insert({
          call_id: call.id, organisation_id: organisationId, title: input.title, summary: input.summary, service_area: input.service_area,
          beneficiaries: input.beneficiaries, beneficiary_count: input.beneficiary_count, activities: input.activities, outcomes: input.outcomes,
          budget_lines: JSON.stringify(input.budget_lines), amount_minor: amount, no_violation_declared: true,
          status: joint ? 'awaiting_members' : 'submitted', submitted_by: p.userId, submitted_at: joint ? null : now,
        }).returning('*');
        await trx('application_members').insert({ application_id: app.id, role: 'lead', organisation_id: organisationId, name: org.name, confirmed_at: now });
        const links: { member: string; token: string }[] = [];
        for (const m of input.members) {
          const token = randomBytes(24).toString('base64url');
          await trx('application_members').insert({ application_id: app.id, role: m.role, organisation_id: m.organisation_id ?? null, name: m.name, confirm_hash: hash(token) });
          links.push({ member: m.name, token });
        }
        const { rows: similar } = await trx.raw(
          `SELECT a.id, similarity(a.title || ' ' || a.summary || ' ' || a.activities, ?) AS s FROM applications a
            WHERE a.id <> ? AND a.status <> 'withdrawn' AND (a.title || ' ' || a.summary || ' ' || a.activities) % ?
            ORDER BY s DESC LIMIT 5`,
          [`${input.title} ${input.summary} ${input.activities}`, app.id, `${input.title} ${input.summary} ${input.activities}`],
        );
        for (const x of similar as { id: number; s: number }[]) {
          if (Number(x.s) < NEAR_DUPLICATE) continue;
          await trx('application_flags').insert({ application_id: app.id, kind: 'near_duplicate', other_application_id: x.id, similarity: Number(x.s).toFixed(3) }).onConflict().ignore();
        }
        return { application: app, confirmation_links: links };
      });
    },

    /** A joint member confirms with its one-time token; the last confirmation submits the application. */
    async confirm(applicationId: number, token: string, now = new Date()) {
      return db.transaction(async (trx) => {
        const app = await trx('applications').where({ id: applicationId }).forUpdate().first();
        if (!app) throw new NotFoundError('application');
        const m = await trx('application_members').where({ application_id: applicationId, confirm_hash: hash(token) }).whereNull('confirmed_at').first();
        if (!m) throw new ConflictError('invalid_confirmation', 'errors.invalid_confirmation');
        const call = await trx('calls').where({ id: app.call_id }).first();
        if (call.status !== 'open' || now >= new Date(call.closes_at)) throw new ConflictError('call_not_open', 'errors.call_not_open');
        await trx('application_members').where({ id: m.id }).update({ confirmed_at: now, confirm_hash: null });
        const [{ n }] = await trx('application_members').where({ application_id: applicationId }).whereNull('confirmed_at').count({ n: '*' });
        if (Number(n) === 0) await trx('applications').where({ id: applicationId }).update({ status: 'submitted', submitted_at: now });
        return { member: m.name, application_status: Number(n) === 0 ? 'submitted' : 'awaiting_members' };
      });
    },

    /** An organisation's applications, newest first, with their calls' titles. */
    ofOrganisation: (organisationId: number) => db('applications as a').join('calls as c', 'c.id', 'a.call_id').where('a.organisation_id', organisationId).orderBy('a.id', 'desc').select('a.*', 'c.title as call_title'),

    /** One application as its joint members see it before confirming: the call, the lead, the members. */
    async summary(applicationId: number) {
      const a = await db('applications as a').join('calls as c', 'c.id', 'a.call_id').join('organisations as o', 'o.id', 'a.organisation_id').where('a.id', applicationId)
        .first('a.id', 'a.call_id', 'a.title', 'a.summary', 'a.amount_minor', 'a.status', 'c.title as call_title', 'o.name as organisation');
      if (!a) throw new NotFoundError('application');
      return { ...a, members: await db('application_members').where({ application_id: applicationId }).orderBy('id').select('role', 'name', 'confirmed_at') };
    },

    /** A call's applications with members and duplicate flags (the other application named, side by side). */
    async ofCall(callId: number) {
      const apps = await db('applications as a').join('organisations as o', 'o.id', 'a.organisation_id').where('a.call_id', callId).orderBy('a.id').select('a.*', 'o.name as organisation');
      const ids = apps.map((a) => a.id);
      const members = ids.length ? await db('application_members').whereIn('application_id', ids).orderBy('id').select('application_id', 'role', 'name', 'confirmed_at') : [];
      const flags = ids.length ? await db('application_flags as f').leftJoin('applications as x', 'x.id', 'f.other_application_id').leftJoin('calls as c', 'c.id', 'x.call_id')
        .whereIn('f.application_id', ids).select('f.application_id', 'f.kind', 'f.similarity', 'x.id as other_id', 'x.title as other_title', 'x.summary as other_summary', 'c.street_id as other_street_id') : [];
      return apps.map((a) => ({ ...a, members: members.filter((m) => m.application_id === a.id), flags: flags.filter((f) => f.application_id === a.id) }));
    },
  };
}

export type Applications = ReturnType<typeof createApplications>;
