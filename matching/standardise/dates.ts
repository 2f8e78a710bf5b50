/** Dates as ISO YYYY-MM-DD strings (calendar dates, no time zone). Pure. */

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True for a real calendar date written YYYY-MM-DD (arithmetic, no Date: this runs once per cell). */
export function isIsoDate(s: string): boolean {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false;
  let y = 0;
  for (let i = 0; i < 4; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return false;
    y = y * 10 + c;
  }
  const m1 = s.charCodeAt(5) - 48,
    m2 = s.charCodeAt(6) - 48,
    d1 = s.charCodeAt(8) - 48,
    d2 = s.charCodeAt(9) - 48;
  if (m1 < 0 || m1 > 9 || m2 < 0 || m2 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return false;
  const m = m1 * 10 + m2;
  const d = d1 * 10 + d2;
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= (m === 2 && leap ? 29 : DAYS_IN_MONTH[m]!);
}

/** A trimmed ISO date, or null when blank or not a real date. */
export function normaliseDate(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const s = raw.trim();
  return isIsoDate(s) ? s : null;
}

/** The same date with day and month swapped, when that is also a real, different date (2020-03-07 -> 2020-07-03). */
export function transposeDayMonth(date: string): string | null {
  if (!isIsoDate(date)) return null;
  const [y, m, d] = date.split('-') as [string, string, string];
  const t = `${y}-${d}-${m}`;
  return t !== date && isIsoDate(t) ? t : null;
}

// Calendar arithmetic has one home, models/dates.ts; the standardisers' callers get it from here too.
export { addDays, ageInYears, daysBetween } from '../../models/dates.ts';
