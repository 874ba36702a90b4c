import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createStripeProvider } from '../../../server/modules/donations/index.js';
import { createPayoutReconciler } from '../../../server/modules/reconciliation/index.js';
import { resetDb } from '../../helpers/db.js';
import { fakeCampaign } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectSettledLedgerHealthy } from '../../helpers/ledger.js';
import { paidGift } from '../../helpers/reconciliation.js';

/** Balance transactions shaped as Stripe's API returns them (the fields it sends, trimmed of the rest). */
const bt = (id: string, type: string, category: string, source: string, amount: number, fee: number) => ({
  id, object: 'balance_transaction', amount, available_on: 1_796_000_000, created: 1_795_900_000, currency: 'cny', description: null,
  exchange_rate: null, fee, fee_details: fee ? [{ amount: fee, currency: 'cny', description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
  net: amount - fee, reporting_category: category, source, status: 'available', type,
});

/** A local server standing in for api.stripe.com's payout and balance-transaction endpoints, two pages of 2. */
function fakeStripe(payout: Record<string, unknown>, items: ReturnType<typeof bt>[]) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    seen.push(url.pathname + url.search);
    res.setHeader('Content-Type', 'application/json');
    if (url.pathname === `/v1/payouts/${payout.id}`) return void res.end(JSON.stringify(payout));
    if (url.pathname === '/v1/balance_transactions' && url.searchParams.get('payout') === payout.id) {
      const after = url.searchParams.get('starting_after');
      const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
      const page = items.slice(start, start + 2);
      return void res.end(JSON.stringify({ object: 'list', url: '/v1/balance_transactions', has_more: start + 2 < items.length, data: page }));
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: `no ${url.pathname}` } }));
  });
  return { seen, server, listen: () => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port))) };
}

describe('reconciliation through the Stripe SDK (a local server answers the payout and its balance transactions)', () => {
  beforeEach(resetDb);
  afterEach(expectSettledLedgerHealthy);

  it('when a payout lists its charges over two pages, then the SDK pages through them, every charge matches and the payout journal is posted', async () => {
    const c = await fakeCampaign();
    const gifts = [await paidGift(c.slug, 10_000), await paidGift(c.slug, 20_000), await paidGift(c.slug, 30_000)];
    const charges = await h().db('donations').whereIn('id', gifts.map((g) => g.id)).orderBy('amount_minor').select('charge_ref', 'amount_minor', 'fee_minor');
    const items = [
      ...charges.map((d, i) => bt(`txn_stripe_${i + 1}`, 'charge', 'charge', d.charge_ref, d.amount_minor, d.fee_minor)),
      bt('txn_stripe_9', 'payout', 'payout', 'po_stripe_1', -0, 0),
    ];
    const total = items.reduce((s, i) => s + i.net, 0);
    items[3] = bt('txn_stripe_9', 'payout', 'payout', 'po_stripe_1', -total, 0);
    const payout = { id: 'po_stripe_1', object: 'payout', amount: total, currency: 'cny', status: 'paid', created: 1_795_990_000, arrival_date: 1_796_000_000, livemode: false };
    const fake = fakeStripe(payout, items);
    const port = await fake.listen();
    try {
      const provider = createStripeProvider({ secretKey: 'sk_test_reconcile', host: '127.0.0.1', port, protocol: 'http' });
      const reconciler = createPayoutReconciler({ db: h().db, ledger: h().c.ledger, provider, log: h().c.log });
      const out = await reconciler.reconcile('po_stripe_1');
      expect(out).to.include({ outcome: 'reconciled', items: 3, matched: 3, exceptions: 0, fees_booked: 0 });
      expect(fake.seen.filter((p) => p.startsWith('/v1/balance_transactions'))).to.have.length(2);
      expect(fake.seen.some((p) => p.includes('starting_after=txn_stripe_2'))).to.equal(true);
      const row = await h().db('payouts').where({ id: 'po_stripe_1' }).first();
      expect(row).to.include({ provider: 'stripe', reconciliation: 'reconciled', amount_minor: total, net_minor: total });
      const journal = await h().db('ledger_journals').where({ idempotency_key: 'payout:po_stripe_1' }).first('kind');
      expect(journal).to.deep.equal({ kind: 'payout' });
      expect(await reconciler.reconcile('po_stripe_1')).to.include({ outcome: 'already_reconciled' });
    } finally {
      await new Promise((r) => fake.server.close(r));
    }
  });

  it('when Stripe lists one balance transaction twice, then the run fails, nothing is copied or posted, and the payout stays pending', async () => {
    const c = await fakeCampaign();
    const gift = await paidGift(c.slug, 10_000);
    const d = await h().db('donations').where({ id: gift.id }).first('charge_ref', 'amount_minor', 'fee_minor');
    const charge = bt('txn_stripe_twice', 'charge', 'charge', d.charge_ref, d.amount_minor, d.fee_minor);
    const other = bt('txn_stripe_other', 'adjustment', 'other', 'adj_1', 0, 0);
    const net = charge.net * 2;
    const payout = { id: 'po_stripe_3', object: 'payout', amount: net, currency: 'cny', status: 'paid', created: 1_795_990_000, arrival_date: 1_796_000_000 };
    const fake = fakeStripe(payout, [charge, other, charge, bt('txn_stripe_po', 'payout', 'payout', 'po_stripe_3', -net, 0)]);
    const port = await fake.listen();
    try {
      const provider = createStripeProvider({ secretKey: 'sk_test_reconcile', host: '127.0.0.1', port, protocol: 'http' });
      const reconciler = createPayoutReconciler({ db: h().db, ledger: h().c.ledger, provider, log: h().c.log });
      const err = await reconciler.reconcile('po_stripe_3').then(() => null, (e: Error) => e);
      expect(err?.message).to.match(/listed a balance transaction twice/);
      expect(await h().db('payout_items').where({ payout_id: 'po_stripe_3' }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
      expect(await h().db('payouts').where({ id: 'po_stripe_3' }).first('reconciliation')).to.deep.equal({ reconciliation: 'pending' });
      expect(await h().db('ledger_journals').where({ kind: 'payout' }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    } finally {
      await new Promise((r) => fake.server.close(r));
    }
  });

  it('when Stripe reports a payout that is still in transit, then nothing is matched or posted yet', async () => {
    const payout = { id: 'po_stripe_2', object: 'payout', amount: 100, currency: 'cny', status: 'in_transit', created: 1_795_990_000, arrival_date: 1_796_000_000 };
    const fake = fakeStripe(payout, []);
    const port = await fake.listen();
    try {
      const provider = createStripeProvider({ secretKey: 'sk_test_reconcile', host: '127.0.0.1', port, protocol: 'http' });
      const out = await createPayoutReconciler({ db: h().db, ledger: h().c.ledger, provider, log: h().c.log }).reconcile('po_stripe_2');
      expect(out.outcome).to.equal('not_paid');
      expect(await h().db('payouts').where({ id: 'po_stripe_2' }).first('status', 'reconciliation')).to.deep.equal({ status: 'in_transit', reconciliation: 'pending' });
      expect(await h().db('ledger_journals').where({ kind: 'payout' }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    } finally {
      await new Promise((r) => fake.server.close(r));
    }
  });
});
