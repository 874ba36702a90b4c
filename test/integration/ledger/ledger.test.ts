import { tokenFor } from '../../helpers/factories.js';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { chart, credit, debit, InsufficientFundsError, JournalKind } from '../../../server/modules/ledger/index.js';
import { resetDb } from '../../helpers/db.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';

/** Fails the test unless `fn` rejects with a PostgreSQL error of the given SQLSTATE (or message). */
async function expectRejected(fn: () => Promise<unknown>, match: string | RegExp): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected the database to refuse').to.exist;
  const e = err as { code?: string; message?: string };
  if (typeof match === 'string') expect(e.code, e.message).to.equal(match);
  else expect(e.message).to.match(match);
}

describe('ledger', () => {
  let clearing: number;
  let campaign: number;
  let pool: number;
  let db: Knex;

  beforeEach(async () => {
    await resetDb();
    db = h().db;
    const { ledger } = h().c;
    clearing = await ledger.ensureAccount(db, chart.processorClearing('sandbox', 'CNY'));
    campaign = await ledger.ensureAccount(db, chart.campaignDonations(1, 'CNY'));
    pool = await ledger.ensureAccount(db, chart.fundPool(1, 'donations', 'CNY'));
  });

  afterEach(expectLedgerHealthy);

  const post = (key: string, legs: ReturnType<typeof debit>[], kind = JournalKind.ADJUSTMENT) =>
    db.transaction((trx) => h().c.ledger.postJournal(trx, { kind, idempotencyKey: key, legs }));

  describe('postJournal', () => {
    it('when a balanced journal is posted, then cached balances move and entries record balance_after', async () => {
      await post('t:1', [debit(clearing, 5000), credit(campaign, 5000)]);
      await post('t:2', [debit(campaign, 1200), credit(pool, 1200)]);
      const accounts = await db('ledger_accounts').whereIn('id', [campaign, pool, clearing]).orderBy('id');
      expect(accounts.map((a) => [a.code, a.balance])).to.deep.equal([
        ['processor:sandbox:clearing:CNY', 0],
        ['campaign:1:donations:CNY', 3800],
        ['fund:1:pool:donations:CNY', 1200],
      ]);
      const entries = await db('ledger_entries').where({ account_id: campaign }).orderBy('id');
      expect(entries.map((e) => [e.amount, e.balance_after, e.account_version])).to.deep.equal([[-5000, 5000, 1], [1200, 3800, 2]]);
      const derived = await db('ledger_entries').where({ account_id: clearing }).first();
      expect(derived.balance_after, 'derived accounts keep no cached balance').to.equal(null);
    });

    it('when the same idempotency key is posted again, then the stored journal is returned and nothing moves', async () => {
      const first = await post('t:dup', [debit(clearing, 700), credit(campaign, 700)]);
      const again = await post('t:dup', [debit(clearing, 700), credit(campaign, 700)]);
      expect(again).to.deep.equal({ journalId: first.journalId, replayed: true });
      expect(await db('ledger_journals').count({ n: '*' }).first()).to.deep.equal({ n: 1 });
      expect((await db('ledger_accounts').where({ id: campaign }).first()).balance).to.equal(700);
    });

    it('when the same key arrives with different legs, then it is refused rather than silently merged', async () => {
      await post('t:clash', [debit(clearing, 700), credit(campaign, 700)]);
      await expectRejected(() => post('t:clash', [debit(clearing, 701), credit(campaign, 701)]), '23505');
      const sameLegsOtherKind = JSON.stringify([{ account_id: clearing, amount: 700 }, { account_id: campaign, amount: -700 }]);
      await expectRejected(() => db.raw(`SELECT * FROM ledger_post_journal('t:clash', 'other', now(), null, null, '{}', ?::jsonb)`, [sameLegsOtherKind]), '23505');
    });

    it('when legs do not balance, name an account twice, or have a zero, then nothing is written', async () => {
      await expectRejected(() => post('t:bad1', [debit(clearing, 10), credit(campaign, 9)]), /does not balance/);
      await expectRejected(() => post('t:bad2', [debit(campaign, 10), credit(campaign, 10)]), /twice/);
      await expectRejected(() => post('t:bad3', [debit(clearing, 10)]), /two legs/);
      await expectRejected(() => post('t:bad4', [debit(clearing, 0), credit(campaign, 0)]), /zero/);
      expect((await db('ledger_journals').count({ n: '*' }).first())!.n).to.equal(0);
    });

    it('when a restricted account would go negative, then the CHECK refuses the whole journal', async () => {
      await post('t:fund', [debit(clearing, 100), credit(campaign, 100)]);
      let err: unknown;
      try {
        await post('t:over', [debit(campaign, 101), credit(pool, 101)]);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(InsufficientFundsError);
      expect((await db('ledger_accounts').where({ id: campaign }).first()).balance).to.equal(100);
      expect(await db('ledger_journals').where({ idempotency_key: 't:over' }).first()).to.equal(undefined);
    });

    it('when many journals touch the same accounts in opposite orders concurrently, then none deadlocks and balances are exact', async () => {
      await post('t:seed', [debit(clearing, 100_000), credit(campaign, 100_000)]);
      await post('t:seed-pool', [debit(campaign, 10_000), credit(pool, 10_000)]);
      const jobs = Array.from({ length: 60 }, (_, i) =>
        i % 2 === 0
          ? post(`t:c${i}`, [debit(campaign, 100), credit(pool, 100)])
          : post(`t:c${i}`, [credit(campaign, 50), debit(pool, 50)]),
      );
      const results = await Promise.allSettled(jobs);
      expect(results.filter((r) => r.status === 'rejected')).to.deep.equal([]);
      expect((await db('ledger_accounts').where({ id: pool }).first()).balance).to.equal(10_000 + 30 * 100 - 30 * 50);
    });
  });

  describe('the database refuses raw SQL that breaks an invariant', () => {
    async function journal(trx: Knex.Transaction, key: string): Promise<number> {
      const [j] = await trx('ledger_journals').insert({ idempotency_key: key, kind: 'test', effective_at: new Date() }).returning('id');
      return j.id;
    }

    it('when entries of a journal do not sum to zero, then COMMIT fails (deferred trigger)', async () => {
      await expectRejected(
        () => db.transaction(async (trx) => {
          const id = await journal(trx, 'raw:unbalanced');
          await trx('ledger_entries').insert([
            { journal_id: id, account_id: clearing, currency: 'CNY', amount: 500 },
            { journal_id: id, account_id: campaign, currency: 'CNY', amount: -499 },
          ]);
        }),
        /does not balance/,
      );
      expect(await db('ledger_journals').where({ idempotency_key: 'raw:unbalanced' }).first()).to.equal(undefined);
    });

    it('when a journal header is committed without entries, then COMMIT fails', async () => {
      await expectRejected(() => db.transaction((trx) => journal(trx, 'raw:empty')), /fewer than two entries/);
    });

    it('when an entry is added to an already committed journal, then COMMIT fails', async () => {
      await post('raw:closed', [debit(clearing, 300), credit(campaign, 300)]);
      const { id } = await db('ledger_journals').where({ idempotency_key: 'raw:closed' }).first();
      await expectRejected(() => db('ledger_entries').insert({ journal_id: id, account_id: pool, currency: 'CNY', amount: 1 }), /does not balance/);
    });

    it('when an entry or journal is updated or deleted, then the append-only trigger refuses', async () => {
      await post('raw:ao', [debit(clearing, 300), credit(campaign, 300)]);
      await expectRejected(() => db('ledger_entries').update({ amount: 1 }), /append-only/);
      await expectRejected(() => db('ledger_entries').delete(), /append-only/);
      await expectRejected(() => db('ledger_journals').update({ kind: 'other' }), /append-only/);
      await expectRejected(() => db('ledger_journals').delete(), /append-only/);
      await expectRejected(() => db('ledger_accounts').where({ id: campaign }).delete(), /append-only/);
    });

    it('when a restricted balance is set negative directly, then the CHECK refuses', async () => {
      await expectRejected(() => db('ledger_accounts').where({ id: campaign }).update({ balance: -1 }), '23514');
    });

    it("when an account's identity is changed, then the trigger refuses", async () => {
      await expectRejected(() => db('ledger_accounts').where({ id: campaign }).update({ currency: 'USD' }), /immutable/);
      await expectRejected(() => db('ledger_accounts').where({ id: clearing }).update({ tracks_balance: true }), /immutable/);
      await expectRejected(() => db('ledger_accounts').where({ id: campaign }).update({ allow_negative: true }), /immutable/);
      await expectRejected(() => db('ledger_accounts').where({ id: campaign }).update({ lock_rank: 5 }), /immutable/);
    });

    it('when a derived account is given a cached balance, then the CHECK refuses', async () => {
      await expectRejected(() => db('ledger_accounts').where({ id: clearing }).update({ balance: 5 }), '23514');
    });

    it('when an idempotency key is reused, then the UNIQUE constraint refuses', async () => {
      await post('raw:key', [debit(clearing, 300), credit(campaign, 300)]);
      await expectRejected(() => db.transaction((trx) => journal(trx, 'raw:key')), '23505');
    });

    it("when an entry's currency differs from its account's, then the foreign key refuses", async () => {
      await expectRejected(
        () => db.transaction(async (trx) => {
          const id = await journal(trx, 'raw:fx');
          await trx('ledger_entries').insert([
            { journal_id: id, account_id: clearing, currency: 'USD', amount: 500 },
            { journal_id: id, account_id: campaign, currency: 'USD', amount: -500 },
          ]);
        }),
        '23503',
      );
    });

    it('when an entry has a zero amount, then the CHECK refuses', async () => {
      await expectRejected(
        () => db.transaction(async (trx) => {
          const id = await journal(trx, 'raw:zero');
          await trx('ledger_entries').insert({ journal_id: id, account_id: clearing, currency: 'CNY', amount: 0 });
        }),
        '23514',
      );
    });

    it('when a donation journal has no donation, then the CHECK refuses', async () => {
      await expectRejected(
        () => db.transaction(async (trx) => {
          await trx('ledger_journals').insert({ idempotency_key: 'raw:orphan', kind: 'donation', effective_at: new Date() });
        }),
        '23514',
      );
    });
  });

  describe('trial balance', () => {
    it('when journals are posted, then debits equal credits and every check passes over HTTP', async () => {
      await post('tb:1', [debit(clearing, 5000), credit(campaign, 5000)]);
      const token = { token: await tokenFor('association_finance') };
      const res = await h().api().get('/api/ledger/trial-balance').set('Authorization', `Bearer ${token.token}`).expect(200);
      expect(res.body.balanced).to.equal(true);
      expect(res.body.totals).to.deep.equal([{ currency: 'CNY', debits: 5000, credits: 5000 }]);
      const byCode = Object.fromEntries(res.body.accounts.map((a: { code: string; balance: number }) => [a.code, a.balance]));
      expect(byCode['processor:sandbox:clearing:CNY']).to.equal(5000);
      expect(byCode['campaign:1:donations:CNY']).to.equal(5000);
      expect(res.body.checks.every((c: { ok: boolean }) => c.ok)).to.equal(true);
    });

    it('when a cached balance drifts from its entries, then the check names it and balanced is false', async () => {
      await post('tb:2', [debit(clearing, 5000), credit(campaign, 5000)]);
      await db.raw('ALTER TABLE ledger_accounts DISABLE TRIGGER ledger_accounts_immutable');
      await db('ledger_accounts').where({ id: campaign }).update({ balance: 4999 });
      await db.raw('ALTER TABLE ledger_accounts ENABLE TRIGGER ledger_accounts_immutable');
      const token = await tokenFor('association_admin');
      const res = await h().api().get('/api/ledger/trial-balance').set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.body.balanced).to.equal(false);
      const failed = res.body.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name);
      expect(failed).to.deep.equal(['cached_balance_matches_entries']);
      await db('ledger_accounts').where({ id: campaign }).update({ balance: 5000 });
    });

    it('when the caller is not finance, admin or auditor, then 401 or 403 and nothing is shown', async () => {
      await h().api().get('/api/ledger/trial-balance').expect(401);
      await h().api().get('/api/ledger/trial-balance').set('Authorization', 'Bearer sh_not_a_real_token_value').expect(401);
      const street = await tokenFor('reviewer');
      const res = await h().api().get('/api/ledger/trial-balance').set('Authorization', `Bearer ${street}`).expect(403);
      expect(res.body.error.code).to.equal('forbidden');
    });
  });
});
