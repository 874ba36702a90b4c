import { expect } from 'chai';
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import supertest from 'supertest';
import { sweepPayments } from '../../../jobs/sweep-payments.every-15s.job.js';
import { withTimeout } from '../../../jobs/queues.js';
import { errorHandler } from '../../../server/http/middleware/error-handler.js';
import { createWebhookIntake, webhookRouter } from '../../../server/modules/donations/index.js';
import type { CampaignRow } from '../../../server/modules/campaigns/index.js';
import { resetDb, waitFor, waitForIdleQueues } from '../../helpers/db.js';
import { totp, type Role } from '../../../server/modules/auth/index.js';
import { fakeCampaign, fakeUser } from '../../helpers/factories.js';
import { signIn } from '../../helpers/forms.js';
import { h } from '../../helpers/harness.js';
import { expectSettledLedgerHealthy, journalSet } from '../../helpers/ledger.js';
import { chargeRefunded, piFailed, piSucceeded, refundId, sendEvent, type PaidDonation } from '../../helpers/stripe.js';

const count = async (table: string) => Number((await h().db(table).count({ n: '*' }).first())!.n);

async function newDonation(campaign: CampaignRow, amount = 10_000): Promise<PaidDonation> {
  const res = await h().api().post(`/api/campaigns/${campaign.slug}/donations`).send({ amount, currency: 'CNY' }).expect(201);
  return { id: res.body.id, amount, payment_ref: res.body.payment.payment_intent };
}

/** Live totals are refreshed within a coalescing window after commit; wait for the expected ones. */
async function expectTotals(slug: string, expected: { raised: number; donors: number }) {
  await waitFor(async () => {
    const body = (await h().api().get(`/api/campaigns/${slug}`)).body;
    return body.raised === expected.raised && body.donors === expected.donors;
  }, `totals ${JSON.stringify(expected)}`);
}

const donation = (id: string) => h().db('donations').where({ id }).first();

/** A donation's journals, without the per-run ids in their keys: kind and legs only. */
async function donationJournals(id: string) {
  const { rows } = await h().db.raw(
    `SELECT j.kind, json_agg(json_build_array(split_part(a.code, ':', 1), e.amount) ORDER BY e.amount) AS legs
       FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id JOIN ledger_accounts a ON a.id = e.account_id
      WHERE j.donation_id = ? GROUP BY j.id ORDER BY j.kind, min(abs(e.amount))`,
    [id],
  );
  return rows;
}

