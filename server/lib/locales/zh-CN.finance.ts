import type { Dictionary } from '../i18n.js';

/** 简体中文: funds, reconciliation, pools, pledges and statements. Keys must match `en.finance.ts`. */
const zhCNFinance: Dictionary = {
  'errors.fund_without_agreement': '该基金尚未签订合作协议，暂不能接受捐赠。',
  'errors.fund_code_taken': '基金编码已被使用。',
  'validation.committee_size': '管委会须至少 5 名有表决权的委员，且为奇数。',
  'validation.committee_supervisor': '管委会须至少有 1 名监督员。',
  'validation.committee_unpaid': '管委会委员均不领取报酬。',
  'validation.fund_name': '基金名称须以“慈善基金”结尾（如“九龙坡区慈善会石坪桥街道慈善基金”）。',
  'validation.no_sub_funds': '基金之下不能再设基金：基金是慈善会的子账目，不是独立主体。',
  'validation.unknown_street': '找不到该街道。',
  'validation.community_not_in_street': '该社区不属于所选街道。',
};

export default zhCNFinance;
