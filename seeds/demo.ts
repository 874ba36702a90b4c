import { randomUUID } from 'node:crypto';
import type { Container } from '../server/container.js';
import { PUBLISHED_DEMO_TOTP_SECRET, SYSTEM_PRINCIPAL } from '../server/modules/auth/index.js';
import { geoRepo } from '../server/modules/geo/index.js';
import { GrantCreate } from '../server/modules/matching/index.js';
import { seedDemoMoneyLoop } from './demo-money.js';
import { seedDemoPurchasing } from './demo-purchasing.js';

/** The district charity association acting through the seed. */

const DISTRICT = { code: 'jiulongpo', name: '九龙坡区', name_en: 'Jiulongpo District' };

const STREETS = [
  { code: 'shipingqiao', name: '石坪桥街道', name_en: 'Shipingqiao Street', fee_bp: 500, purpose: '困境儿童关爱、居家空间改造与社区社会工作服务', communities: [['shipingqiao-jianqiao', '建桥社区', 'Jianqiao Community'], ['shipingqiao-huangjuewan', '黄桷湾社区', 'Huangjuewan Community']] },
  { code: 'yangjiaping', name: '杨家坪街道', name_en: 'Yangjiaping Street', fee_bp: 300, purpose: '高龄独居老人助餐、送餐与探访服务', communities: [['yangjiaping-qianjin', '前进社区', 'Qianjin Community'], ['yangjiaping-xijiao', '西郊社区', 'Xijiao Community']] },
  { code: 'xiejiawan', name: '谢家湾街道', name_en: 'Xiejiawan Street', fee_bp: 500, purpose: '居民议事、社区治理“金点子”与志愿服务', communities: [['xiejiawan-huayuan', '华园社区', 'Huayuan Community'], ['xiejiawan-jiangjia', '蒋家社区', 'Jiangjia Community']] },
  { code: 'huangjueping', name: '黄桷坪街道', name_en: 'Huangjueping Street', fee_bp: 800, purpose: '社区文化与青少年艺术教育服务', communities: [['huangjueping-tiedao', '铁路村社区', 'Tielucun Community']] },
];

const DAY = 86_400_000;

/** C-4: five voting members (an odd number, all unpaid) and a supervisor, drawn as the rules describe. */
const committee = (street: string) => [
  { name: `${street}社区事务办 刘主任`, role: 'chair', affiliation: `${street}办事处` },
  { name: '区慈善会 秘书处 何老师', role: 'member', affiliation: '九龙坡区慈善会' },
  { name: '社区居委会 罗书记', role: 'member', affiliation: '社区“两委”' },
  { name: '爱心企业代表 吴总', role: 'member', affiliation: '辖区企业' },
  { name: '居民代表 蒋阿姨', role: 'member', affiliation: '居民' },
  { name: '社区法律顾问 邓律师', role: 'supervisor', affiliation: '监督员' },
];

const CAMPAIGNS = [
  {
    street: 'shipingqiao',
    slug: 'e-love-space',
    title: 'E爱空间·阳光相伴：困境儿童居住空间改造',
    goal: 5_000_000,
    story:
      '石坪桥街道辖区有一批困境儿童，他们的家狭小、昏暗，没有一张能安心写作业的书桌。街道社工站联合社会组织，为每户孩子改造学习和居住空间：刷墙、换灯、添置书桌和书架，并由社工跟进陪伴。\n\n第一期已完成 11 户困境儿童居住空间改造。本期计划再改造 15 户，每一分善款都会在透明页面公开去向。',
  },
  {
    street: 'yangjiaping',
    slug: 'elder-meal-table',
    title: '杨家坪长者爱心餐桌',
    goal: 8_000_000,
    story:
      '杨家坪街道高龄、独居老人较多，买菜做饭成了难事。社区长者食堂为困难老人提供每日一餐的爱心餐补贴，志愿者为行动不便的老人送餐上门。\n\n善款用于困难老人的餐费补贴和送餐志愿者的保险与交通补贴。',
  },
  {
    street: 'xiejiawan',
    slug: 'golden-ideas',
    title: '社区治理“金点子”：文明养犬与文明晾晒',
    goal: 3_000_000,
    story:
      '谢家湾街道向居民征集社区治理“金点子”，经多轮协商确定“文明养犬”“文明晾晒”等项目。善款用于建设宠物便民点、公共晾晒区，以及居民自组织的宣传活动。',
  },
];

/** Two sponsors' matching grants: a foundation's daily 10:00 slot for every campaign, and a local enterprise for 石坪桥. */
const GRANTS = [
  {
    sponsor: { name: '重庆市慈善基金会', kind: 'foundation' as const },
    name: '99 公益日每日 10 点配捐',
    budget: 3_000_000,
    priority: 10,
    streets: undefined as string[] | undefined,
    rules: { ratio_percent: 100, cap_per_donation: 9_900, daily_slots: [{ opens: '10:00', budget: 500_000 }] },
  },
  {
    sponsor: { name: '九龙坡区爱心企业联盟', kind: 'enterprise' as const },
    name: '石坪桥街道企业 1:0.5 配捐',
    budget: 2_000_000,
    priority: 0,
    streets: ['shipingqiao'],
    rules: { ratio_percent: 50, cap_per_campaign: 1_000_000 },
  },
];

