/** China Standard Time: UTC+8, no daylight saving. */
const CST = 8 * 3_600_000;
const DAY = 86_400_000;

/**
 * `at` plus `days` working days (Monday to Friday, China Standard Time), at the same time of day.
 * Public holidays and the State Council's swapped working weekends are not modelled: a notice
 * over a public holiday ends before the rule's count, so staff give such a call more notice days.
 */
export function addWorkingDays(at: Date, days: number): Date {
  let t = at.getTime();
  let left = days;
  while (left > 0) {
    t += DAY;
    const weekday = new Date(t + CST).getUTCDay();
    if (weekday !== 0 && weekday !== 6) left--;
  }
  return new Date(t);
}
