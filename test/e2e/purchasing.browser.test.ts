import { expect } from 'chai';
import { translate } from '../../server/lib/i18n.js';
import { useChromium } from '../helpers/chromium.js';
import { fakeUser } from '../helpers/factories.js';
import { h } from '../helpers/harness.js';
import { applicationBody, fakeOrganisation, openCall, streetWithPool, windowClosed } from '../helpers/purchasing.js';

/**
 * Browser journeys of purchase of services: an organisation applying to a call through its
 * console, and an expert declaring and scoring through the review console. Fixtures (streets,
 * pools, calls, users) are made directly; what the people do goes through the pages.
 */

const PASSWORD = 'correct-horse-battery';
const zh = (key: string, params?: Record<string, string | number>) => translate('zh-CN', key, params);

describe('browser end-to-end: purchase of services (Chromium)', function () {
  this.timeout(60_000);
  const { expectedFailures, newContext, newPage, expectNoProblems, expectTranslated, screenshot, signInThroughForm, submitWith } = useChromium();

  it('an organisation finds an open call in its console, sees its mistakes kept in the form, and applies', async () => {
    const street = await streetWithPool();
    const { call } = await openCall(street.streetId, { title: '社区长者助餐服务项目' });
    const org = await fakeOrganisation({ name: '暖阳社会工作服务中心' });
    const member = await fakeUser('social_org', { organisationId: org.id, password: PASSWORD });

    const page = await newPage(await newContext(), 'organisation');
    await signInThroughForm(page, member.email, PASSWORD);
    await page.waitForURL(/\/console$/);
    await page.locator('nav.console-nav').getByRole('link', { name: zh('console.org'), exact: true }).click();
    await page.waitForURL(/\/console\/org$/);
    const row = page.locator('tr', { hasText: '社区长者助餐服务项目' });
    await row.getByRole('link', { name: zh('org.apply') }).click();
    await page.waitForURL(new RegExp(`/console/calls/${call.id}/apply$`));
    expect(await page.locator('h1').innerText()).to.equal(zh('apply.title', { call: '社区长者助餐服务项目' }));

    // First try: no summary and no declaration.
    await page.getByLabel(zh('apply.project_title')).fill('“暖心食堂”长者助餐计划');
    for (const [k, v] of [['service_area', '建桥社区'], ['beneficiaries', '辖区独居与高龄长者'], ['activities', '每日送餐；每周探访。'], ['outcomes', '40 名长者用餐改善。']]) await page.getByLabel(zh(`apply.${k}`)).fill(v);
    await page.getByLabel(zh('apply.beneficiary_count')).fill('40');
    expectedFailures.push({ status: 422, url: `/console/calls/${call.id}/apply` });
    await submitWith(page, page.getByRole('button', { name: zh('apply.submit') }));
    expect(await page.locator('label.invalid').count()).to.be.at.least(2);
    expect(await page.getByLabel(zh('apply.project_title')).inputValue()).to.equal('“暖心食堂”长者助餐计划');
    expect(await page.getByLabel(zh('apply.budget_lines')).inputValue()).to.include('人员经费 | 6000');
    await expectTranslated(page);
    await screenshot(page, 'p1-apply-errors');
    expect(await h().db('applications').count({ n: '*' }).first()).to.deep.equal({ n: 0 });

    // Second try, complete.
    await page.getByLabel(zh('apply.summary')).fill('依托社区食堂为独居长者每日送餐，社工每周探访一次。');
    await page.getByLabel(zh('apply.declaration')).check();
    await submitWith(page, page.getByRole('button', { name: zh('apply.submit') }));
    await page.waitForURL(/\/console\/org$/);
    expect(await page.locator('.flash-ok').innerText()).to.include(zh('org.applied').slice(0, 5));
    const mine = page.locator('tr', { hasText: '“暖心食堂”长者助餐计划' });
    expect(await mine.innerText()).to.include(zh('application.status.submitted'));
    expect(await mine.innerText()).to.include('¥10,000.00');
    await expectTranslated(page);
    await screenshot(page, 'p1-applied');
    expect(await h().db('applications').first('status', 'amount_minor', 'organisation_id')).to.deep.equal({ status: 'submitted', amount_minor: 1_000_000, organisation_id: org.id });
    expectNoProblems();
  });

  it('an expert declares no conflict, sees the near-duplicate side by side, has a bad score refused, and scores', async () => {
    const first = await streetWithPool();
    const second = await streetWithPool();
    const a = await openCall(first.streetId);
    const b = await openCall(second.streetId, { panel_size: 1 });
    const one = await fakeOrganisation({ name: '甲社工中心' });
    const two = await fakeOrganisation({ name: '乙社工中心' });
    await h().api().post(`/api/calls/${a.call.id}/applications`).set('Authorization', `Bearer ${one.token}`).send(applicationBody()).expect(201);
    const copy = (await h().api().post(`/api/calls/${b.call.id}/applications`).set('Authorization', `Bearer ${two.token}`).send(applicationBody({ title: '“小书桌”困境儿童课业陪伴计划' })).expect(201)).body;
    const expert = await fakeUser('reviewer', { password: PASSWORD });
    await windowClosed(b.call.id);
    await h().api().post(`/api/calls/${b.call.id}/review`).set('Authorization', `Bearer ${b.officer}`).expect(200);

    const page = await newPage(await newContext(), 'expert');
    await signInThroughForm(page, expert.email, PASSWORD);
    await page.waitForURL(/\/console$/);
    await page.locator('nav.console-nav').getByRole('link', { name: zh('console.reviews'), exact: true }).click();
    await page.getByRole('link', { name: b.call.title }).click();
    await page.waitForURL(new RegExp(`/console/reviews/${b.call.id}$`));
    expect(await page.locator('body').innerText()).not.to.include(copy.summary);
    await page.getByLabel(zh('review.no_conflict')).check();
    await submitWith(page, page.getByRole('button', { name: zh('review.declare') }));

    const card = page.locator(`#application-${copy.id}`);
    expect(await card.locator('.flag').innerText()).to.include(zh('review.flag.near_duplicate')).and.include('“小书桌”困境儿童课业与陪伴计划');
    await screenshot(page, 'p2-review-flag');
    await card.getByLabel(/需求分析/).fill('101');
    await card.getByLabel(/服务设计/).fill('72');
    await card.getByLabel(/预算合理性/).fill('68');
    expectedFailures.push({ status: 422, url: `/console/reviews/${b.call.id}/applications/${copy.id}/scores` });
    await submitWith(page, card.getByRole('button', { name: zh('review.submit_scores') }));
    expect(await page.locator(`#application-${copy.id} .field-error`).innerText()).to.equal(zh('validation.score'));
    expect(await page.locator(`#application-${copy.id}`).getByLabel(/服务设计/).inputValue()).to.equal('72');
    expect(await h().db('review_scores').count({ n: '*' }).first()).to.deep.equal({ n: 0 });

    await page.locator(`#application-${copy.id}`).getByLabel(/需求分析/).fill('81');
    await submitWith(page, page.locator(`#application-${copy.id}`).getByRole('button', { name: zh('review.submit_scores') }));
    expect(await page.locator(`#application-${copy.id}`).innerText()).to.include(`${zh('review.your_scores')}: 需求分析 81 · 服务设计 72 · 预算合理性 68`);
    await expectTranslated(page);
    await screenshot(page, 'p2-scored');
    expect(await h().db('review_scores').where({ application_id: copy.id }).orderBy('criterion').pluck('score')).to.deep.equal([68, 72, 81]);
    expectNoProblems();
  });
});
