/** Calendar arithmetic on ISO dates (YYYY-MM-DD), in UTC, with no time zones and no clocks. */

function parts(iso: string): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new Error(`not an ISO date (YYYY-MM-DD): "${iso}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function fmt(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Adds (or, negative, subtracts) whole months; the day is clamped to the month's length (31 Mar - 1 month = 28/29 Feb). */
export function addMonths(iso: string, months: number): string {
  const [y, m, d] = parts(iso);
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  return fmt(ny, nm, Math.min(d, daysInMonth(ny, nm)));
}

export function addDays(iso: string, days: number): string {
  const [y, m, d] = parts(iso);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return fmt(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

/** Whole days from a to b (negative when b is before a). */
export function daysBetween(a: string, b: string): number {
  const [ay, am, ad] = parts(a);
  const [by, bm, bd] = parts(b);
  return Math.round((Date.UTC(by, bm - 1, bd) - Date.UTC(ay, am - 1, ad)) / 86_400_000);
}

/** Whole years from dateOfBirth to asAt (a birthday on the as-at date counts). */
export function ageInYears(dateOfBirth: string, asAt: string): number {
  const [by, bm, bd] = parts(dateOfBirth);
  const [ay, am, ad] = parts(asAt);
  let age = ay - by;
  if (am < bm || (am === bm && ad < bd)) age -= 1;
  return age;
}

/** Whole months from a to b (b >= a gives >= 0). */
export function monthsBetween(a: string, b: string): number {
  const [ay, am, ad] = parts(a);
  const [by, bm, bd] = parts(b);
  let n = (by - ay) * 12 + (bm - am);
  if (bd < ad) n -= 1;
  return n;
}

export function yearMonth(iso: string): string {
  return iso.slice(0, 7);
}

/** The `count` calendar months ending with the month of `iso`, oldest first (YYYY-MM). */
export function monthsEnding(iso: string, count: number): string[] {
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) out.push(yearMonth(addMonths(`${yearMonth(iso)}-01`, -i)));
  return out;
}
