/**
 * What leads' outcomes do to the next lists: a family whose latest outcome is `declined` or `not_appropriate` is kept
 * off the ranked list for `suppressMonths` months after that outcome (listed apart, never silently); every ranked
 * family's latest outcome is shown beside it (e.g. "worked_with 2026-02-10, case open since 2026-02-01").
 */
import { z } from 'zod';
import { addMonths } from '../../models/dates.ts';
import type { LocalityList, TargetFamily } from '../reports/target-lists/build.ts';
import type { CellValue } from '../reports/target-lists/csv.ts';
import type { Sheet } from '../reports/target-lists/xlsx.ts';
import { OUTCOMES_SHEET } from './read.ts';
import { OUTCOME_COLUMNS, type OutcomeRow } from './rows.ts';
import { outcomeSettingsSchema, type OutcomeSettings } from './settings.ts';
import { issuesText } from '../../models/zod-issues.ts';

export { outcomeSettingsSchema, type OutcomeSettings } from './settings.ts';

export function outcomeSettingsOf(publish: unknown): OutcomeSettings {
  const r = z
    .object({ outcomes: outcomeSettingsSchema.optional() })
    .loose()
    .safeParse(publish ?? {});
  if (!r.success) throw new Error(`config publish.outcomes: ${issuesText(r.error)}`);
  return r.data.outcomes ?? outcomeSettingsSchema.parse({});
}

const SUPPRESSING = new Set(['declined', 'not_appropriate']);

export interface SuppressedFamily {
  family: TargetFamily;
  locality: string;
  outcome: string;
  date: string;
  /** The first as-at date the family may be ranked again. */
  until: string;
}

export interface ListsWithOutcomes {
  lists: LocalityList[];
  suppressed: SuppressedFamily[];
  /** family id -> its latest outcome in words (ranked and suppressed families) */
  latest: Map<string, string>;
  /** family id -> why it is suppressed, for "left the list" */
  suppressedWhy: Map<string, string>;
}

function describe(r: OutcomeRow): string {
  const kase = r.caseClosed
    ? `, case ${r.caseOpened} to ${r.caseClosed}`
    : r.caseOpened
      ? `, case open since ${r.caseOpened}`
      : '';
  return `${r.outcome} ${r.date}${kase}`;
}

export function applyOutcomes(
  lists: readonly LocalityList[],
  outcomes: readonly OutcomeRow[],
  asAt: string,
  settings: OutcomeSettings,
): ListsWithOutcomes {
  // outcomes come in (family, date) order: the last one per family is its latest
  const last = new Map<string, OutcomeRow>();
  for (const r of outcomes) last.set(r.familyId, r);
  const latest = new Map<string, string>();
  const suppressedWhy = new Map<string, string>();
  const suppressed: SuppressedFamily[] = [];
  const out = lists.map((l) => {
    const kept: Array<TargetFamily & { rank: number }> = [];
    for (const f of l.ranked) {
      const r = last.get(f.familyId);
      if (r) latest.set(f.familyId, describe(r));
      const until = r ? addMonths(r.date, settings.suppressMonths) : '';
      if (r && SUPPRESSING.has(r.outcome) && asAt < until) {
        suppressed.push({ family: f, locality: l.locality, outcome: r.outcome, date: r.date, until });
        suppressedWhy.set(f.familyId, `${r.outcome} on ${r.date}: kept off the list until ${until}`);
      } else kept.push({ ...f, rank: kept.length + 1 });
    }
    return { ...l, ranked: kept };
  });
  return { lists: out, suppressed, latest, suppressedWhy };
}

export const OUTCOME_HEADER = ['lead_outcome'];
export const outcomeCells = (o: ListsWithOutcomes, familyId: string): CellValue[] => [o.latest.get(familyId) ?? null];

export const SUPPRESSED_HEADER = ['family_id', 'tier', 'score', 'outcome', 'outcome_date', 'listed_again_from'];
export function suppressedRows(o: ListsWithOutcomes, locality: string): CellValue[][] {
  return o.suppressed
    .filter((s) => s.locality === locality)
    .map((s) => [s.family.familyId, s.family.tier, s.family.score, s.outcome, s.date, s.until]);
}

/** The XLSX sheet a lead fills in and sends back (`locality outcomes import`): one row per ranked family, outcome blank. */
export function outcomesSheet(familyIds: readonly string[]): Sheet {
  return {
    name: OUTCOMES_SHEET,
    header: [...OUTCOME_COLUMNS],
    rows: familyIds.map((id) => [id, null, null, null, null, null]),
    widths: [15, 12, 18, 24, 12, 12],
  };
}