describe('Stripe webhook', () => {
  let campaign: CampaignRow;
  beforeEach(async () => {
    await resetDb();
    campaign = await fakeCampaign();
  });
  afterEach(expectSettledLedgerHealthy);

  describe('signatures', () => {
    it('when the signature header is missing, then 400 signature_missing and nothing is stored', async () => {
      const d = await newDonation(campaign);
      const res = await sendEvent(piSucceeded(d), { signature: null }).expect(400);
      expect(res.body.error.code).to.equal('signature_missing');
      expect(await count('processor_events')).to.equal(0);
    });

    it('when the signature is made with another secret, then 400 signature_invalid and nothing changes', async () => {
      const d = await newDonation(campaign);
      const res = await sendEvent(piSucceeded(d), { secret: 'whsec_someone_else' }).expect(400);
      expect(res.body.error.code).to.equal('signature_invalid');
      expect(await count('processor_events')).to.equal(0);
      expect((await donation(d.id)).status).to.equal('pending');
    });

    it('when the payload is altered after signing, then 400 and nothing changes', async () => {
      const d = await newDonation(campaign);
      const honest = JSON.stringify(piSucceeded(d));
      const { sign } = await import('../../helpers/stripe.js');
      const signature = sign(honest);
      const forged = honest.replace(`"amount":${d.amount}`, '"amount":1');
      await h().api().post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', signature).send(forged).expect(400);
      await h().api().post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', 't=1,v1=deadbeef').send(honest).expect(400);
      expect(await count('processor_events')).to.equal(0);
    });
  });

  it('when payment_intent.succeeded arrives, then the donation succeeds and its journal and fee are posted', async () => {
    const d = await newDonation(campaign, 5000);
    const res = await sendEvent(piSucceeded(d)).expect(200);
    expect(res.body).to.include({ received: true, duplicate: false });
    const row = await waitFor(async () => {
      const r = await donation(d.id);
      return r.status === 'succeeded' && r.fee_minor !== null && r;
    }, 'donation paid and fee booked');
    expect(row.fee_minor).to.equal(30);
    expect(await donationJournals(d.id)).to.deep.equal([
      { kind: 'donation', legs: [['campaign', -5000], ['processor', 5000]] },
      { kind: 'processor_fee', legs: [['processor', -30], ['association', 30]] },
    ]);
    await expectTotals(campaign.slug, { raised: 5000, donors: 1 });
  });

  it('when the same event is delivered three times, then it is applied once', async () => {
    const d = await newDonation(campaign);
    const evt = piSucceeded(d);
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push((await sendEvent(evt).expect(200)).body.duplicate);
    expect(replies).to.deep.equal([false, true, true]);
    await waitFor(async () => (await donation(d.id)).status === 'succeeded', 'succeeded');
    await waitForIdleQueues();
    await Promise.all([sendEvent(evt), sendEvent(evt), sendEvent(evt)]);
    await waitForIdleQueues();
    expect(await count('processor_events')).to.equal(1);
    expect((await h().db('ledger_journals').where({ donation_id: d.id, kind: 'donation' })).length).to.equal(1);
    await expectTotals(campaign.slug, { raised: 10_000, donors: 1 });
  });

  it('when success, refunds and a stale failure arrive in any order, each three times, then state and ledger are the same', async () => {
    const orders = [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [2, 0, 3, 1],
      [1, 3, 0, 2],
      [3, 0, 2, 1],
    ];
    const outcomes = [];
    for (const order of orders) {
      const d = await newDonation(campaign, 10_000);
      const [re1, re2] = [refundId(), refundId()];
      const created = Math.floor(Date.now() / 1000);
      const events = [
        piSucceeded(d),
        chargeRefunded(d, [{ id: re1, amount: 2000 }]),
        chargeRefunded(d, [{ id: re1, amount: 2000 }, { id: re2, amount: 3000 }]),
        { ...piFailed(d), created: created - 60 },
      ];
      const sequence = order.flatMap((i) => [events[i], events[i], events[i]]);
      for (const e of sequence) await sendEvent(e).expect(200);
      await waitForIdleQueues();
      const row = await donation(d.id);
      outcomes.push({ status: row.status, refunded: row.refunded_minor, journals: await donationJournals(d.id) });
    }
    for (const o of outcomes) expect(o).to.deep.equal(outcomes[0]);
    expect(outcomes[0].status).to.equal('partially_refunded');
    expect(outcomes[0].refunded).to.equal(5000);
    expect(outcomes[0].journals.map((j: { kind: string }) => j.kind)).to.deep.equal(['donation', 'processor_fee', 'refund', 'refund']);
    await expectTotals(campaign.slug, { raised: orders.length * 5000, donors: orders.length });
  });

  it('when a payment fails and later succeeds on a retry, then it ends succeeded; a late failure changes nothing', async () => {
    const d = await newDonation(campaign);
    await sendEvent(piFailed(d)).expect(200);
    await waitFor(async () => (await donation(d.id)).status === 'failed', 'failed');
    await sendEvent(piSucceeded(d)).expect(200);
    await waitFor(async () => (await donation(d.id)).status === 'succeeded', 'succeeded');
    await sendEvent(piFailed(d)).expect(200);
    await waitForIdleQueues();
    const row = await donation(d.id);
    expect(row.status).to.equal('succeeded');
    expect(row.failure_reason).to.equal(null);
  });

  it('when the amount or currency does not match the donation, then nothing is posted or changed and the event keeps the reason', async () => {
    const d = await newDonation(campaign, 5000);
    await sendEvent(piSucceeded(d, { amount: 500, amount_received: 500 })).expect(200);
    const other = await newDonation(campaign, 5000);
    await sendEvent(piSucceeded(other, { currency: 'usd' })).expect(200);
    await waitForIdleQueues();
    for (const id of [d.id, other.id]) {
      const row = await donation(id);
      expect(row).to.include({ status: 'pending', failure_reason: null, succeeded_at: null });
    }
    expect(await count('ledger_journals')).to.equal(0);
    const outcomes = await h().db('processor_events').pluck('outcome');
    expect(outcomes).to.deep.equal(['rejected_amount_mismatch', 'rejected_amount_mismatch']);
  });

  it("when a signed event names donation B but carries another payment's PaymentIntent, then it is refused for review and neither donation changes", async () => {
    const a = await newDonation(campaign, 5000);
    const b = await newDonation(campaign, 5000);
    await sendEvent(piSucceeded({ ...b, payment_ref: a.payment_ref })).expect(200);
    const refund = chargeRefunded({ ...b, payment_ref: a.payment_ref }, [{ id: refundId(), amount: 1000 }]);
    refund.data.object.metadata = { donation_id: b.id };
    await sendEvent(refund).expect(200);
    await waitForIdleQueues();
    for (const id of [a.id, b.id]) expect(await donation(id)).to.include({ status: 'pending', succeeded_at: null, refunded_minor: 0, failure_reason: null });
    expect(await count('ledger_journals')).to.equal(0);
    expect(await h().db('processor_events').orderBy('received_at').pluck('outcome')).to.deep.equal(['rejected_payment_ref_mismatch', 'rejected_payment_ref_mismatch']);
    await sendEvent(piSucceeded(b)).expect(200);
    await waitForIdleQueues();
    expect((await donation(b.id)).status, 'its own payment still confirms it').to.equal('succeeded');
  });

  it('when a refused dispute or refund names a still-pending donation, then the donation is not marked paid and nothing is posted', async () => {
    const d = await newDonation(campaign, 5000);
    const dispute = (amount: number) => ({ ...piSucceeded(d), type: 'charge.dispute.created', data: { object: { id: refundId().replace('re_', 'dp_'), object: 'dispute', amount, currency: 'cny', charge: 'ch_x', payment_intent: d.payment_ref, status: 'needs_response' } } });
    await sendEvent(dispute(-500)).expect(200);
    await sendEvent(dispute(6000)).expect(200);
    await sendEvent(chargeRefunded(d, [{ id: refundId(), amount: 4000 }, { id: refundId(), amount: 2000 }])).expect(200);
    await waitForIdleQueues();
    expect(await donation(d.id)).to.include({ status: 'pending', succeeded_at: null, failure_reason: null, refunded_minor: 0, disputed_minor: 0 });
    expect(await count('ledger_journals')).to.equal(0);
    expect(await h().db('processor_events').orderBy('received_at').pluck('outcome')).to.deep.equal(['rejected_amount_mismatch', 'rejected_dispute_exceeds_amount', 'rejected_refunds_exceed_amount']);
  });

  it('when a correctly signed event holds a NUL or a lone surrogate, then it is stored (raw bytes kept), answered 200 once stored, parked with its reason and never applied', async () => {
    const d = await newDonation(campaign, 5000);
    const withNul = piSucceeded(d, { description: 'a\u0000b' });
    const withSurrogate = piSucceeded(d, { metadata: { donation_id: d.id, note: '\ud800', ['k\udfff']: 'v' } });
    const raw = JSON.stringify(withSurrogate);
    expect(raw, 'the bytes carry the escape, as Stripe would send it').to.include('\\ud800');
    for (const e of [withNul, withSurrogate]) {
      const res = await sendEvent(e).expect(200);
      expect(res.body).to.include({ received: true, duplicate: false });
      expect((await sendEvent(e).expect(200)).body, 'a redelivery is a duplicate').to.include({ duplicate: true });
    }
    await waitForIdleQueues();
    const stored = await h().db('processor_events').orderBy('received_at').select('id', 'outcome', 'processed_at', 'payload', 'raw_body');
    expect(stored.map((r) => r.outcome)).to.deep.equal(['parked_unstorable_text', 'parked_unstorable_text']);
    expect(stored[0].payload.data.object.description).to.equal('a\ufffdb');
    expect(stored[1].payload.data.object.metadata).to.deep.equal({ donation_id: d.id, note: '\ufffd', 'k\ufffd': 'v' });
    expect(stored[1].raw_body.toString('utf8')).to.equal(raw);
    expect(await donation(d.id)).to.include({ status: 'pending', succeeded_at: null });
    expect(await count('ledger_journals')).to.equal(0);
  });

  it('when events were refused or parked, then finance reviews them at /console/finance/events (filter, pages, CSV, both languages) and a street officer may not', async () => {
    const a = await newDonation(campaign, 5000);
    const b = await newDonation(campaign, 3000);
    await sendEvent(piSucceeded({ ...b, payment_ref: a.payment_ref })).expect(200);
    await sendEvent(piSucceeded(a, { description: 'x\u0000' })).expect(200);
    await sendEvent(piSucceeded(a)).expect(200);
    await waitForIdleQueues();
    const staff = async (role: Role) => {
      const mfa = role !== 'street_officer';
      const user = await fakeUser(role, { password: 'correct-horse-battery', totpSecret: mfa ? 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' : undefined });
      return signIn(user.email, 'correct-horse-battery', mfa ? () => totp.now('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP') : undefined);
    };
    const finance = await staff('association_finance');
    const page = await finance.get('/console/finance/events');
    expect(page.status).to.equal(200);
    expect(page.text).to.include('支付编号与捐赠不符').and.include('内容含无法保存的字符').and.include(b.id).and.include('¥30.00');
    expect(page.text).to.include('共 2 条');
    const one = await finance.get('/console/finance/events?outcome=rejected_payment_ref_mismatch&lang=en');
    expect(one.text).to.include('Payment does not match the donation').and.include(b.id).and.include('1 in all');
    expect(one.text.match(/<ul class="review-list">[\s\S]*?<\/ul>/)![0]).to.not.include('Text that cannot be stored');
    const csv = await finance.get('/console/finance/events.csv');
    expect(csv.headers['content-type']).to.match(/text\/csv/);
    expect(csv.text.trim().split('\n')).to.have.length(3);
    expect((await finance.get('/console/finance')).text).to.include('/console/finance/events');
    expect((await (await staff('street_officer')).get('/console/finance/events')).status).to.equal(403);
  });

  it('when refunds would exceed the donation, then nothing is posted', async () => {
    const d = await newDonation(campaign, 5000);
    await sendEvent(piSucceeded(d)).expect(200);
    await sendEvent(chargeRefunded(d, [{ id: refundId(), amount: 4000 }, { id: refundId(), amount: 2000 }])).expect(200);
    await waitForIdleQueues();
    expect((await donation(d.id)).refunded_minor).to.equal(0);
    expect(await h().db('processor_events').where({ type: 'charge.refunded' }).first('outcome')).to.deep.equal({ outcome: 'rejected_refunds_exceed_amount' });
  });

  it('when an event names no known donation or has an unhandled type, then it is stored, acknowledged and ignored', async () => {
    await sendEvent(piSucceeded({ id: '00000000-0000-4000-8000-000000000000', amount: 100, payment_ref: 'pi_nobody' })).expect(200);
    const d = await newDonation(campaign);
    await sendEvent({ ...piSucceeded(d), type: 'payment_intent.created' }).expect(200);
    await waitForIdleQueues();
    const outcomes = (await h().db('processor_events').orderBy('received_at').pluck('outcome')) as string[];
    expect(outcomes).to.deep.equal(['ignored_unknown_donation', 'ignored_unhandled_type']);
    expect((await donation(d.id)).status).to.equal('pending');
  });

  it('when Redis is down as the webhook arrives, then the event is stored, acknowledged, and processed by the sweeper once Redis is back', async () => {
    const { c, db } = h();
    const dead = new Redis('redis://127.0.0.1:6390', { enableOfflineQueue: false, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const deadQueue = new Queue('payments', { connection: dead, prefix: 'nowhere' });
    deadQueue.on('error', () => undefined);
    const intake = createWebhookIntake({
      db, secret: c.webhookSecret, provider: 'sandbox', log: c.log,
      enqueue: async (name, payload, jobId) => {
        await withTimeout(deadQueue.add(name, payload, { jobId }), 500, 'enqueue');
      },
    });
    const app = express().use(webhookRouter({ intake })).use(errorHandler);
    try {
      const d = await newDonation(campaign);
      const evt = piSucceeded(d);
      const { sign } = await import('../../helpers/stripe.js');
      const payload = JSON.stringify(evt);
      await supertest(app).post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', sign(payload)).send(payload).expect(200);
      const stored = await db('processor_events').where({ id: evt.id }).first();
      expect(stored.processed_at).to.equal(null);
      await new Promise((r) => setTimeout(r, 300));
      expect((await donation(d.id)).status, 'nothing processes it while Redis is away').to.equal('pending');

      const swept = (await sweepPayments.perform(c, {})) as { events: number };
      expect(swept.events).to.equal(1);
      await waitFor(async () => (await donation(d.id)).status === 'succeeded', 'processed after the sweep');
      expect((await db('processor_events').where({ id: evt.id }).first()).outcome).to.equal('applied');
    } finally {
      await deadQueue.close().catch(() => undefined);
      dead.disconnect();
    }
  });

  it('when journals are compared after all that, then every key is unique and every invariant holds', async () => {
    const d = await newDonation(campaign);
    await sendEvent(piSucceeded(d)).expect(200);
    await waitForIdleQueues();
    const keys = (await journalSet()).map((j) => (j as { idempotency_key: string }).idempotency_key);
    expect(new Set(keys).size).to.equal(keys.length);
  });
});
