import { expect } from 'chai';
import { chart, JournalKind, periodBounds } from '../../../server/modules/ledger/index.js';
import { resetDb } from '../../helpers/db.js';
import { tokenFor } from '../../helpers/factories.js';
import { h } from '../../helpers/harness.js';
import { expectLedgerHealthy } from '../../helpers/ledger.js';

describe('ledger: closed periods', () => {
  beforeEach(resetDb);
  afterEach(expectLedgerHealthy);

  it('when finance closes last month, then a journal dated into it is posted now, keeping its date, and a raw insert into it is refused', async () => {
    const token = await tokenFor('association_finance');
    await h().api().post('/api/ledger/periods').set('Authorization', `Bearer ${token}`).send({ period: '2026-10' }).expect(201);
    const { c, db } = h();
    const [bank, suspense] = await Promise.all([c.ledger.ensureAccount(db, chart.bank('CNY')), c.ledger.ensureAccount(db, chart.reconciliationSuspense('CNY'))]);
    const dated = new Date('2026-10-15T10:00:00+08:00');
    const posted = await db.transaction((trx) => c.ledger.postJournal(trx, { kind: JournalKind.ADJUSTMENT, idempotencyKey: 'late-1', effectiveAt: dated, legs: [{ accountId: bank, amount: 100 }, { accountId: suspense, amount: -100 }] }));
    const j = await db('ledger_journals').where({ id: posted.journalId }).first();
    expect(j.effective_at.getTime()).to.be.above(periodBounds('2026-10').ends_at.getTime());
    expect(new Date(j.refs.dated).getTime()).to.equal(dated.getTime());

    let err: { message?: string } = {};
    try {
      await db('ledger_journals').insert({ idempotency_key: 'raw-1', kind: 'adjustment', effective_at: dated });
    } catch (e) {
      err = e as Error;
    }
    expect(err.message).to.match(/ledger period 2026-10 is closed/);
  });

  it('when a month is closed twice, has not ended yet, or is malformed, then it is refused; a closed period cannot be reopened', async () => {
    const token = await tokenFor('association_finance');
    await h().api().post('/api/ledger/periods').set('Authorization', `Bearer ${token}`).send({ period: '2026-09' }).expect(201);
    expect((await h().api().post('/api/ledger/periods').set('Authorization', `Bearer ${token}`).send({ period: '2026-09' }).expect(409)).body.error.code).to.equal('period_closed');
    expect((await h().api().post('/api/ledger/periods').set('Authorization', `Bearer ${token}`).send({ period: '2099-01' }).expect(409)).body.error.code).to.equal('period_not_over');
    await h().api().post('/api/ledger/periods').set('Authorization', `Bearer ${token}`).send({ period: '2026-13' }).expect(400);
    const officer = await tokenFor('street_officer');
    await h().api().post('/api/ledger/periods').set('Authorization', `Bearer ${officer}`).send({ period: '2026-08' }).expect(403);
    let err: { message?: string } = {};
    try {
      await h().db('ledger_periods').where({ period: '2026-09' }).del();
    } catch (e) {
      err = e as Error;
    }
    expect(err.message).to.match(/append-only/);
    const list = (await h().api().get('/api/ledger/periods').set('Authorization', `Bearer ${token}`).expect(200)).body;
    expect(list.map((p: { period: string }) => p.period)).to.deep.equal(['2026-09']);
  });
});
