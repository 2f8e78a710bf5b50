/**
 * Provider references that carry a clear identifier (a name, a surname next to a date of birth, a postcode, a date of
 * birth used as a ref: `Hamza.Butt.DA1`, `BUTT-1996-10-26`) are replaced, before anything is built from them, by a
 * keyed pseudonymous reference: `pref-` and 16 digits of HMAC-SHA256(partnership ref key, the ref). Digits only, so a
 * pseudonym can never read as a name, a postcode or a date. The same ref always gives the same pseudonym (the key is
 * kept across runs), so record ids, fact ids and target-list evidence stay stable and joinable.
 *
 * The key and the lookup table (pseudonym -> source, feed, column, clear ref) stay in the secure zone: authorised
 * staff re-identify a ref there (`locality ref-lookup`); nothing outside the secure zone holds the clear ref.
 * Pure functions here; the stage's I/O is in stages/standardise/refs.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';
import { KIND_LABELS, type IdentifierIndex, type IdentifierKind } from './identifiers.ts';
import { checkUnit } from './scan.ts';

/** The partnership's ref key in the secure zone (no as-at date: one key for every run, so pseudonyms are stable). */
export const REF_KEY_KEY = keys.refKey;

/** The secure-zone lookup table of a run's as-at date: one JSON line per pseudonymised ref. */
export const refLookupKey = keys.refLookup;

export const PSEUDONYM = /^pref-\d{16}$/;

/** The ref key, created (32 random bytes, hex) the first time any run needs it; every later run reads the same one. */
export async function loadRefKey(secure: ObjectStore): Promise<Buffer> {
  if (!(await secure.exists(REF_KEY_KEY))) await secure.putIfAbsent(REF_KEY_KEY, `${randomBytes(32).toString('hex')}\n`);
  const hex = (await secure.get(REF_KEY_KEY)).toString('utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`ref key ${REF_KEY_KEY} in ${secure.location}: not 64 hex characters (restore it from the key backup; do not edit it)`);
  return Buffer.from(hex, 'hex');
}

export function pseudonymOf(key: Buffer, ref: string): string {
  const mac = createHmac('sha256', key).update(ref, 'utf8').digest();
  return `pref-${(mac.readBigUInt64BE(0) % 10_000_000_000_000_000n).toString().padStart(16, '0')}`;
}

/** A ref as the checker sees it: where it was delivered. */
export interface DeliveredRef {
  source: string;
  feed: string;
  column: string;
  ref: string;
}

/** One row of the lookup table. */
export interface RefLookupRow extends DeliveredRef {
  pseudonym: string;
  /** What the ref carried (labels of the identifier kinds, never the value). */
  carries: string[];
}

/** The identifier kinds a ref carries, read as the privacy scan reads a reference column ([] when none). */
export function identifiersInRef(ix: IdentifierIndex, ref: string, vocabulary: ReadonlySet<string>): IdentifierKind[] {
  return checkUnit(ix, { location: '', field: 'record_ref', text: ref, position: 'data' }, vocabulary).map((h) => h.kind);
}

/**
 * The refs to replace: each delivered ref that carries an identifier, with its pseudonym. A ref seen in several
 * columns or feeds gets one pseudonym (the map) and one lookup row per place it was delivered.
 */
export function pseudonymiseRefs(ix: IdentifierIndex, key: Buffer, refs: Iterable<DeliveredRef>, vocabulary: ReadonlySet<string>): { map: Map<string, string>; lookup: RefLookupRow[] } {
  const map = new Map<string, string>();
  const lookup: RefLookupRow[] = [];
  const clean = new Set<string>();
  const byPseudonym = new Map<string, string>();
  const carries = new Map<string, string[]>();
  for (const r of refs) {
    if (!r.ref || clean.has(r.ref)) continue;
    const known = map.get(r.ref);
    const kinds = known ? [] : identifiersInRef(ix, r.ref, vocabulary);
    if (!known && kinds.length === 0) {
      clean.add(r.ref);
      continue;
    }
    const pseudonym = known ?? pseudonymOf(key, r.ref);
    const other = byPseudonym.get(pseudonym);
    if (other !== undefined && other !== r.ref) throw new Error(`ref pseudonyms: two refs of ${r.source}/${r.feed} share a pseudonym (${pseudonym}): rotate the ref key`);
    byPseudonym.set(pseudonym, r.ref);
    map.set(r.ref, pseudonym);
    if (kinds.length) carries.set(pseudonym, kinds.map((k) => KIND_LABELS[k]));
    lookup.push({ ...r, pseudonym, carries: carries.get(pseudonym)! });
  }
  lookup.sort((a, b) => (a.pseudonym < b.pseudonym ? -1 : a.pseudonym > b.pseudonym ? 1 : a.source + a.feed + a.column < b.source + b.feed + b.column ? -1 : 1));
  return { map, lookup };
}
