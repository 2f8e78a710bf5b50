/**
 * What changed since the last list: each ranked family's change (new, escalated, de-escalated, unchanged, returned),
 * its previous tier and rank, and how long it has been on the list; the families that left a locality's list and
 * why (below threshold, now statutory, moved locality, no longer a family, or suppressed after a lead's outcome).
 *
 * Pure: compares this run's lists with the previous run's list state (the published target-lists/state.json, or
 * one rebuilt from the previous run's curated tables). "Previous" is the latest earlier run that completed, so a
 * missing month compares with the month before it, and months on the list count calendar months, not runs.
 */
import type { CellValue } from './csv.ts';
import type { LocalityList, TargetFamily } from './build.ts';
import { cmp } from '../../../models/order.ts';

export const CHANGES = ['new', 'escalated', 'de-escalated', 'unchanged', 'returned'] as const;
export type Change = (typeof CHANGES)[number];

export const LEFT_REASONS = [
  'below threshold',
  'now statutory',
  'moved locality',
  'no longer a family',
  'suppressed',
] as const;
export type LeftReason = (typeof LEFT_REASONS)[number];

export interface ListEntry {
  familyId: string;
  locality: string;
  tier: string;
  rank: number;
  /** The as-at date of the first run of the family's current spell on the list. */
  since: string;
}

/** What a run's lists were, for the next run (published as target-lists/state.json: pseudonymous ids only). */
export interface ListState {
  asAt: string;
  listed: ListEntry[];
  /** Every family id ranked in this run or any earlier one (to tell "returned" from "new"). */
  everListed: string[];
}

export interface FamilyChange {
  change: Change;
  previousTier: string | null;
  previousRank: number | null;
  previousLocality: string | null;
  since: string;
  monthsOnList: number;
}

export interface LeftFamily {
  familyId: string;
  locality: string;
  previousTier: string;
  previousRank: number;
  reason: LeftReason;
  /** Where the family is now, in words (ids, tiers and localities only). */
  detail: string;
}

export interface ListChanges {
  previousAsAt: string | null;
  changes: Map<string, FamilyChange>;
  left: LeftFamily[];
  state: ListState;
}

/** Whole calendar months from one as-at date to another, counting both ends' months (same month = 1). */
export function monthsOn(since: string, asAt: string): number {
  return (
    (Number(asAt.slice(0, 4)) - Number(since.slice(0, 4))) * 12 +
    Number(asAt.slice(5, 7)) -
    Number(since.slice(5, 7)) +
    1
  );
}

function changeOf(
  f: { tier: string | null },
  prev: ListEntry | undefined,
  everListed: ReadonlySet<string>,
  familyId: string,
  tierOrder: readonly string[],
): Change {
  if (!prev) return everListed.has(familyId) ? 'returned' : 'new';
  const now = tierOrder.indexOf(f.tier ?? '');
  const before = tierOrder.indexOf(prev.tier);
  return now < before ? 'escalated' : now > before ? 'de-escalated' : 'unchanged';
}

export interface ChangeInputs {
  asAt: string;
  lists: readonly LocalityList[];
  /** Every family of this run (listed or not), by id. */
  families: ReadonlyMap<string, TargetFamily>;
  previous: ListState | null;
  /** Tier names, highest first. */
  tierOrder: readonly string[];
  /** Family ids retired this run -> the id their members went to (id_lineage). */
  retiredInto: ReadonlyMap<string, string>;
  /** Families kept off the list by a lead's outcome (family id -> why, in words). */
  suppressed?: ReadonlyMap<string, string>;
}

