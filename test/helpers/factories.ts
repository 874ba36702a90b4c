import { randomBytes } from 'node:crypto';
import { SYSTEM_PRINCIPAL, type Role } from '../../server/modules/auth/index.js';
import type { CampaignRow } from '../../server/modules/campaigns/index.js';
import { geoRepo } from '../../server/modules/geo/index.js';
import { h } from './harness.js';

const uniq = () => randomBytes(4).toString('hex');
const DAY = 86_400_000;

/** The cooperation agreement test funds sign (C-2): 5 % management fee. */
export const TEST_AGREEMENT = { purpose: '社区困境儿童与长者服务', management_fee_bp: 500, surplus_disposal: '结余用于同类社区公益项目', signed_on: new Date('2026-01-05'), signatories: '区慈善会、街道办事处' };

/** A district with one street, one community and the street's fund (with a signed agreement unless `agreement: false`). */
export async function fakeStreet(partial: { code?: string; name?: string; agreement?: false } = {}) {
  const { db, c } = h();
  const code = partial.code ?? `street-${uniq()}`;
  return db.transaction(async (trx) => {
    const districtId = await geoRepo.insertDistrict(trx, { code: `district-${uniq()}`, name: '测试区' });
    const streetId = await geoRepo.insertStreet(trx, { district_id: districtId, code, name: partial.name ?? '测试街道' });
    await geoRepo.insertCommunity(trx, { street_id: streetId, code: `${code}-c1`, name: '测试社区' });
    const fund = await c.funds.create(trx, { streetId, code: `${code}-fund`, name: '测试街道慈善基金', agreement: partial.agreement === false ? undefined : TEST_AGREEMENT });
    return { districtId, streetId, streetCode: code, fundId: fund.id };
  });
}

/** A campaign (live and open by default) in a new street unless one is given. */
export async function fakeCampaign(partial: Partial<{ slug: string; title: string; story: string; goal: number; status: 'draft' | 'live'; streetId: number; startsAt: Date; endsAt: Date }> = {}): Promise<CampaignRow> {
  const { c } = h();
  const streetId = partial.streetId ?? (await fakeStreet()).streetId;
  return c.campaigns.create(
    SYSTEM_PRINCIPAL,
    {
      slug: partial.slug ?? `campaign-${uniq()}`,
      title: partial.title ?? '测试项目',
      story: partial.story ?? '',
      goal: partial.goal ?? 1_000_000,
      currency: 'CNY',
      street: streetId,
      starts_at: partial.startsAt ?? new Date(Date.now() - DAY),
      ends_at: partial.endsAt ?? new Date(Date.now() + 30 * DAY),
      status: partial.status ?? 'live',
    },
    (k) => k,
  );
}

/** A user of a role (bound to a street, sponsor or organisation where the role needs one). */
export async function fakeUser(role: Role, bind: { streetId?: number; sponsorId?: number; organisationId?: number; password?: string; totpSecret?: string } = {}) {
  const { c, db } = h();
  const sponsorId = role === 'sponsor' ? (bind.sponsorId ?? (await db('sponsors').insert({ name: `赞助方-${uniq()}`, kind: 'enterprise' }).returning('id'))[0].id) : null;
  const organisationId = role === 'social_org' ? (bind.organisationId ?? (await db('organisations').insert({ name: `社会组织-${uniq()}` }).returning('id'))[0].id) : null;
  const streetId = role === 'street_officer' ? (bind.streetId ?? (await fakeStreet()).streetId) : null;
  return c.auth.createUser({
    email: `${role}-${uniq()}@example.com`, displayName: `${role} ${uniq()}`, role,
    street_id: streetId, sponsor_id: sponsorId, organisation_id: organisationId, password: bind.password, totpSecret: bind.totpSecret,
  });
}

/** Issues an API token for a new user of a role and returns its value. */
export async function tokenFor(role: Role, streetId?: number, bind: { sponsorId?: number; organisationId?: number } = {}): Promise<string> {
  const user = await fakeUser(role, { streetId, ...bind });
  const { token } = await h().c.auth.issueToken({ userId: user.id, label: `test-${role}` });
  return token;
}
