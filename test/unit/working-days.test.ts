import { expect } from 'chai';
import { addWorkingDays } from '../../server/modules/purchasing/index.js';

describe('working days (G-7 notice periods, China Standard Time)', () => {
  it('when a notice starts on a Monday, then seven working days end on the Wednesday of the next week, same time of day', () => {
    // 2026-12-07 is a Monday; 10:00 CST.
    expect(addWorkingDays(new Date('2026-12-07T02:00:00Z'), 7).toISOString()).to.equal('2026-12-16T02:00:00.000Z');
  });

  it('when a notice starts late on Friday or just after midnight on Saturday CST, then the weekday is read in China time and the weekend skipped', () => {
    // 2026-12-11 23:30 CST is Friday; one working day later is Monday 2026-12-14 23:30 CST.
    expect(addWorkingDays(new Date('2026-12-11T15:30:00Z'), 1).toISOString()).to.equal('2026-12-14T15:30:00.000Z');
    // 2026-12-12 00:30 CST is Saturday (Friday 16:30 UTC): one working day later is Monday 00:30 CST.
    expect(addWorkingDays(new Date('2026-12-11T16:30:00Z'), 1).toISOString()).to.equal('2026-12-13T16:30:00.000Z');
  });

  it('when zero days are asked, then the instant is unchanged', () => {
    const at = new Date('2026-12-09T01:00:00Z');
    expect(addWorkingDays(at, 0).getTime()).to.equal(at.getTime());
  });
});
