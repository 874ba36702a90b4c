import type { Container } from '../server/container.js';
import { SYSTEM_PRINCIPAL } from '../server/modules/auth/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`demo seed: timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * The money loop on demo data, through the real paths: the sandbox pays out the demo gifts (its
 * `payout.paid` webhook is reconciled by the worker), cleared donations move into the pools, the
 * enterprise sponsor is invoiced and pays part of its pledge, and 石坪桥 receives a government
 * allocation. Needs the worker in this process (ROLE=all).
 */
export async function seedDemoMoneyLoop(c: Container, gifts: number): Promise<void> {
  const db = c.db;
  await until('the demo gifts to be confirmed', async () => Number((await db('donations').whereNotNull('succeeded_at').count({ n: '*' }))[0].n) >= gifts);
  await until('their fees', async () => Number((await db('donations').whereNotNull('succeeded_at').whereNull('fee_minor').count({ n: '*' }))[0].n) === 0);
  const payout = await c.sandbox!.createPayout();
  await until('the demo payout to be reconciled', async () => (await db('payouts').where({ id: payout.id }).first('reconciliation'))?.reconciliation === 'reconciled');
  await c.releases.releaseDue();

  const enterprise = await db('grants as g').join('sponsors as s', 's.id', 'g.sponsor_id').where('s.kind', 'enterprise').first('g.id');
  if (enterprise) {
    await c.pledges.invoice(SYSTEM_PRINCIPAL, enterprise.id, { number: 'JLP-2026-001', amount: 1_000_000, issued_on: new Date('2026-09-11'), due_on: new Date('2026-10-11'), note: '石坪桥街道企业 1:0.5 配捐（首期）' });
    await c.pledges.importStatement(SYSTEM_PRINCIPAL, [{ date: new Date('2026-09-20T00:00:00+08:00'), amount: 600_000, reference: '九龙坡区爱心企业联盟 配捐款 JLP-2026-001', payer: '九龙坡区爱心企业联盟' }]);
  }
  const street = await db('streets').where({ code: 'shipingqiao' }).first('id');
  await c.pools.allocateGovernment(SYSTEM_PRINCIPAL, street.id, { amount: 20_000_000, reference: 'JLP-CZ-2026-018', memo: '2026 年度政府购买社会工作服务资金（财政资金）', received_on: new Date('2026-09-01T00:00:00+08:00') });
}
