/** Dates as ISO YYYY-MM-DD strings (calendar dates, no time zone). Pure. */

/** True for a real calendar date written YYYY-MM-DD. */
export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
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

function toDays(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / 86_400_000);
}

/** Whole days from a to b (negative when b is before a). */
export function daysBetween(a: string, b: string): number {
  return toDays(b) - toDays(a);
}

/** Completed years of age on a date (a 29 February birthday has its birthday on 1 March in other years). */
export function ageInYears(dateOfBirth: string, on: string): number {
  const [by, bm, bd] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const [oy, om, od] = on.split('-').map(Number) as [number, number, number];
  let age = oy - by;
  if (om < bm || (om === bm && od < bd)) age--;
  return age;
}

/** Add whole days to an ISO date. */
export function addDays(date: string, days: number): string {
  return new Date((toDays(date) + days) * 86_400_000).toISOString().slice(0, 10);
}
