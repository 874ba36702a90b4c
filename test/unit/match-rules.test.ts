import { expect } from 'chai';
import { allocateByWeight, allocateWithCap, drawFromSeed, evaluate, isqrt, nextSlotOpening, openSlot, quadraticWeights, Rules, type RulesInput } from '../../server/modules/matching/index.js';

const rules = (r: RulesInput = {}) => Rules.parse(r);
const at = (iso: string) => new Date(iso);
const ctx = (amount: number, when = '2026-09-07T12:00:00+08:00', campaign = { donors: 0, raised: 0 }) => ({ amount, at: at(when), campaign });

describe('match rules (pure)', () => {
  it('when a gift is matched 1:1 or at 50 %, then the desired match is that ratio of it', () => {
    expect(evaluate(rules(), ctx(5000)).desired).to.equal(5000);
    expect(evaluate(rules({ ratio_percent: 50 }), ctx(5001)).desired).to.equal(2501);
    expect(evaluate(rules({ ratio_percent: 200 }), ctx(5000)).desired).to.equal(10_000);
  });

  it('when a gift is below min_donation (M-1), then it is not matched; at the minimum it is', () => {
    expect(evaluate(rules(), ctx(99))).to.include({ desired: 0, reason: 'below_minimum' });
    expect(evaluate(rules(), ctx(100))).to.include({ desired: 100, reason: null });
    expect(evaluate(rules({ min_donation: 1000 }), ctx(999)).reason).to.equal('below_minimum');
  });

  it('when cap_per_donation is set, then no single match exceeds it', () => {
    expect(evaluate(rules({ cap_per_donation: 2000 }), ctx(50_000)).desired).to.equal(2000);
    expect(evaluate(rules({ cap_per_donation: 2000 }), ctx(1500)).desired).to.equal(1500);
  });

  it('when tiers are set, then the highest tier at or below the gift decides the ratio', () => {
    const r = rules({ ratio_percent: 10, tiers: [{ min_amount: 1000, ratio_percent: 50 }, { min_amount: 10_000, ratio_percent: 100 }] });
    expect(evaluate(r, ctx(500)).desired).to.equal(50);
    expect(evaluate(r, ctx(1000)).desired).to.equal(500);
    expect(evaluate(r, ctx(20_000)).desired).to.equal(20_000);
  });

  it('when matching is random (M-4), then the draw comes from the seed, stays in bounds, and replays exactly', () => {
    const r = rules({ random: { min_percent: 10, max_percent: 300, probability_percent: 60 } });
    let hits = 0;
    for (let i = 0; i < 400; i++) {
      const seed = `seed-${i}`;
      const a = evaluate(r, ctx(10_000), seed);
      const b = evaluate(r, ctx(10_000), seed);
      expect(b).to.deep.equal(a);
      expect(a.draw!.seed).to.equal(seed);
      if (a.desired > 0) {
        hits++;
        expect(a.ratio_bp).to.be.within(1000, 30_000);
        expect(a.desired).to.equal(Math.floor((10_000 * a.ratio_bp) / 10_000));
      } else expect(a.reason).to.equal('random_not_drawn');
    }
    expect(hits, 'about 60 % drawn').to.be.within(200, 280);
    expect(() => evaluate(r, ctx(10_000))).to.throw(/seed/);
    expect(drawFromSeed('x', { min_percent: 100, max_percent: 100, probability_percent: 100 }).ratio_bp).to.equal(10_000);
  });

  it('when daily slots are set (M-2), then only gifts inside a slot match, each slot a bucket per day', () => {
    const r = rules({ daily_slots: [{ opens: '10:00', closes: '12:00', budget: 100_000 }, { opens: '20:00', budget: 50_000 }] });
    expect(evaluate(r, ctx(5000, '2026-09-07T09:59:59+08:00'))).to.include({ desired: 0, reason: 'outside_slot' });
    expect(evaluate(r, ctx(5000, '2026-09-07T10:00:00+08:00'))).to.include({ desired: 5000, bucket: '2026-09-07#0' });
    expect(evaluate(r, ctx(5000, '2026-09-07T12:00:00+08:00')).reason).to.equal('outside_slot');
    expect(evaluate(r, ctx(5000, '2026-09-07T23:30:00+08:00')).bucket).to.equal('2026-09-07#1');
    expect(evaluate(r, ctx(5000, '2026-09-08T01:00:00+08:00')).reason).to.equal('outside_slot');
    expect(openSlot(r, at('2026-09-07T02:30:00Z'))!.bucket, '10:30 CST is 02:30 UTC').to.equal('2026-09-07#0');
    expect(nextSlotOpening(r, at('2026-09-07T13:00:00+08:00'))!.toISOString()).to.equal('2026-09-07T12:00:00.000Z');
    expect(nextSlotOpening(r, at('2026-09-07T21:00:00+08:00'))!.toISOString()).to.equal('2026-09-08T02:00:00.000Z');
    expect(nextSlotOpening(rules(), at('2026-09-07T21:00:00+08:00'))).to.equal(null);
  });

  it('when a challenge is set, then matching unlocks only after N paid donations or ¥X raised', () => {
    const r = rules({ challenge: { donors: 3, amount: 100_000 } });
    expect(evaluate(r, ctx(5000, undefined, { donors: 2, raised: 99_999 })).reason).to.equal('challenge_locked');
    expect(evaluate(r, ctx(5000, undefined, { donors: 3, raised: 0 })).desired).to.equal(5000);
    expect(evaluate(r, ctx(5000, undefined, { donors: 0, raised: 100_000 })).desired).to.equal(5000);
  });

  it('when the grant is a quadratic round, then gifts are not matched one by one', () => {
    expect(evaluate(rules({ mode: 'quadratic', quadratic: { per_project_cap: 1000 } }), ctx(5000)).reason).to.equal('matched_at_close');
    expect(Rules.safeParse({ mode: 'quadratic' }).success, 'a quadratic round needs its cap').to.equal(false);
  });

  it('when rules carry unknown keys or bad values, then they are refused', () => {
    expect(Rules.safeParse({ ratio: 100 }).success).to.equal(false);
    expect(Rules.safeParse({ ratio_percent: 1.5 }).success).to.equal(false);
    expect(Rules.safeParse({ daily_slots: [{ opens: '25:00', budget: 100 }] }).success).to.equal(false);
    expect(Rules.safeParse({ random: { min_percent: 50, max_percent: 10 } }).success).to.equal(false);
    expect(Rules.safeParse({ challenge: {} }).success).to.equal(false);
  });

  describe('close-time sharing', () => {
    it('when shares are split by weight, then they sum exactly to the total', () => {
      const out = allocateByWeight(10_001, new Map([['a', 1n], ['b', 1n], ['c', 1n]]));
      expect([...out.values()].reduce((s, x) => s + x, 0)).to.equal(10_001);
      expect(allocateByWeight(100, new Map([['a', 0n]])).size).to.equal(0);
    });

    it('when a project would exceed the cap, then it gets the cap and the rest goes to the others', () => {
      const out = allocateWithCap(10_000, new Map([['big', 8n], ['a', 1n], ['b', 1n]]), 4000);
      expect(Object.fromEntries(out)).to.deep.equal({ big: 4000, a: 3000, b: 3000 });
      const all = allocateWithCap(10_000, new Map([['a', 1n], ['b', 1n]]), 3000);
      expect([...all.values()].reduce((s, x) => s + x, 0), 'what nobody can take is left over').to.equal(6000);
    });

    it('when contributions are compared (QF), then many small donors outweigh one large donor of the same sum', () => {
      const w = quadraticWeights(new Map([['many', [100, 100, 100, 100]], ['one', [400]]]));
      expect(w.get('one')).to.equal(0n);
      expect(w.get('many')! > 0n).to.equal(true);
      expect(w.get('many')).to.equal((4n * 10n * 1_000_000n) ** 2n - 400n * 1_000_000_000_000n);
      expect(isqrt(10n ** 20n)).to.equal(10n ** 10n);
      expect(isqrt(99n)).to.equal(9n);
    });
  });
});
