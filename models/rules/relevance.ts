/**
 * Which facts can affect a score at all. A fact of a type no rule reads, or one that began and ended before every
 * look-back window of the rules reading its type, fires no rule and is no statutory evidence: scoring without it gives
 * the same result (the engine still applies each rule's own tests), and it need not be held or filtered per rule.
 * Pure.
 */
import type { Fact } from '../facts.ts';
import { STATUTORY_FACT_TYPE, windowStart, type ScoringSettings } from './engine.ts';
import type { RuleSet } from './schema.ts';

/**
 * A test keeping every fact that any rule (any timing) or the statutory test could use, as at `settings.asAt`:
 * its type is read by a rule (or is the statutory episode type) and it is dated after, still open at, or ended after
 * the earliest window start of those rules (never later than the as-at date).
 */
export function canAffectScore(
  ruleSet: RuleSet,
  settings: Pick<ScoringSettings, 'asAt'>,
): (f: Pick<Fact, 'type' | 'date' | 'endDate'>) => boolean {
  const asAt = settings.asAt;
  const earliest = new Map<string, string>(); // fact type -> the earliest date that matters
  const widen = (type: string, from: string) => {
    const s = earliest.get(type);
    if (s === undefined || from < s) earliest.set(type, from);
  };
  for (const rule of ruleSet.rules) {
    const start = windowStart(rule, asAt);
    for (const t of rule.facts) widen(t, start < asAt ? start : asAt);
  }
  widen(STATUTORY_FACT_TYPE, asAt);
  return (f) => {
    const from = earliest.get(f.type);
    if (from === undefined) return false;
    // in a window: dated after its start; open at the as-at date: not ended; ended in a window: ended after its start
    return f.date > from || f.endDate === null || f.endDate > from;
  };
}
