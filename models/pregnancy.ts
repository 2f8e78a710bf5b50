/**
 * The "current pregnancy" rule, one home for the families stage (expectant mothers join their family) and the Start
 * Well cohort: a maternity booking on or before the as-at date, whose maternity row has no birth on or before it, and
 * due (estimated delivery date) no more than six weeks before it.
 */
import { addDays } from './dates.ts';
import type { Fact } from './facts.ts';

/** How long after the estimated delivery date a booking with no birth recorded still counts as a pregnancy. */
export const OVERDUE_GRACE_DAYS = 42;

/** The maternity row a booking or birth came from (both facts of one row share it). */
export function maternityRowOf(f: Pick<Fact, 'source' | 'feed' | 'recordRef'>): string {
  return `${f.source}:${f.feed}:${f.recordRef}`;
}

/** The maternity rows with a birth on or before the as-at date. */
export function deliveredRows(
  facts: Iterable<Pick<Fact, 'type' | 'date' | 'source' | 'feed' | 'recordRef'>>,
  asAt: string,
): Set<string> {
  const out = new Set<string>();
  for (const f of facts) if (f.type === 'birth' && f.date <= asAt) out.add(maternityRowOf(f));
  return out;
}

/** Whether a maternity booking is a current pregnancy on the as-at date (`delivered`: deliveredRows of the same facts). */
export function isCurrentPregnancy(
  booking: Pick<Fact, 'type' | 'date' | 'detail' | 'source' | 'feed' | 'recordRef'>,
  asAt: string,
  delivered: ReadonlySet<string>,
): boolean {
  if (booking.type !== 'maternity_booking' || booking.date > asAt) return false;
  const edd = booking.detail.estimated_delivery_date ?? '';
  if (edd && edd < addDays(asAt, -OVERDUE_GRACE_DAYS)) return false;
  return !delivered.has(maternityRowOf(booking));
}
