import type { Container } from '../server/container.js';
import { principalOf, SYSTEM_PRINCIPAL, type Principal } from '../server/modules/auth/index.js';
import { reportMonths } from '../server/modules/purchasing/index.js';
import { DEMO_ORGANISATIONS, DEMO_PLANS as P } from './demo-purchasing.data.js';

const DAY = 86_400_000;
const t = (key: string) => key;
const CRITERIA = [
  { key: 'need', name: '需求分析', weight: 25 },
  { key: 'design', name: '服务设计与可行性', weight: 35 },
  { key: 'team', name: '团队与经验', weight: 20 },
  { key: 'budget', name: '预算合理性', weight: 20 },
];
const VOUCHER = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

/**
 * Purchase of services on demo data, through the real services, so a newcomer sees the whole
 * lifecycle at once: a 黄桷坪 draft; an open 石坪桥 call with a submitted and a joint application
 * still waiting for its members; a 杨家坪 call in review where two experts have scored and the
 * demo reviewer has yet to declare, one application a near-duplicate of another street's; a 谢家湾
 * shortlist in public notice with an answered and an open objection; and a 石坪桥 project awarded
 * three months ago, signed, its first tranche paid, monthly reports with a voucher, a mid-term
 * evaluation done and the second tranche awaiting a second person's approval. Past stages are
 * reached by moving a call's dates back, as if the weeks had passed.
 */
