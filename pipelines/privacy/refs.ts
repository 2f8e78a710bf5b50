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
import {
  compactPostcode,
  KIND_LABELS,
  normaliseText,
  tokenWords,
  type IdentifierIndex,
  type IdentifierKind,
  type SecurePerson,
} from './identifiers.ts';
import { checkUnit, datesAt, isoDatesIn, POSTCODE_IN_TEXT } from './scan.ts';

/** The partnership's ref key in the secure zone (no as-at date: one key for every run, so pseudonyms are stable). */
export const REF_KEY_KEY = keys.refKey;

/** The secure-zone lookup table of a run's as-at date: one JSON line per pseudonymised ref. */
export const refLookupKey = keys.refLookup;

export const PSEUDONYM = /^pref-\d{16}$/;

/** The ref key, created (32 random bytes, hex) the first time any run needs it; every later run reads the same one. */
export async function loadRefKey(secure: ObjectStore): Promise<Buffer> {
  if (!(await secure.exists(REF_KEY_KEY)))
    await secure.putIfAbsent(REF_KEY_KEY, `${randomBytes(32).toString('hex')}\n`);
  const hex = (await secure.get(REF_KEY_KEY)).toString('utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new Error(
      `ref key ${REF_KEY_KEY} in ${secure.location}: not 64 hex characters (restore it from the key backup; do not edit it)`,
    );
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

/**
 * What a ref needs to share with the secure zone to carry any identifier the scan looks for (names and address
 * lines, their words, dates of birth, full postcodes). Cheap to build (sets, no phrases); a ref it stops cannot carry
 * one, so only the refs it lets through (in generated data: none) are checked with the full index.
 * test/privacy/refs.test.ts holds every planted shape to both.
 */
export interface RefSieve {
  /** Every word of a name or an address line. */
  words: Set<string>;
  /** Every whole name and address value (normalised): a ref that is one. */
  wholes: Set<string>;
  datesOfBirth: Set<string>;
  postcodes: Set<string>;
}

export function emptySieve(): RefSieve {
  return { words: new Set(), wholes: new Set(), datesOfBirth: new Set(), postcodes: new Set() };
}

export function addToSieve(s: RefSieve, p: SecurePerson): void {
  for (const v of [p.forename, p.middleNames, p.surname, p.addressLine1, ...p.surnameParts]) addNameToSieve(s, v);
  addPostcodeToSieve(s, p.postcode);
  addDateOfBirthToSieve(s, p.dateOfBirth);
}

/** A name or address line value (forename, middle names, surname or a part of it, first address line) into the sieve. */
export function addNameToSieve(s: RefSieve, v: string | null | undefined): void {
  if (!v) return;
  const n = normaliseText(v);
  s.wholes.add(n);
  for (const w of n.split(' ')) if (w.length >= 2 && !/^\d+$/.test(w)) s.words.add(w);
}

export function addPostcodeToSieve(s: RefSieve, postcode: string | null | undefined): void {
  const pc = postcode ? compactPostcode(postcode) : null;
  if (pc) s.postcodes.add(pc);
}

export function addDateOfBirthToSieve(s: RefSieve, dateOfBirth: string | null | undefined): void {
  const d = dateOfBirth?.trim() ?? '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(d) ?? /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(d);
  if (m)
    s.datesOfBirth.add(
      m[1]!.length === 4 ? `${m[1]}-${m[2]}-${m[3]}` : `${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}`,
    );
}

const PLAIN_REF = /^([A-Z]+|[A-Z]?[a-z]+)\d+$/;

/** A ref this long may be a token (an NHS number or UPN token): always read in full. */
export const TOKEN_LENGTH = 64;

/**
 * PLAIN_REF for DuckDB (RE2, `regexp_full_match`), so the refs mayCarryIdentifier stops at its first test can be
 * left in the database instead of read one by one: a plain ref shorter than a token whose letters (upper case)
 * `plainLettersOpen` refuses, and which (upper case) is none of `plainWholes`, is one mayCarryIdentifier returns
 * false for. test/privacy/refs.test.ts holds the two patterns to the same answers.
 */
export const PLAIN_REF_SQL = '(?:[A-Z]+|[A-Z]?[a-z]+)[0-9]+';

/** A plain ref's letters, upper case (PIR03363998: PIR); null when the ref is not plain or is as long as a token. */
export function plainRefLetters(ref: string): string | null {
  if (ref.length >= TOKEN_LENGTH) return null;
  const plain = PLAIN_REF.exec(ref);
  return plain ? plain[1]!.toUpperCase() : null;
}

/** Whether plain refs with these letters (upper case) need mayCarryIdentifier's full reading. */
export function plainLettersOpen(s: RefSieve, letters: string): boolean {
  return letters === 'REF' || s.words.has(letters);
}

/** The whole values a plain ref (upper case) can be: letters then digits. */
export function plainWholes(s: RefSieve): string[] {
  return [...s.wholes].filter((w) => /^[A-Z]+\d+$/.test(w));
}

/**
 * False when the ref cannot carry an identifier the scan looks for: it is no whole name or address value, holds fewer
 * than two name or address words, no date of birth next to a name word, at its start or after "ref", or standing
 * alone, no full postcode of the secure zone, and is shorter than a token.
 */
export function mayCarryIdentifier(s: RefSieve, ref: string): boolean {
  if (ref.length >= TOKEN_LENGTH) return true;
  // the common shape, a prefix and a number (PIR03363998): one word and one number, no separator, no postcode (no
  // letters after the digits), no date standing alone; it can only be a whole value, or a name word (or "ref")
  // before a date, which the full reading below decides
  const letters = plainRefLetters(ref);
  if (letters !== null) {
    const upper = ref.toUpperCase();
    if (s.wholes.has(upper)) return true;
    if (!plainLettersOpen(s, letters)) return false;
  }
  const norm = normaliseText(ref);
  if (s.wholes.has(norm)) return true;
  const words = tokenWords(ref);
  const named = new Set<string>();
  for (const w of [...words, ...norm.split(' ')]) if (s.words.has(w)) named.add(w);
  if (named.size >= 2) return true;
  for (let i = 0; i < words.length; i++) {
    for (const { date } of datesAt(words, i))
      if (s.datesOfBirth.has(date) && (named.size > 0 || i === 0 || words[i - 1] === 'REF')) return true;
  }
  for (const d of isoDatesIn(ref)) if (s.datesOfBirth.has(d)) return true;
  for (const m of ref.toUpperCase().matchAll(POSTCODE_IN_TEXT)) if (s.postcodes.has(`${m[1]}${m[2]}`)) return true;
  return false;
}

/** What the refs let through are made of: their words, whole values, the dates readable in them and their postcodes. */
export function sieveOfRefs(refs: readonly DeliveredRef[]): RefSieve {
  const near = emptySieve();
  for (const { ref } of refs) {
    const norm = normaliseText(ref);
    near.wholes.add(norm);
    const words = tokenWords(ref);
    for (const w of [...words, ...norm.split(' ')]) near.words.add(w);
    for (let i = 0; i < words.length; i++) for (const { date } of datesAt(words, i)) near.datesOfBirth.add(date);
    for (const d of isoDatesIn(ref)) near.datesOfBirth.add(d);
    for (const m of ref.toUpperCase().matchAll(POSTCODE_IN_TEXT)) near.postcodes.add(`${m[1]}${m[2]}`);
  }
  return near;
}

/**
 * Whether a person shares anything with the refs let through (`near`, sieveOfRefs): a whole value or word of a name
 * or address line, a date of birth or a postcode. Only such a person can make one of them carry an identifier.
 */
export function sharesWithRefs(near: RefSieve, p: SecurePerson): boolean {
  for (const v of [p.forename, p.middleNames, p.surname, p.addressLine1, ...p.surnameParts])
    if (nameSharesWithRefs(near, v)) return true;
  return dateOfBirthSharesWithRefs(near, p.dateOfBirth) || postcodeSharesWithRefs(near, p.postcode);
}

/** sharesWithRefs for one name or address line value. */
export function nameSharesWithRefs(near: RefSieve, v: string | null | undefined): boolean {
  if (!v) return false;
  const n = normaliseText(v);
  if (near.wholes.has(n)) return true;
  for (const w of n.split(' ')) if (near.words.has(w)) return true;
  return false;
}

/** sharesWithRefs for one date of birth value. */
export function dateOfBirthSharesWithRefs(near: RefSieve, dateOfBirth: string | null | undefined): boolean {
  const own = emptySieve();
  addDateOfBirthToSieve(own, dateOfBirth);
  for (const d of own.datesOfBirth) if (near.datesOfBirth.has(d)) return true;
  return false;
}

/** sharesWithRefs for one postcode value. */
export function postcodeSharesWithRefs(near: RefSieve, postcode: string | null | undefined): boolean {
  const own = emptySieve();
  addPostcodeToSieve(own, postcode);
  for (const pc of own.postcodes) if (near.postcodes.has(pc)) return true;
  return false;
}

/** The identifier kinds a ref carries, read as the privacy scan reads a reference column ([] when none). */
export function identifiersInRef(ix: IdentifierIndex, ref: string, vocabulary: ReadonlySet<string>): IdentifierKind[] {
  // read as the scan reads a curated table's reference column (a reference and a date-of-birth field at once)
  return checkUnit(ix, { location: '', field: 'date_of_birth_ref', text: ref, position: 'data' }, vocabulary).map(
    (h) => h.kind,
  );
}

/**
 * The refs to replace: each delivered ref that carries an identifier, with its pseudonym. A ref seen in several
 * columns or feeds gets one pseudonym (the map) and one lookup row per place it was delivered.
 */
export function pseudonymiseRefs(
  ix: IdentifierIndex,
  key: Buffer,
  refs: Iterable<DeliveredRef>,
  vocabulary: ReadonlySet<string>,
): { map: Map<string, string>; lookup: RefLookupRow[] } {
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
    if (other !== undefined && other !== r.ref)
      throw new Error(
        `ref pseudonyms: two refs of ${r.source}/${r.feed} share a pseudonym (${pseudonym}): rotate the ref key`,
      );
    byPseudonym.set(pseudonym, r.ref);
    map.set(r.ref, pseudonym);
    if (kinds.length)
      carries.set(
        pseudonym,
        kinds.map((k) => KIND_LABELS[k]),
      );
    lookup.push({ ...r, pseudonym, carries: carries.get(pseudonym)! });
  }
  lookup.sort((a, b) =>
    a.pseudonym < b.pseudonym
      ? -1
      : a.pseudonym > b.pseudonym
        ? 1
        : a.source + a.feed + a.column < b.source + b.feed + b.column
          ? -1
          : 1,
  );
  return { map, lookup };
}
