import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { dictionaries, fromAcceptLanguage, normaliseLang, translate } from '../../server/lib/i18n.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('i18n', () => {
  it('when a key exists in one language, then it exists in the other', () => {
    const { 'zh-CN': zh, en } = dictionaries();
    expect(Object.keys(en).sort()).to.deep.equal(Object.keys(zh).sort());
    for (const [k, v] of Object.entries(en)) expect(v, k).to.be.a('string').that.is.not.empty;
  });

  it('when views are read, then no Chinese or English sentence is hard-coded outside t()', () => {
    const root = path.resolve(import.meta.dirname, '../../views');
    for (const file of files(root)) {
      const text = readFileSync(file, 'utf8').replace(/<%[\s\S]*?%>/g, '');
      expect(/[\u4e00-\u9fff]/.test(text), `${file} has Chinese outside t()`).to.equal(false);
      const words = text.replace(/<[^>]*>/g, ' ').match(/[A-Za-z]{3,}(\s+[A-Za-z]{3,}){2,}/g);
      expect(words, `${file} has English text outside t(): ${words}`).to.equal(null);
    }
  });

  it('when placeholders are given, then they are filled; unknown keys show the key', () => {
    expect(translate('en', 'pager.page', { page: 2, pages: 5 })).to.equal('Page 2 of 5');
    expect(translate('zh-CN', 'pager.page', { page: 2, pages: 5 })).to.equal('第 2 / 5 页');
    expect(translate('en', 'no.such.key')).to.equal('no.such.key');
  });

  it('when Accept-Language is sent, then the best spoken language is chosen by quality', () => {
    expect(fromAcceptLanguage('en-GB,en;q=0.9,zh-CN;q=0.8')).to.equal('en');
    expect(fromAcceptLanguage('fr;q=1, zh-Hans;q=0.5, en;q=0.4')).to.equal('zh-CN');
    expect(fromAcceptLanguage('fr, de')).to.equal(null);
    expect(normaliseLang('ZH-tw')).to.equal('zh-CN');
  });
});
