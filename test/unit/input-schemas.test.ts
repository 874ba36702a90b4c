import { expect } from 'chai';
import { brokenTextFields } from '../../server/http/middleware/input-guard.js';
import { dbId, idOrZero, idParam, PG_INT_MAX, plainText, safeText, textProblem } from '../../server/http/schemas.js';

const t = (k: string) => k;

/** The shared validators for ids and text. */
describe('shared ids and text', () => {
  it('when text holds a NUL or an unpaired surrogate, then it is named; a surrogate pair (an emoji) is fine', () => {
    expect(textProblem('善汇 😀')).to.equal(null);
    expect(textProblem('a\u0000b')).to.equal('validation.nul_char');
    for (const s of ['\ud800', 'x\udfff', '\udc00\ud800', 'a\ud83d']) expect(textProblem(s), JSON.stringify(s)).to.equal('validation.lone_surrogate');
    expect(safeText(10).safeParse('\ud800').success).to.equal(false);
    expect(plainText(10).safeParse('ok\ud800').success).to.equal(false);
    expect(plainText(10).safeParse('加油😀').success).to.equal(true);
  });

  it('when an id comes from a path or query, then only plain digits from 1 to 2147483647 pass', () => {
    expect(idParam().parse('42')).to.equal(42);
    expect(idParam().parse(String(PG_INT_MAX))).to.equal(PG_INT_MAX);
    for (const v of ['2147483648', '99999999999', '0', '-1', '1.5', '1e3', '0x10', 'abc', '', ' 7', ['1']]) expect(idParam().safeParse(v).success, JSON.stringify(v)).to.equal(false);
    expect(idParam(Number.MAX_SAFE_INTEGER).parse('99999999999')).to.equal(99999999999);
    expect(dbId().safeParse(99999999999).success).to.equal(false);
    expect(idOrZero('99999999999')).to.equal(0);
    expect(idOrZero(['12'])).to.equal(12);
  });

  it('when a body holds broken text deep down or in a key, then each place is named by its dotted path', () => {
    const deep = JSON.parse('{"donor":{"name":"\\ud800"},"tags":["ok","a\\u0000"],"k\\u0000":1}');
    expect(brokenTextFields(deep, t)).to.deep.equal({ 'donor.name': 'validation.lone_surrogate', 'tags.1': 'validation.nul_char', 'k\u0000': 'validation.nul_char' });
    let nested: unknown = 'a\u0000';
    for (let i = 0; i < 100_000; i++) nested = [nested];
    expect(Object.keys(brokenTextFields(nested, t))).to.have.length(1);
  });
});
