import { expect } from 'chai';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { copyInt, copyText, readCopyRows, readCopyText } from '../../../server/lib/copy-text.js';
import { TEST_ENV } from '../../helpers/env.js';

const awkward = ['plain', 'tab\there', 'line\nbreak', 'carriage\rreturn', 'back\\slash', '\\N', 'ends with \\', '中文 ¥', ''];

describe('COPY text format', () => {
  it('when a field holds a tab, a line break, a backslash or the null marker, then it is escaped so that no field or row boundary moves', () => {
    expect(copyText(null)).to.equal('\\N');
    expect(copyText('tab\there')).to.equal('tab\\there');
    expect(copyText('line\nbreak\r')).to.equal('line\\nbreak\\r');
    expect(copyText('\\N')).to.equal('\\\\N');
    for (const v of awkward) expect(copyText(v)).not.to.match(/[\t\n\r]/);
  });

  it('when an escaped field is read back, then it is the same text, and only the bare marker reads as null', () => {
    for (const v of awkward) expect(readCopyText(copyText(v))).to.equal(v);
    expect(readCopyText('\\N')).to.equal(null);
    expect(readCopyText('a\\bb\\fc\\vd')).to.equal('a\bb\fc\vd');
  });

  it('when an amount is not a safe integer, then it is refused rather than written', () => {
    expect(copyInt(12345, 'amount')).to.equal('12345');
    for (const bad of [1.5, Number.NaN, 2 ** 53, '100', null]) expect(() => copyInt(bad, 'amount')).to.throw('amount is not an integer');
  });

  it('when PostgreSQL writes awkward values with COPY TO, then they read back as they were stored', async () => {
    const client = new pg.Client({ connectionString: TEST_ENV.DATABASE_URL });
    await client.connect();
    try {
      const values = awkward.map((v) => client.escapeLiteral(v)).join('), (');
      const stream = client.query(copyTo(`COPY (SELECT v, NULL::text, 7 FROM (VALUES (${values})) t(v)) TO STDOUT`));
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      expect(readCopyRows(Buffer.concat(chunks).toString('utf8'))).to.deep.equal(awkward.map((v) => [v, null, '7']));
    } finally {
      await client.end();
    }
  });
});
