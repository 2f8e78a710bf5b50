/**
 * The landing inventory: what happens to every entry under landing for one as-at date (pure, over a store's
 * inventory). Each entry is `read`, `rejected` with a reason, or `ignored` with a reason; nothing is left out.
 * `prepare` (the run's inputs and feeds), `validate` (per-feed counts) and the CLI's default as-at date all
 * classify with this one function, so they cannot disagree. The rules (docs/landing.md):
 *
 *  ignored   marker        a name starting with `_` (`_READY`, `_SUCCESS`)
 *            hidden        a name (or a folder on its path) starting with `.`
 *            temp_file     an in-progress or editor file: `*.partial`, `*.part`, `*.tmp`, `*.crdownload`, `*.swp`, `~$*`, `*~`
 *            not_in_feed   a file at the top of landing or directly in a source folder (not `<source>/<feed>/...`)
 *            empty_folder  an empty folder (S3: a folder marker with nothing under it) not where a file belongs
 *            after_as_at   in a dt= folder dated after the as-at date
 *            superseded_snapshot  a people/relationships extract older than the feed's latest readable one
 *  rejected  symlink       a symbolic link, to a file or a folder, anywhere: never followed (policy)
 *            not_regular_file  a device, pipe or socket
 *            folder_not_file   a folder inside a dt= folder, where only files belong (e.g. an empty `people.csv/`)
 *            bad_extract_folder  not directly in a `dt=<YYYY-MM-DD>` folder with a real date (`dt=latest`, `dt=2025-02-30`, `2025-01-10`)
 *            nested_folder  in a folder inside the dt= folder
 *            unknown_feed   `<source>/<feed>` is not in the feed catalogue
 *            not_csv        the name does not end in `.csv`
 *            empty_file     zero bytes
 *            name_collision  two names in one dt= folder that are the same once case and Unicode are folded
 *                           (NFKC, case-folded, `.csv` dropped): `incidents.csv` and `incidents.CSV`. All of them are
 *                           rejected: they would write one output, and which one wins is not the provider's intent.
 *  read      every other file: a readable extract (validate may still reject it for what is inside).
 * A snapshot feed reads its latest dt= folder holding a readable extract; a rejected entry in a later folder is
 * reported and does not hide the earlier snapshot.
 */
import { isIsoDate } from '../../matching/standardise/dates.ts';
import type { StoreEntry } from '../io/object-store.ts';
import { findFeed, SOURCES, type FeedKind } from './catalogue.ts';

export const IGNORE_REASONS = [
  'marker',
  'hidden',
  'temp_file',
  'not_in_feed',
  'empty_folder',
  'after_as_at',
  'superseded_snapshot',
] as const;
export type IgnoreReason = (typeof IGNORE_REASONS)[number];
export const ENTRY_REJECT_REASONS = [
  'symlink',
  'not_regular_file',
  'folder_not_file',
  'bad_extract_folder',
  'nested_folder',
  'unknown_feed',
  'not_csv',
  'empty_file',
  'name_collision',
] as const;
export type EntryRejectReason = (typeof ENTRY_REJECT_REASONS)[number];

export interface LandingEntry {
  key: string;
  size: number;
  kind: StoreEntry['kind'];
  outcome: 'read' | 'rejected' | 'ignored';
  /** Why it is rejected or ignored (absent for read entries). */
  reason?: IgnoreReason | EntryRejectReason;
  /** One sentence naming the problem (no file content: safe for logs and the manifest). */
  detail?: string;
  /** `<source>/<feed>/` the entry is under, when it is under one. */
  source?: string;
  feed?: string;
  /** A real date from its dt= folder ('' when there is none). */
  extractDate: string;
  /** The file name inside the dt= folder. */
  name: string;
  /** The feed's kind, when the feed is in the catalogue. */
  feedKind?: FeedKind;
}

const TEMP_NAME = /(\.partial|\.part|\.tmp|\.crdownload|\.swp)$|^~\$|~$/i;
const DT = /^dt=(.*)$/;

/** The name as compared for collisions: `.csv` dropped, NFKC, case-folded (upper then lower folds ß to ss). */
export function foldedName(name: string): string {
  return name
    .replace(/\.csv$/i, '')
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC');
}

