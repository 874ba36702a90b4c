import { expect } from 'chai';
import { encodeJson, RawJson } from '../fuzz/bad-inputs.js';
import { fuzzOpenApi } from '../fuzz/openapi-fuzz.js';
import { resetDb } from '../helpers/db.js';
import { fakeCampaign, tokenFor } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { fakeGrant, give, pay } from '../helpers/matching.js';
import { signedContract } from '../helpers/project.js';
import { rowSnapshot } from '../helpers/row-snapshot.js';

/**
 * Every route of the OpenAPI document, sent every class of bad input anonymously,
 * as an admin and as callers of the wrong role, never answers a 5xx, never a 2xx for a clearly
 * bad input (a search word that is merely odd may still find nothing, 200), and no row changes.
 */
describe('the OpenAPI document under bad input (fuzz)', function () {
  this.timeout(120_000);

  it('when a lone surrogate or 1e400 is put in a body, then the bytes sent are the ASCII escape and the literal (not U+FFFD, not null)', () => {
    const text = encodeJson({ message: new RawJson('"\\ud800"'), n: new RawJson('1e400') });
    expect(text).to.equal('{"message":"\\ud800","n":1e400}');
    expect(Buffer.from(text, 'utf8').toString('latin1')).to.equal(text);
    expect(Buffer.from('\ud800', 'utf8').toString('hex'), 'a raw lone surrogate would arrive as U+FFFD').to.equal('efbfbd');
  });

  it('when every route gets out-of-range integers, NUL, lone surrogates, over-long strings, wrong types and non-JSON, then no 5xx, no 2xx for clearly bad input, and no row changes', async () => {
    await resetDb();
    const project = await signedContract();
    const campaign = await fakeCampaign({ streetId: project.street.streetId });
    await fakeGrant({ campaigns: [campaign.slug] });
    await fakeGrant({ activate: false });
    await pay((await give(campaign.slug, 5000, { name: '王阿姨' })).id);
    const tokens = {
      sponsor: await tokenFor('sponsor'),
      auditor: await tokenFor('auditor'),
      street_officer: await tokenFor('street_officer', project.street.streetId),
      social_org: project.org.token,
    };

    const result = await fuzzOpenApi({ baseUrl: h().url, adminToken: await tokenFor('association_admin'), tokens, snapshot: () => rowSnapshot() });

    expect(result.failures, result.failures.slice(0, 40).join('\n')).to.deep.equal([]);
    expect(result.requests, 'requests sent').to.be.at.least(4000);
    expect(result.byStatus['400'] ?? 0, `validation was reached: ${JSON.stringify(result.byStatus)}`).to.be.at.least(2000);
  });
});