const DEMO_GIFTS: { campaign: string; amount: number; name?: string; message?: string }[] = [
  { campaign: 'e-love-space', amount: 10_000, name: '王阿姨', message: '愿孩子们有一张安心读书的书桌。' },
  { campaign: 'e-love-space', amount: 5_000 },
  { campaign: 'e-love-space', amount: 20_000, message: '加油！' },
  { campaign: 'e-love-space', amount: 9_900, name: '建桥社区居民李先生' },
  { campaign: 'elder-meal-table', amount: 5_000, name: '小陈', message: '给爷爷奶奶加个菜' },
  { campaign: 'elder-meal-table', amount: 30_000 },
  { campaign: 'golden-ideas', amount: 2_000, message: '支持文明养犬' },
];

/**
 * One demo user per role (two admins, so four-eyes approvals can be tried). Outside production
 * they get the published password and TOTP key; in production the password is SEED_DEMO_PASSWORD
 * and admin and finance users enrol their own TOTP key at first sign-in.
 */
async function seedDemoUsers(c: Container): Promise<void> {
  const totpSecret = c.config.NODE_ENV === 'production' ? undefined : PUBLISHED_DEMO_TOTP_SECRET;
  const db = c.db;
  const street = (await db('streets').where({ code: 'shipingqiao' }).first('id')).id as number;
  const [org] = await db('organisations').insert({ name: '九龙坡区九龙社工中心' }).returning('id');
  const sponsor = (await db('sponsors').where({ name: '重庆市慈善基金会' }).first('id')).id as number;
  const users = [
    { email: 'admin@demo.shanhui.local', displayName: '区慈善会管理员 陈主任', role: 'association_admin' as const, totpSecret },
    { email: 'admin2@demo.shanhui.local', displayName: '区慈善会管理员 刘科长', role: 'association_admin' as const, totpSecret },
    { email: 'finance@demo.shanhui.local', displayName: '区慈善会财务 王会计', role: 'association_finance' as const, totpSecret },
    { email: 'officer@demo.shanhui.local', displayName: '石坪桥街道 李干事', role: 'street_officer' as const, street_id: street },
    { email: 'org@demo.shanhui.local', displayName: '九龙社工中心 张社工', role: 'social_org' as const, organisation_id: org.id },
    { email: 'reviewer@demo.shanhui.local', displayName: '评审专家 赵老师', role: 'reviewer' as const },
    { email: 'auditor@demo.shanhui.local', displayName: '审计员 孙审计', role: 'auditor' as const },
    { email: 'sponsor@demo.shanhui.local', displayName: '重庆市慈善基金会 周经理', role: 'sponsor' as const, sponsor_id: sponsor },
    { email: 'resident@demo.shanhui.local', displayName: '建桥社区居民 小陈', role: 'resident' as const },
  ];
  for (const u of users) await c.auth.createUser({ ...u, password: c.config.demoPassword });
}

/**
 * Seeds an empty database with a district, its streets and communities, a community fund per
 * street, three live campaigns, two sponsors' matching grants, a few sandbox donations (paid
 * through the real webhook path, so the worker confirms them), and calls for proposals at every
 * stage of purchase of services. Returns false if not empty.
 */
export async function seedDemo(c: Container): Promise<boolean> {
  const db = c.db;
  if ((await db('districts').count({ n: '*' }))[0].n !== 0) return false;

  await db.transaction(async (trx) => {
    const districtId = await geoRepo.insertDistrict(trx, DISTRICT);
    for (const s of STREETS) {
      const streetId = await geoRepo.insertStreet(trx, { district_id: districtId, code: s.code, name: s.name, name_en: s.name_en });
      for (const [code, name, name_en] of s.communities) await geoRepo.insertCommunity(trx, { street_id: streetId, code, name, name_en });
      const fund = await c.funds.create(trx, {
        streetId, code: `${s.code}-fund`, name: `九龙坡区慈善会${s.name}慈善基金`, nameEn: `Jiulongpo Charity Association ${s.name_en} Fund`,
        agreement: { purpose: s.purpose, management_fee_bp: s.fee_bp, surplus_disposal: '项目结余经管委会决议转入本街道同类社区服务项目，并在三个月内公开', signed_on: new Date('2026-03-15'), signatories: `九龙坡区慈善会、${s.name}办事处` },
      });
      await trx('fund_committee_members').insert(committee(s.name).map((m) => ({ fund_id: fund.id, ...m })));
    }
  });

  const now = Date.now();
  for (const k of CAMPAIGNS) {
    await c.campaigns.create(
      SYSTEM_PRINCIPAL,
      { slug: k.slug, title: k.title, story: k.story, goal: k.goal, currency: 'CNY', street: k.street, starts_at: new Date(now - DAY), ends_at: new Date(now + 30 * DAY), status: 'live' },
      (key) => key,
    );
  }

  for (const grant of GRANTS) {
    const streets = grant.streets ? ((await db('streets').whereIn('code', grant.streets).pluck('id')) as number[]) : undefined;
    const input = GrantCreate.parse({
      sponsor: grant.sponsor, name: grant.name, budget: grant.budget, currency: 'CNY',
      scope: streets ? { streets } : { all: true },
      starts_at: new Date(now - DAY).toISOString(), ends_at: new Date(now + 30 * DAY).toISOString(), priority: grant.priority, rules: grant.rules,
    });
    await c.grants.activate((await c.grants.create(input, (key) => key)).id);
  }

  await seedDemoUsers(c);

  if (c.sandbox) {
    for (const g of DEMO_GIFTS) {
      const { donation } = await c.donations.create(g.campaign, { amount: g.amount, currency: 'CNY', donor: { name: g.name, anonymous: !g.name }, message: g.message }, `demo-${randomUUID()}`);
      await c.sandbox.complete(donation.id, 'succeed');
    }
    if (c.config.ROLE === 'all') await seedDemoMoneyLoop(c, DEMO_GIFTS.length);
  }
  await seedDemoPurchasing(c, c.config.demoPassword);
  return true;
}
