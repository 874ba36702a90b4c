import { Router } from 'express';
import { z } from 'zod';
import { idParam, plainText } from '../../http/schemas.js';
import { issuesToFields } from '../../http/validation.js';
import { isUniqueViolation } from '../../db/pg-errors.js';
import type { Container } from '../../container.js';
import { geoRepo } from '../geo/index.js';
import { allow, audited, flashTo } from './console-helpers.js';

const code = z.string().trim().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, { error: 'validation.slug' });
const name = plainText(60).pipe(z.string().min(2));
const StreetForm = z.object({ code, name, name_en: plainText(80).optional() });
const CommunityForm = z.object({ street_id: idParam(), code, name, name_en: plainText(80).optional() });
const FundForm = z.object({ street_id: idParam(), code, name: plainText(120).pipe(z.string().min(2)), name_en: plainText(160).optional() });

/** Streets, communities and community funds: read for finance, auditors and a street's officer; changed by admins. */
export function geoConsole(c: Container): Router {
  const r = Router();

  r.get('/console/geo', async (req, res) => {
    const own = req.principal!.role === 'street_officer' ? req.principal!.streetId : null;
    allow(req, 'fund.read', { streetId: own ?? undefined });
    const streets: { id: number }[] = await c.db('streets').modify((q) => (own ? q.where({ id: own }) : q)).orderBy('id');
    const communities = await c.db('communities').whereIn('street_id', streets.map((s) => s.id)).orderBy('id');
    const funds = await c.db('community_funds as f').whereIn('f.street_id', streets.map((s) => s.id)).orderBy('f.id')
      .select('f.*', c.db.raw(`(SELECT coalesce(sum(a.balance), 0)::bigint FROM ledger_accounts a WHERE a.owner_type = 'fund' AND a.owner_id = f.id::text) AS pool`));
    res.render('console/geo', { title: req.t('console.geo'), streets, communities, funds, districts: await c.db('districts').orderBy('id') });
  });

  for (const [kind, schema] of [['street', StreetForm], ['community', CommunityForm], ['fund', FundForm]] as const) {
    r.post(`/console/geo/${kind}`, async (req, res) => {
      allow(req, kind === 'fund' ? 'fund.manage' : 'geo.manage');
      const parsed = (schema as z.ZodType).safeParse(req.body ?? {});
      if (!parsed.success) return flashTo(req, res, '/console/geo', Object.entries(issuesToFields(parsed.error.issues, req.t)).map(([k, v]) => `${k}: ${v}`).join(' '), 'error');
      const f = parsed.data as Record<string, any>;
      try {
        const created = await c.db.transaction(async (trx) => {
          if (kind === 'street') {
            const district = await trx('districts').orderBy('id').first('id');
            return { id: await geoRepo.insertStreet(trx, { district_id: district.id, code: f.code, name: f.name, name_en: f.name_en }) };
          }
          if (kind === 'community') return { id: await geoRepo.insertCommunity(trx, { street_id: f.street_id, code: f.code, name: f.name, name_en: f.name_en }) };
          return c.funds.create(trx, { streetId: f.street_id, code: f.code, name: f.name, nameEn: f.name_en });
        });
        await audited(c, req, { action: `${kind}.created`, subjectType: kind, subjectId: created.id, after: f });
        flashTo(req, res, '/console/geo', req.t('console.saved'));
      } catch (err) {
        if (!isUniqueViolation(err) && (err as { code?: string }).code !== '23503') throw err;
        flashTo(req, res, '/console/geo', req.t('errors.already_exists'), 'error');
      }
    });
  }
  return r;
}
