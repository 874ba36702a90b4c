import { expect } from 'chai';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyInt, copyText } from '../../../server/lib/copy-text.js';
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

  it('when an amount is not a safe integer, then it is refused rather than written', () => {
    expect(copyInt(12345, 'amount')).to.equal('12345');
    for (const bad of [1.5, Number.NaN, 2 ** 53, '100', null]) expect(() => copyInt(bad, 'amount')).to.throw('amount is not an integer');
  });

  it('when awkward values are written with COPY FROM, then PostgreSQL stores them as they were, and null as null', async () => {
    const client = new pg.Client({ connectionString: TEST_ENV.DATABASE_URL });
    await client.connect();
    try {
      await client.query('CREATE TEMP TABLE copied (n int, v text, nothing text)');
      const lines = awkward.map((v, i) => `${copyInt(i, 'n')}\t${copyText(v)}\t${copyText(null)}\n`).join('');
      await pipeline(Readable.from([lines]), client.query(copyFrom('COPY copied FROM STDIN')));
      const { rows } = await client.query('SELECT v, nothing FROM copied ORDER BY n');
      expect(rows).to.deep.equal(awkward.map((v) => ({ v, nothing: null })));
    } finally {
      await client.end();
    }
  });
});
