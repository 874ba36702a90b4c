import enFinance from './locales/en.finance.js';
import en from './locales/en.js';
import enProjects from './locales/en.projects.js';
import enPurchasing from './locales/en.purchasing.js';
import zhCNFinance from './locales/zh-CN.finance.js';
import zhCN from './locales/zh-CN.js';
import zhCNProjects from './locales/zh-CN.projects.js';
import zhCNPurchasing from './locales/zh-CN.purchasing.js';

/** Languages the service speaks; zh-CN is the default. */
export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'zh-CN';

export type Dictionary = Record<string, string>;
const DICTIONARIES: Record<Lang, Dictionary> = { 'zh-CN': { ...zhCN, ...zhCNFinance, ...zhCNPurchasing, ...zhCNProjects }, en: { ...en, ...enFinance, ...enPurchasing, ...enProjects } };

export type Params = Record<string, string | number>;
/** A translation function bound to one language. */
export type Translate = (key: string, params?: Params) => string;

/**
 * Translates `key`, filling `{name}` placeholders from `params`. A missing key falls back to
 * zh-CN and then to the key itself, so a gap is visible rather than blank.
 */
export function translate(lang: Lang, key: string, params?: Params): string {
  const text = DICTIONARIES[lang][key] ?? DICTIONARIES[DEFAULT_LANG][key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

export function translator(lang: Lang): Translate {
  return (key, params) => translate(lang, key, params);
}

/** Normalises a language tag (`zh`, `zh-Hans-CN`, `en-GB`) to one we speak, or null. */
export function normaliseLang(tag: string | undefined | null): Lang | null {
  if (!tag) return null;
  const t = tag.trim().toLowerCase();
  if (t.startsWith('zh')) return 'zh-CN';
  if (t.startsWith('en')) return 'en';
  return null;
}

/** Picks the first spoken language from an Accept-Language header, by quality. */
export function fromAcceptLanguage(header: string | undefined): Lang | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part, i) => {
      const [tag, ...rest] = part.trim().split(';');
      const q = rest.find((r) => r.trim().startsWith('q='));
      return { tag, q: q ? Number(q.trim().slice(2)) || 0 : 1, i };
    })
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranked) {
    const lang = normaliseLang(r.tag);
    if (lang) return lang;
  }
  return null;
}

/** Exposed for the completeness test: every key of one dictionary must exist in the other. */
export function dictionaries(): Record<Lang, Dictionary> {
  return DICTIONARIES;
}
