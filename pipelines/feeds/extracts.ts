/**
 * Which landing extracts a run reads for one feed (pure, over a listing of landing keys):
 *  - snapshot feeds (people, relationships): only the latest extract dated on or before the as-at date;
 *  - incremental feeds (events): every extract dated on or before the as-at date;
 *  - extracts dated after the as-at date are ignored; marker and hidden files (`_READY`, `.x`) are not inputs;
 *  - a key that is not `<source>/<feed>/dt=<YYYY-MM-DD>/<name>` is reported as misplaced.
 */
import { isIsoDate } from '../../matching/standardise/dates.ts';
import type { FeedKind } from './catalogue.ts';

export interface ExtractFile {
  key: string;
  extractDate: string;
  /** File name inside the dt= folder. */
  name: string;
  size: number;
}

export interface ExtractSelection {
  selected: ExtractFile[];
  /** Extracts dated after the as-at date. */
  later: ExtractFile[];
  /** Snapshot feeds: earlier extracts replaced by the latest one. */
  superseded: ExtractFile[];
  /** Keys under the feed that are not in a dt=YYYY-MM-DD folder (or nested deeper). */
  misplaced: Array<{ key: string; size: number; problem: string }>;
}

export function isSnapshot(kind: FeedKind): boolean {
  return kind !== 'events';
}

export function selectExtracts(source: string, feed: string, kind: FeedKind, listing: ReadonlyArray<{ key: string; size: number }>, asAt: string): ExtractSelection {
  const prefix = `${source}/${feed}/`;
  const files: ExtractFile[] = [];
  const misplaced: ExtractSelection['misplaced'] = [];
  for (const o of listing) {
    if (!o.key.startsWith(prefix)) continue;
    const rest = o.key.slice(prefix.length).split('/');
    const base = rest[rest.length - 1]!;
    if (base.startsWith('_') || base.startsWith('.')) continue;
    const m = rest.length === 2 ? /^dt=(\d{4}-\d{2}-\d{2})$/.exec(rest[0]!) : null;
    if (!m || !isIsoDate(m[1]!)) {
      misplaced.push({ key: o.key, size: o.size, problem: `not in a dt=<YYYY-MM-DD> extract folder directly under ${prefix}` });
      continue;
    }
    files.push({ key: o.key, extractDate: m[1]!, name: base, size: o.size });
  }
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const later = files.filter((f) => f.extractDate > asAt);
  let selected = files.filter((f) => f.extractDate <= asAt);
  let superseded: ExtractFile[] = [];
  if (isSnapshot(kind) && selected.length > 0) {
    const latest = selected.reduce((d, f) => (f.extractDate > d ? f.extractDate : d), '');
    superseded = selected.filter((f) => f.extractDate !== latest);
    selected = selected.filter((f) => f.extractDate === latest);
  }
  return { selected, later, superseded, misplaced };
}
