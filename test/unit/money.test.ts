import { expect } from 'chai';
import { add, allocate, format, parseMajor, scale, subtract, toMinor } from '../../server/lib/money.js';

describe('money', () => {
  it('when amounts are added or subtracted, then the result is exact integer fen', () => {
    expect(add(150, 250, 1)).to.equal(401);
    expect(subtract(1000, 250)).to.equal(750);
  });

  it('when a fraction or an unsafe integer appears, then it throws instead of rounding', () => {
    expect(() => toMinor(1.5)).to.throw(RangeError);
    expect(() => add(0.1, 0.2)).to.throw(RangeError);
    expect(() => toMinor(2 ** 53)).to.throw(RangeError);
    expect(() => toMinor('12a')).to.throw(RangeError);
    expect(toMinor('9007199254740991')).to.equal(9007199254740991);
  });

  it('when a total is allocated, then the parts always sum to it (largest remainder)', () => {
    expect(allocate(100, [1, 1, 1])).to.deep.equal([34, 33, 33]);
    expect(allocate(1000, [50, 30, 20])).to.deep.equal([500, 300, 200]);
    expect(allocate(1, [1, 1])).to.deep.equal([1, 0]);
    for (let total = 0; total < 500; total += 37) {
      const parts = allocate(total, [3, 7, 11, 13]);
      expect(parts.reduce((s, p) => s + p, 0)).to.equal(total);
    }
    expect(() => allocate(10, [0, 0])).to.throw(RangeError);
  });

  it('when scaled by a ratio, then it rounds half up exactly', () => {
    expect(scale(5000, 60, 10_000)).to.equal(30);
    expect(scale(125, 1, 2)).to.equal(63);
    expect(scale(124, 1, 2)).to.equal(62);
    expect(scale(-125, 1, 2)).to.equal(-63);
    expect(scale(9_007_199_254_740, 1000, 1000)).to.equal(9_007_199_254_740);
  });

  it('when a person types yuan, then it is parsed to fen without floats', () => {
    expect(parseMajor('50')).to.equal(5000);
    expect(parseMajor('50.5')).to.equal(5050);
    expect(parseMajor('0.07')).to.equal(7);
    expect(parseMajor('¥1,234.56')).to.equal(123456);
    expect(parseMajor('19.99')).to.equal(1999);
    for (const bad of ['', 'abc', '1.234', '-5', '1e3', '5.', '.5', 'NaN']) expect(parseMajor(bad), bad).to.equal(null);
  });

  it('when formatted, then it shows the currency, thousands and two decimals', () => {
    expect(format(123450)).to.equal('¥1,234.50');
    expect(format(7)).to.equal('¥0.07');
    expect(format(-5000)).to.equal('-¥50.00');
    expect(format(0)).to.equal('¥0.00');
  });
});
