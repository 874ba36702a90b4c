import type { Dictionary } from '../i18n.js';

/** English: funds, reconciliation, pools, pledges and statements. Keys must match `zh-CN.finance.ts`. */
const enFinance: Dictionary = {
  'errors.fund_without_agreement': 'This fund has no signed cooperation agreement yet, so it cannot take donations.',
  'errors.fund_code_taken': 'That fund code is already in use.',
  'validation.committee_size': 'The committee needs at least 5 voting members, and an odd number of them.',
  'validation.committee_supervisor': 'The committee needs at least one supervisor.',
  'validation.committee_unpaid': 'Committee members serve unpaid.',
  'validation.fund_name': 'A fund name ends in 慈善基金 (e.g. 九龙坡区慈善会石坪桥街道慈善基金).',
  'validation.no_sub_funds': 'A fund cannot sit under another fund: a fund is a sub-ledger of the association, not an entity.',
  'validation.unknown_street': 'No such street.',
  'validation.community_not_in_street': 'That community is not in the chosen street.',
};

export default enFinance;