function entry(e: StoreEntry, fields: Partial<LandingEntry>): LandingEntry {
  const parts = e.key.split('/');
  return {
    key: e.key,
    size: e.size,
    kind: e.kind,
    outcome: 'read',
    extractDate: '',
    name: parts[parts.length - 1]!,
    ...fields,
  };
}

const rejected = (reason: EntryRejectReason, detail: string): Partial<LandingEntry> => ({
  outcome: 'rejected',
  reason,
  detail,
});
const ignored = (reason: IgnoreReason, detail: string): Partial<LandingEntry> => ({
  outcome: 'ignored',
  reason,
  detail,
});

/** The outcome of one entry on its own (collisions and snapshots need the others: see classifyLanding). */
function classifyOne(e: StoreEntry, asAt: string): LandingEntry {
  const parts = e.key.split('/');
  const base = parts[parts.length - 1]!;
  if (parts.some((p) => p.startsWith('.'))) return entry(e, ignored('hidden', 'a hidden name (starting with ".")'));
  if (base.startsWith('_') && e.kind !== 'folder')
    return entry(e, ignored('marker', 'a marker file (starting with "_"), not an extract'));
  if (TEMP_NAME.test(base) && e.kind === 'file')
    return entry(e, ignored('temp_file', 'an in-progress or temporary file, not an extract'));
  const [source, feed, folder] = parts;
  const where = parts.length >= 2 ? { source: source!, feed: feed! } : {};
  const dt = folder !== undefined ? DT.exec(folder) : null;
  const extractDate = dt && isIsoDate(dt[1]!) ? dt[1]! : '';
  const at = {
    ...where,
    extractDate,
    ...(source && feed && findFeed(source, feed) ? { feedKind: findFeed(source, feed)!.kind } : {}),
  };
  const later = extractDate !== '' && extractDate > asAt;
  if (e.kind === 'folder') {
    if (parts.length >= 4 && !later)
      return entry(e, { ...at, ...rejected('folder_not_file', 'an empty folder where an extract file belongs') });
    return entry(e, { ...at, ...ignored('empty_folder', 'an empty folder') });
  }
  if (later)
    return entry(e, { ...at, ...ignored('after_as_at', `dated ${extractDate}, after the as-at date ${asAt}`) });
  if (e.kind === 'symlink')
    return entry(e, {
      ...at,
      ...rejected(
        'symlink',
        'a symbolic link: landing reads plain files only and never follows links (copy the file in)',
      ),
    });
  if (e.kind === 'special')
    return entry(e, { ...at, ...rejected('not_regular_file', 'not a plain file (a device, pipe or socket)') });
  if (parts.length < 3) return entry(e, ignored('not_in_feed', 'not under a <source>/<feed>/ folder'));
  const prefix = `${source}/${feed}/`;
  if (!extractDate) {
    const detail = dt
      ? `"${folder}" is not a real extract date: not in a dt=<YYYY-MM-DD> extract folder directly under ${prefix}`
      : `not in a dt=<YYYY-MM-DD> extract folder directly under ${prefix}`;
    return entry(e, { ...at, ...rejected('bad_extract_folder', detail) });
  }
  if (parts.length > 4)
    return entry(e, {
      ...at,
      ...rejected(
        'nested_folder',
        `not in a dt=<YYYY-MM-DD> extract folder directly under ${prefix} (in a folder inside it)`,
      ),
    });
  if (!at.feedKind) {
    const known = (SOURCES as readonly string[]).includes(source!)
      ? `source ${source} has no feed "${feed}"`
      : `unknown source "${source}"`;
    return entry(e, {
      ...at,
      ...rejected('unknown_feed', `unknown feed ${source}/${feed} (${known}; see docs/feeds)`),
    });
  }
  if (!/\.csv$/i.test(base))
    return entry(e, { ...at, ...rejected('not_csv', 'not a .csv file (providers send CSV: see docs/feeds)') });
  if (e.size === 0) return entry(e, { ...at, ...rejected('empty_file', 'empty file: no header row') });
  return entry(e, at);
}

