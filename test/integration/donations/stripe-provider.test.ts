import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createStripeProvider } from '../../../server/modules/donations/index.js';

interface Seen { method: string; path: string; headers: IncomingMessage['headers']; body: URLSearchParams }

/** A local HTTP server standing in for api.stripe.com: records requests, answers canned objects. */
function fakeStripe(answer: (req: Seen) => object) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      const s = { method: req.method!, path: url.pathname + url.search, headers: req.headers, body: new URLSearchParams(raw) };
      seen.push(s);
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Request-Id', 'req_test');
      res.end(JSON.stringify(answer(s)));
    });
  });
  return { seen, server, listen: () => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port))) };
}

describe('Stripe provider (official SDK against a local API)', () => {
  let fake: ReturnType<typeof fakeStripe>;
  let port: number;
  beforeEach(async () => {
    fake = fakeStripe((s) => {
      if (s.path.startsWith('/v1/payment_intents/')) return { id: 'pi_123', object: 'payment_intent', latest_charge: { id: 'ch_1', object: 'charge', balance_transaction: { id: 'txn_1', object: 'balance_transaction', fee: 30 } } };
      if (s.path.startsWith('/v1/payment_intents')) return { id: 'pi_123', object: 'payment_intent', client_secret: 'pi_123_secret_abc', status: 'requires_payment_method' };
      if (s.path.startsWith('/v1/refunds?')) return { object: 'list', has_more: false, data: [{ id: 're_1', object: 'refund', amount: 2000, status: 'succeeded' }], url: '/v1/refunds' };
      if (s.path.startsWith('/v1/refunds')) return { id: 're_9', object: 'refund', amount: Number(s.body.get('amount')), status: 'pending' };
      return { error: { type: 'invalid_request_error', message: 'unknown' } };
    });
    port = await fake.listen();
  });
  afterEach(() => new Promise((r) => fake.server.close(r)));

  const provider = () => createStripeProvider({ secretKey: 'sk_test_abc', host: '127.0.0.1', port, protocol: 'http' });

  it('when a payment is created, then a CNY PaymentIntent for WeChat Pay, Alipay and card is requested with the donation id and an idempotency key', async () => {
    const p = provider();
    expect(p.testMode).to.equal(true);
    const created = await p.createPayment({ donationId: '11111111-2222-4333-8444-555555555555', amountMinor: 5000, currency: 'CNY', description: 'gift' });
    expect(created).to.deep.equal({ paymentRef: 'pi_123', clientSecret: 'pi_123_secret_abc' });
    const [req] = fake.seen;
    expect(req.method).to.equal('POST');
    expect(req.path).to.equal('/v1/payment_intents');
    expect(req.headers.authorization).to.equal('Bearer sk_test_abc');
    expect(req.headers['idempotency-key']).to.equal('donation-11111111-2222-4333-8444-555555555555');
    expect(req.body.get('amount')).to.equal('5000');
    expect(req.body.get('currency')).to.equal('cny');
    expect(req.body.getAll('allowed_payment_method_types[]').length ? req.body.getAll('allowed_payment_method_types[]') : [0, 1, 2].map((i) => req.body.get(`allowed_payment_method_types[${i}]`))).to.deep.equal(['wechat_pay', 'alipay', 'card']);
    expect(req.body.get('metadata[donation_id]')).to.equal('11111111-2222-4333-8444-555555555555');
  });

  it('when a refund is asked for, then it is created against the PaymentIntent with the caller key', async () => {
    const r = await provider().refund({ paymentRef: 'pi_123', amountMinor: 2000, idempotencyKey: 'refund-key-1' });
    expect(r).to.deep.equal({ refundId: 're_9' });
    const [req] = fake.seen;
    expect(req.path).to.equal('/v1/refunds');
    expect(req.body.get('payment_intent')).to.equal('pi_123');
    expect(req.body.get('amount')).to.equal('2000');
    expect(req.headers['idempotency-key']).to.equal('refund-key-1');
  });

  it("when refunds are listed or the fee is fetched, then the charge's refunds and balance-transaction fee come back", async () => {
    expect(await provider().listRefunds('ch_1')).to.deep.equal([{ id: 're_1', amount: 2000, status: 'succeeded' }]);
    expect(fake.seen[0].path).to.match(/^\/v1\/refunds\?.*charge=ch_1/);
    expect(await provider().fetchFee('pi_123')).to.equal(30);
    expect(decodeURIComponent(fake.seen[1].path)).to.include('expand[0]=latest_charge.balance_transaction');
  });

  it('when nothing listens at the configured host, then it fails fast with a connection error', async () => {
    const p = createStripeProvider({ secretKey: 'sk_test_abc', host: '127.0.0.1', port: 1, protocol: 'http' });
    let err: unknown;
    try {
      await p.createPayment({ donationId: '11111111-2222-4333-8444-555555555555', amountMinor: 5000, currency: 'CNY', description: 'gift' });
    } catch (e) {
      err = e;
    }
    expect((err as Error)?.constructor?.name).to.match(/StripeConnectionError/);
  });
});