export async function seedDemoPurchasing(c: Container, password: string): Promise<void> {
  const db = c.db;
  const { calls, applications, reviews, notices, contracts, reports, evaluations, attachments } = c.purchasing;
  const as = async (email: string): Promise<Principal> => principalOf(await db('users').where({ email }).first());
  const street = async (code: string) => (await db('streets').where({ code }).first('id')).id as number;
  const [officer, admin, admin2, finance, reviewer] = await Promise.all(['officer', 'admin', 'admin2', 'finance', 'reviewer'].map((u) => as(`${u}@demo.shanhui.local`)));
  const experts = [reviewer];
  for (const [n, name] of [[2, '评审专家 钱教授'], [3, '评审专家 孙督导']] as const) {
    await c.auth.createUser({ email: `reviewer${n}@demo.shanhui.local`, displayName: name, role: 'reviewer', password: password });
    experts.push(await as(`reviewer${n}@demo.shanhui.local`));
  }

  // Organisations: the demo user's own, verified partners, one unverified, one on the black list.
  const org: Record<string, { id: number; p: Principal }> = {};
  for (const o of DEMO_ORGANISATIONS) {
    const existing = await db('organisations').where({ name: o.name }).first('id');
    const id = existing ? existing.id : (await c.purchasing.organisations.register({ ...o.registration, name: o.name }, null)).id;
    if (existing) await db('organisations').where({ id }).update(o.registration);
    if (o.verified) await c.purchasing.organisations.verify(admin, id);
    org[o.key] = { id, p: { ...SYSTEM_PRINCIPAL, userId: null, role: 'social_org', organisationId: id, name: o.name } };
  }
  org.jiulong.p = await as('org@demo.shanhui.local');
  await db('credit_list').insert({ organisation_id: org.qihang.id, list: 'black', reason: 'final:fail', since: new Date('2025-12-20'), until: new Date('2028-12-20') });

  // Pools: government funds (财政资金) for the streets that buy services; 石坪桥's comes with the money loop.
  for (const [code, amount, ref] of [['yangjiaping', 12_000_000, 'JLP-CZ-2026-021'], ['xiejiawan', 6_000_000, 'JLP-CZ-2026-022'], ['shipingqiao', 20_000_000, 'JLP-CZ-2026-018']] as const) {
    if (await db('government_allocations').where({ reference: ref }).first('id')) continue;
    await c.pools.allocateGovernment(SYSTEM_PRINCIPAL, await street(code), { amount, reference: ref, memo: '2026 年度政府购买社会工作服务资金（财政资金）', received_on: new Date('2026-09-01T00:00:00+08:00') });
  }

  const now = Date.now();
  const open = { opens_at: new Date(now - DAY), closes_at: new Date(now + 20 * DAY) };
  const newCall = async (by: Principal, code: string, k: { title: string; description: string; category: string; budget: number }, publish = true) => {
    const call = await calls.create(by, { street: await street(code), ...k, budget_line: '2026年度街道购买社会服务预算', ...open, criteria: CRITERIA, max_applications_per_org: 2, panel_size: 3, notice_days: 7, eligibility: { certificate_months: 6, pass_score: 60 } }, t);
    return publish ? calls.publish(by, call.id) : call;
  };
  const apply = async (callId: number, who: keyof typeof org, plan: typeof P.eLove, members: { role: 'community' | 'social_worker' | 'volunteers' | 'organisation'; name: string }[] = []) =>
    (await applications.submit(org[who].p, await calls.mustFind(callId), org[who].id, { ...plan, members, no_violation_declared: true })).application;
  /** Time passes: the window closed `daysAgo` days ago. */
  const windowClosed = async (callId: number, daysAgo: number) => {
    await db('calls').where({ id: callId }).update({ published_at: new Date(now - (daysAgo + 30) * DAY), opens_at: new Date(now - (daysAgo + 30) * DAY), closes_at: new Date(now - daysAgo * DAY) });
    await db('applications').where({ call_id: callId }).update({ created_at: new Date(now - (daysAgo + 3) * DAY), submitted_at: new Date(now - (daysAgo + 3) * DAY) });
  };
  const score = async (callId: number, appId: number, who: Principal, s: number[], comment?: string) =>
    reviews.score(who, await calls.mustFind(callId), appId, { scores: Object.fromEntries(CRITERIA.map((k, i) => [k.key, s[i]])), ...(comment ? { comment } : {}) }, t);
  const declare = async (callId: number, who: Principal) => reviews.declare(who, await calls.mustFind(callId), { conflicted: false });
  /** The window closed `daysAgo` days ago; the panel is drawn, the given experts declare and score each application (one row of scores per expert). */
  const reviewRound = async (callId: number, by: Principal, daysAgo: number, panel: Principal[], sheets: [number, number[][], string?][]) => {
    await windowClosed(callId, daysAgo);
    await reviews.open(by, await calls.mustFind(callId));
    for (const [i, e] of panel.entries()) {
      await declare(callId, e);
      for (const [appId, rows, comment] of sheets) await score(callId, appId, e, rows[i], i === 0 ? comment : undefined);
    }
  };

  // 1. The project awarded three months ago (石坪桥).
  const past = await newCall(officer, 'shipingqiao', P.eLoveCall);
  const winner = await apply(past.id, 'jiulong', P.eLove);
  const runnerUp = await apply(past.id, 'caihong', P.eLoveRunnerUp);
  await reviewRound(past.id, officer, 100, experts, [
    [winner.id, [[88, 90, 85, 82], [92, 86, 88, 80], [85, 88, 90, 84]], '需求调研扎实，改造与陪伴结合，可复制。'],
    [runnerUp.id, [[70, 62, 58, 66], [66, 60, 64, 70], [72, 58, 60, 62]]],
  ]);
  await reviews.close(officer, await calls.mustFind(past.id));
  await db('calls').where({ id: past.id }).update({ review_closed_at: new Date(now - 98 * DAY), notice_starts_at: new Date(now - 97 * DAY), notice_ends_at: new Date(now - 88 * DAY) });
  const startsOn = new Date(`${reportMonths(new Date(now - 100 * DAY), new Date(now))[0] ?? new Date(now).toISOString().slice(0, 7)}-01T00:00:00Z`);
  const award = await contracts.requestAward(officer, await calls.mustFind(past.id), { starts_on: startsOn, ends_on: new Date(startsOn.getTime() + 300 * DAY), tranches: [{ percent: 40, gate: 'signed' }, { percent: 40, gate: 'midterm' }, { percent: 20, gate: 'final' }], tolerance_bp: 1000 });
  await c.approvals.decide(admin2, award.id, 'approve', '公示期满无异议，同意授予。');
  const contract = await db('contracts').where({ application_id: winner.id }).first();
  await contracts.sign(org.jiulong.p, contract.id);
  const [first, second] = await db('tranches').where({ contract_id: contract.id }).orderBy('seq');
  await c.approvals.decide(finance, (await contracts.requestTranche(officer, first.id)).id, 'approve', '合同已签订，拨付首期。');
  const months = reportMonths(startsOn, new Date(now));
  for (const [i, period] of months.entries()) {
    const voucher = await attachments.store({ name: `${period}-材料采购发票.pdf`, data: VOUCHER }, { type: 'contract', id: contract.id }, org.jiulong.p.userId, t);
    await reports.submit(org.jiulong.p, contract.id, { period, outputs: P.reportOutputs[i % P.reportOutputs.length], income: 0, expenses: [{ budget_line: '改造材料', description: `${period} 书桌、台灯与墙面材料`, amount: 380_000 + i * 25_000, attachment: voucher.id }] }, t);
  }
  for (const [party, who, v, comment] of [['street', officer, 88, '按计划推进，居民反映良好。'], ['residents', officer, 92, '受访家庭满意度 96%。'], ['third_party', experts[1], 84, '档案规范，建议加强成效测量。'], ['self', org.jiulong.p, 86, undefined]] as const) {
    await evaluations.give(who, contract.id, 'midterm', { party, scores: { administration: v, finance: v - 2, delivery: v + 2, social: v, publicity: v - 4 }, ...(comment ? { comment } : {}) }, t);
  }
  await contracts.requestTranche(officer, second.id);

  // 2. In public notice (谢家湾): the shortlist out, one objection answered, one still open.
  const notice = await newCall(admin, 'xiejiawan', P.ideasCall);
  const idea = await apply(notice.id, 'yuxi', P.ideas);
  const other = await apply(notice.id, 'caihong', P.ideasOther);
  await reviewRound(notice.id, admin, 5, experts, [
    [idea.id, [[84, 86, 80, 78], [80, 82, 84, 76], [86, 80, 78, 82]]],
    [other.id, [[76, 70, 72, 74], [70, 74, 68, 72], [74, 72, 70, 70]]],
  ]);
  await reviews.close(admin, await calls.mustFind(notice.id));
  const n = await calls.mustFind(notice.id);
  const answered = await notices.object(n, { author: '华园社区居民 何先生', body: '宠物便民点选址离幼儿园太近，建议调整。', application: idea.id });
  await notices.reply(admin, answered.id, '已会同社区重新选址，便民点移至华园社区停车场东侧，离幼儿园 200 米以上。');
  await notices.object(n, { author: '蒋家社区居民', body: '第二名项目的志愿者培训预算是否偏高？请公开明细。', application: other.id });

  // 3. In review (杨家坪): two experts have scored; the demo reviewer has yet to declare.
  const review = await newCall(admin, 'yangjiaping', P.mealsCall);
  const meals = await apply(review.id, 'xiyang', P.meals);
  const copy = await apply(review.id, 'yuxi', { ...P.eLove, service_area: '杨家坪街道前进社区', title: 'E爱空间·阳光相伴：困境儿童居住空间改造与陪伴（杨家坪）' });
  await reviewRound(review.id, admin, 2, experts.slice(1), [
    [meals.id, [[86, 84, 88, 80], [82, 86, 84, 84]]],
    [copy.id, [[60, 58, 66, 62], [62, 60, 64, 58]], '与石坪桥街道已立项项目高度相似。'],
  ]);

  // 4. Open for applications (石坪桥): one submitted, one joint waiting for its members.
  const current = await newCall(officer, 'shipingqiao', P.deskCall);
  await apply(current.id, 'jiulong', P.desk);
  await apply(current.id, 'yuxi', P.reading, [{ role: 'community', name: '石坪桥街道黄桷湾社区居委会' }, { role: 'social_worker', name: '黄桷湾社区社工站 李社工' }]);

  // 5. A draft (黄桷坪), not yet public.
  await newCall(admin, 'huangjueping', P.artsCall, false);
}