export function listChanges(o: ChangeInputs): ListChanges {
  const prevById = new Map((o.previous?.listed ?? []).map((e) => [e.familyId, e]));
  const everBefore = new Set(o.previous?.everListed ?? []);
  const changes = new Map<string, FamilyChange>();
  const listed: ListEntry[] = [];
  const rankedIn = new Map<string, string>();
  for (const l of o.lists) {
    for (const f of l.ranked) {
      const prev = prevById.get(f.familyId);
      const since = prev ? prev.since : o.asAt;
      changes.set(f.familyId, {
        change: changeOf(f, prev, everBefore, f.familyId, o.tierOrder),
        previousTier: prev?.tier ?? null,
        previousRank: prev?.rank ?? null,
        previousLocality: prev?.locality ?? null,
        since,
        monthsOnList: monthsOn(since, o.asAt),
      });
      listed.push({ familyId: f.familyId, locality: l.locality, tier: f.tier ?? '', rank: f.rank, since });
      rankedIn.set(f.familyId, l.locality);
    }
  }
  const left: LeftFamily[] = [];
  for (const e of o.previous?.listed ?? []) {
    if (rankedIn.get(e.familyId) === e.locality) continue;
    left.push({
      familyId: e.familyId,
      locality: e.locality,
      previousTier: e.tier,
      previousRank: e.rank,
      ...whyLeft(e, o, rankedIn),
    });
  }
  left.sort((a, b) => cmp(a.locality, b.locality) || a.previousRank - b.previousRank || cmp(a.familyId, b.familyId));
  const everListed = [...new Set([...everBefore, ...listed.map((x) => x.familyId)])].sort(cmp);
  listed.sort((a, b) => cmp(a.familyId, b.familyId));
  return { previousAsAt: o.previous?.asAt ?? null, changes, left, state: { asAt: o.asAt, listed, everListed } };
}

function whyLeft(
  e: ListEntry,
  o: ChangeInputs,
  rankedIn: ReadonlyMap<string, string>,
): { reason: LeftReason; detail: string } {
  const f = o.families.get(e.familyId);
  if (!f) {
    const into = o.retiredInto.get(e.familyId);
    return {
      reason: 'no longer a family',
      detail: into ? `its members are now in family ${into}` : 'its members are in no family now',
    };
  }
  const why = o.suppressed?.get(e.familyId);
  if (why) return { reason: 'suppressed', detail: why };
  if (f.openToStatutory)
    return {
      reason: 'now statutory',
      detail: `open to statutory services (${[...new Set(f.statutoryEvidence.map((s) => s.feed))].sort(cmp).join(', ') || 'episode'})`,
    };
  if (f.locality !== e.locality) {
    const there = rankedIn.get(e.familyId);
    return {
      reason: 'moved locality',
      detail: there
        ? `now on the ${there} list (tier ${f.tier})`
        : `now in ${f.locality}, not listed (score ${f.score})`,
    };
  }
  return { reason: 'below threshold', detail: `score ${f.score}, below the lowest tier` };
}

/** The previous run's list state rebuilt from its lists (a run from before list states were published). */
export function stateFromLists(asAt: string, lists: readonly LocalityList[]): ListState {
  const listed = lists.flatMap((l) =>
    l.ranked.map((f) => ({
      familyId: f.familyId,
      locality: l.locality,
      tier: f.tier ?? '',
      rank: f.rank,
      since: asAt,
    })),
  );
  listed.sort((a, b) => cmp(a.familyId, b.familyId));
  return { asAt, listed, everListed: listed.map((x) => x.familyId) };
}

// ---- the columns and rows the files get ----------------------------------------------------------------------

export const CHANGE_HEADER = ['change', 'previous_tier', 'previous_rank', 'months_on_list'];

/** The change cells for a ranked family (every ranked family has a change). */
export function changeCells(c: ListChanges, familyId: string): CellValue[] {
  const x = c.changes.get(familyId);
  if (!x) throw new Error(`target lists: family ${familyId} is ranked but has no change since the last list`);
  return [x.change, x.previousTier, x.previousRank, x.monthsOnList];
}

export const LEFT_HEADER = ['family_id', 'previous_tier', 'previous_rank', 'reason', 'detail'];

export function leftRows(c: ListChanges, locality: string): CellValue[][] {
  return c.left
    .filter((l) => l.locality === locality)
    .map((l) => [l.familyId, l.previousTier, l.previousRank, l.reason, l.detail]);
}

/** Counts per locality: each change, and each reason for leaving. */
export function changeCounts(
  c: ListChanges,
  lists: readonly LocalityList[],
): Array<{ locality: string } & Record<Change | LeftReason | 'left', number>> {
  return lists.map((l) => {
    const row = { locality: l.locality, left: 0 } as { locality: string } & Record<
      Change | LeftReason | 'left',
      number
    >;
    for (const k of CHANGES) row[k] = 0;
    for (const k of LEFT_REASONS) row[k] = 0;
    for (const f of l.ranked) row[c.changes.get(f.familyId)!.change] += 1;
    for (const x of c.left)
      if (x.locality === l.locality) {
        row[x.reason] += 1;
        row.left += 1;
      }
    return row;
  });
}