/** Classify every entry of a landing inventory for an as-at date; sorted by key. */
export function classifyLanding(inventory: readonly StoreEntry[], asAt: string): LandingEntry[] {
  // A folder marker with entries under it is structure, not an entry of its own.
  const parents = new Set<string>();
  for (const e of inventory) {
    const parts = e.key.split('/');
    for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join('/'));
  }
  const hasChildren = (k: string) => parents.has(k);
  const out = inventory.filter((e) => e.kind !== 'folder' || !hasChildren(e.key)).map((e) => classifyOne(e, asAt));
  rejectCollisions(out);
  supersedeSnapshots(out);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function rejectCollisions(entries: LandingEntry[]): void {
  const groups = new Map<string, LandingEntry[]>();
  for (const e of entries) {
    if (e.outcome !== 'read') continue;
    const g = `${e.source}/${e.feed}/${e.extractDate}/${foldedName(e.name)}`;
    groups.set(g, [...(groups.get(g) ?? []), e]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const e of group) {
      e.outcome = 'rejected';
      e.reason = 'name_collision';
      e.detail = `its name collides with ${group
        .filter((o) => o !== e)
        .map((o) => `"${o.name}"`)
        .join(', ')} once case and Unicode are folded: both would write one output; rename one`;
    }
  }
}

function supersedeSnapshots(entries: LandingEntry[]): void {
  const latest = new Map<string, string>();
  for (const e of entries) {
    if (e.outcome !== 'read' || e.feedKind === 'events') continue;
    const f = `${e.source}/${e.feed}`;
    if (e.extractDate > (latest.get(f) ?? '')) latest.set(f, e.extractDate);
  }
  for (const e of entries) {
    if (e.outcome !== 'read' || e.feedKind === 'events') continue;
    const newest = latest.get(`${e.source}/${e.feed}`)!;
    if (e.extractDate !== newest)
      Object.assign(e, ignored('superseded_snapshot', `replaced by the ${newest} extract of this snapshot feed`));
  }
}

/** Counts of a classified inventory. */
export function landingTotals(entries: readonly LandingEntry[]): {
  objects: number;
  read: number;
  rejected: number;
  ignored: number;
} {
  const n = (o: LandingEntry['outcome']) => entries.filter((e) => e.outcome === o).length;
  return { objects: entries.length, read: n('read'), rejected: n('rejected'), ignored: n('ignored') };
}

/** The latest extract date holding a readable extract of a known feed (empty or rejected folders do not count). */
export function latestReadableDate(inventory: readonly StoreEntry[]): string | undefined {
  let latest: string | undefined;
  for (const e of classifyLanding(inventory, '9999-12-31')) {
    if ((e.outcome === 'read' || e.reason === 'superseded_snapshot') && (!latest || e.extractDate > latest))
      latest = e.extractDate;
  }
  return latest;
}

/** The (source, feed) pairs validate runs over: every feed with an entry read or rejected. */
export function feedsToValidate(entries: readonly LandingEntry[]): Array<{ source: string; feed: string }> {
  const seen = new Map<string, { source: string; feed: string }>();
  for (const e of entries) {
    if (e.outcome === 'ignored' || e.source === undefined || e.feed === undefined) continue;
    seen.set(`${e.source}/${e.feed}`, { source: e.source, feed: e.feed });
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
}

/**
 * A run needs someone to match: refuses an as-at date with no people feed extract on or before it (every
 * people feed's extracts rejected, ignored or dated later), naming what was found instead.
 */
export function assertPeopleFeed(entries: readonly LandingEntry[], asAt: string): void {
  if (entries.some((e) => e.outcome === 'read' && e.feedKind === 'people')) return;
  const later = entries
    .filter((e) => e.feedKind === 'people' && e.reason === 'after_as_at')
    .map((e) => e.extractDate)
    .sort();
  const rejectedPeople = entries.filter((e) => e.feedKind === 'people' && e.outcome === 'rejected').length;
  throw new Error(
    `as-at ${asAt}: no readable people feed extract dated on or before ${asAt} (a run matches people: every source's people feed is missing` +
      `${rejectedPeople ? `, or its ${rejectedPeople} entr${rejectedPeople === 1 ? 'y was' : 'ies were'} rejected` : ''})` +
      `${later.length ? `; the earliest people extract is dated ${later[0]}: give --as-at ${later[0]} or later` : ''}`,
  );
}
