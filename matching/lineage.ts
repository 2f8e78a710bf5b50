/**
 * Stable ids with lineage: this run's groups (a person's records, a family's persons) take over the ids the
 * previous run gave the same members, so an id lasts as long as the group it names.
 *
 * - A group keeps its id when it gains or loses members.
 * - A previous id whose members are now in several groups (a split) goes to the part holding most of them
 *   (ties: the part whose smallest member sorts first); the other parts get new ids.
 * - A group holding the heirs of several previous ids (a merge) keeps the oldest of them (earliest `since`;
 *   ties: the one it shares most members with, then the smaller id); the others are retired into it.
 * - A previous id none of whose members is left is retired; a group sharing no member with the previous run is new.
 * New ids are minted deterministically from what names the group (a person's smallest record id, a family's first
 * anchor) and the as-at date, never reusing an id of the previous run. Same groups + same previous run = same ids, byte for byte.
 */
import { cmp } from '../models/order.ts';

export type LineageKind = 'kept' | 'new' | 'merge' | 'split' | 'retired';

export interface LineageRow {
  id: string;
  kind: LineageKind;
  /** The as-at date the id was first given (for a retired id: when it was given, as the previous run said). */
  since: string;
  /** Previous ids whose members this group holds (sorted). */
  fromIds: string[];
  /** Retired id: the id its members went to (none when they all left); split: every id now holding its members. */
  toIds: string[];
}

export interface Previous {
  /** member -> the id the previous run gave its group */
  idOf: ReadonlyMap<string, string>;
  /** every id of the previous run -> the as-at date it was first given */
  since: ReadonlyMap<string, string>;
}

export interface CarryOverResult {
  /** One id per group, in the groups' order. */
  ids: string[];
  /** One row per current id plus one per retired id, sorted by id. */
  lineage: LineageRow[];
  counts: { kept: number; new: number; merges: number; splits: number; split_parts: number; retired: number };
}

/** The smallest member of each group (its deterministic name), and overlaps with previous ids. */
function overlaps(groups: ReadonlyArray<readonly string[]>, prev: Previous) {
  const smallest: string[] = [];
  const shared: Array<Map<string, number>> = [];
  for (const members of groups) {
    let s = '';
    const m = new Map<string, number>();
    for (const x of members) {
      if (s === '' || x < s) s = x;
      const p = prev.idOf.get(x);
      if (p !== undefined) m.set(p, (m.get(p) ?? 0) + 1);
    }
    smallest.push(s);
    shared.push(m);
  }
  return { smallest, shared };
}

/** For each previous id, the group holding most of its members (ties: the group with the smaller smallest member). */
function heirsOf(shared: ReadonlyArray<Map<string, number>>, smallest: readonly string[]) {
  const heir = new Map<string, number>();
  const parts = new Map<string, number[]>();
  shared.forEach((m, g) => {
    for (const [p, n] of m) {
      const l = parts.get(p);
      if (l) l.push(g);
      else parts.set(p, [g]);
      const h = heir.get(p);
      if (h === undefined || n > shared[h]!.get(p)! || (n === shared[h]!.get(p)! && smallest[g]! < smallest[h]!))
        heir.set(p, g);
    }
  });
  return { heir, parts };
}

/**
 * Ids for this run's groups. `mint(group, salt)` makes a new id for group (its index) from what names it (salt null on
 * a first run, so a first run's ids are what they were before ids carried over; else the as-at date, then a counter
 * on a clash with an id already used).
 */
export function carryOverIds(
  groups: ReadonlyArray<readonly string[]>,
  prev: Previous | null,
  asAt: string,
  mint: (group: number, salt: string | null) => string,
): CarryOverResult {
  const previous: Previous = prev ?? { idOf: new Map(), since: new Map() };
  const { smallest, shared } = overlaps(groups, previous);
  const { heir, parts } = heirsOf(shared, smallest);
  const used = new Set(previous.since.keys());
  const ids: string[] = new Array<string>(groups.length);
  const since: string[] = new Array<string>(groups.length);
  const sinceOf = (p: string) => previous.since.get(p) ?? asAt;
  // groups that inherit: the oldest previous id among those whose heir they are
  shared.forEach((m, g) => {
    const mine = [...m.keys()].filter((p) => heir.get(p) === g);
    if (mine.length === 0) return;
    mine.sort((a, b) => cmp(sinceOf(a), sinceOf(b)) || m.get(b)! - m.get(a)! || cmp(a, b));
    ids[g] = mine[0]!;
    since[g] = sinceOf(mine[0]!);
  });
  for (const id of ids) if (id !== undefined) used.add(id);
  // the rest get new ids
  const order = groups
    .map((_, g) => g)
    .filter((g) => ids[g] === undefined)
    .sort((a, b) => cmp(smallest[a]!, smallest[b]!));
  for (const g of order) {
    let id = mint(g, prev ? asAt : null);
    for (let k = 1; used.has(id); k++) id = mint(g, `${asAt}#${k}`);
    used.add(id);
    ids[g] = id;
    since[g] = asAt;
  }
  return { ids, ...lineageOf(ids, since, shared, heir, parts, previous) };
}

function lineageOf(
  ids: readonly string[],
  since: readonly string[],
  shared: ReadonlyArray<Map<string, number>>,
  heir: Map<string, number>,
  parts: Map<string, number[]>,
  prev: Previous,
): Omit<CarryOverResult, 'ids'> {
  const counts = { kept: 0, new: 0, merges: 0, splits: 0, split_parts: 0, retired: 0 };
  const lineage: LineageRow[] = [];
  const partIds = (p: string) => (parts.get(p) ?? []).map((g) => ids[g]!).sort(cmp);
  ids.forEach((id, g) => {
    const fromIds = [...shared[g]!.keys()].sort(cmp);
    const splitFrom = fromIds.filter((p) => parts.get(p)!.length > 1);
    let kind: LineageKind;
    if (fromIds.length === 0) kind = 'new';
    else if (fromIds.length > 1) kind = 'merge';
    else if (splitFrom.length > 0) kind = 'split';
    else kind = 'kept';
    if (kind === 'new') counts.new += 1;
    if (kind === 'merge') counts.merges += 1;
    if (fromIds.length > 0 && !fromIds.includes(id)) counts.split_parts += 1;
    const toIds = kind === 'split' ? partIds(splitFrom[0]!) : [];
    lineage.push({ id, kind, since: since[g]!, fromIds, toIds });
  });
  for (const [p, s] of prev.since) {
    const h = heir.get(p);
    if (h !== undefined && ids[h] === p) {
      counts.kept += 1;
      if (parts.get(p)!.length > 1) counts.splits += 1;
      continue;
    }
    if (h !== undefined && parts.get(p)!.length > 1) counts.splits += 1;
    counts.retired += 1;
    lineage.push({ id: p, kind: 'retired', since: s, fromIds: [], toIds: h === undefined ? [] : [ids[h]!] });
  }
  lineage.sort((a, b) => cmp(a.id, b.id) || cmp(a.kind, b.kind));
  return { lineage, counts };
}
