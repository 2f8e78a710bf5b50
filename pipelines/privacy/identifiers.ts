/**
 * The clear quasi-identifiers the privacy scan looks for, taken from the secure zone's person records:
 * forenames, middle names, surnames (and the parts of multi-part surnames), full names, dates of birth,
 * postcodes, first address lines, and NHS number / UPN tokens. Held only in memory, never logged.
 *
 * Every entry remembers (a few of) the secure record ids it came from, so a finding can point an
 * authorised officer at the secure record without the report repeating the value.
 */
import type { ObjectStore } from '../io/object-store.ts';
import { iterateParquet, selectColumnsIn, type ParquetRow } from '../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../layout.ts';

export const IDENTIFIER_KINDS = [
  'forename',
  'surname',
  'full_name',
  'date_of_birth',
  'postcode',
  'address',
  'nhs_number_token',
  'upn_token',
  'surname_and_dob',
  'name_pair',
] as const;
export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

export const KIND_LABELS: Record<IdentifierKind, string> = {
  forename: 'forename',
  surname: 'surname',
  full_name: 'full name',
  date_of_birth: 'date of birth',
  postcode: 'full postcode',
  address: 'address line',
  nhs_number_token: 'NHS number token',
  upn_token: 'UPN token',
  surname_and_dob: 'surname next to its date of birth',
  name_pair: 'a forename and a surname side by side (possibly a third party)',
};

/**
 * Values that are not identifying even when a source put them in a name field: placeholders for
 * unnamed babies, "unknown" markers, titles. Compared after normalisation.
 */
export const NON_IDENTIFYING = new Set([
  'BABY',
  'BABY BOY',
  'BABY GIRL',
  'BOY',
  'GIRL',
  'INFANT',
  'UNBORN',
  'TWIN',
  'TWIN 1',
  'TWIN 2',
  'CHILD',
  'MOTHER',
  'FATHER',
  'UNKNOWN',
  'NOT KNOWN',
  'NOTKNOWN',
  'NK',
  'N K',
  'NONE',
  'NULL',
  'NA',
  'N A',
  'TEST',
  'TBC',
  'XXX',
  'X',
  'MALE',
  'FEMALE',
  'MR',
  'MRS',
  'MS',
  'MISS',
  'DR',
  'MASTER',
]);

// eslint-disable-next-line no-control-regex
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** Upper case, accents folded, anything but letters and digits becomes one space. Same shape as standardise's names. */
export function normaliseText(s: string): string {
  // ASCII text has nothing to decompose or fold: skip the (costly) Unicode normalisation.
  const folded = ASCII_ONLY.test(s) ? s : s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  return folded
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, ' ')
    .trim();
}

/** "m14 5rb" / "M145RB" -> "M145RB"; null when not a full UK postcode shape. */
export function compactPostcode(s: string): string | null {
  const c = s.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return /^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$/.test(c) ? c : null;
}

export interface IdentifierIndex {
  /** Normalised single- or multi-word values that leak when a whole value equals them. */
  wholeValues: Map<string, { kind: IdentifierKind; recordIds: string[] }>;
  /**
   * Phrases (full names, address lines: always two words or more) that leak wherever they occur, keyed by their
   * first two words (see phraseKey), in the order they were first seen.
   */
  phrases: Map<string, Array<{ words: string[]; kind: IdentifierKind; recordIds: string[] }>>;
  /** Each phrase once, by kind and text (finds the entry to add a record id to without scanning a list). */
  phraseEntries: Map<string, { words: string[]; kind: IdentifierKind; recordIds: string[] }>;
  postcodes: Map<string, string[]>;
  tokens: Map<string, { kind: IdentifierKind; recordIds: string[] }>;
  datesOfBirth: Map<string, string[]>;
  /** `<SURNAME WORD>|<YYYY-MM-DD>` of each person (a surname written next to its own date of birth). */
  surnameDob: Map<string, string[]>;
  /** Every forename word (3+ letters) and surname word (2+) seen in the secure zone (a forename beside a surname of anyone: a name). */
  forenameWords: Set<string>;
  surnameWords: Set<string>;
  /**
   * The first and second words of the phrases, when the index gives them (an index looked up on disk,
   * identifier-lookup.ts); absent, the scan takes them from `phrases`.
   */
  phraseWords?: { first: Set<string>; second: Set<string> };
  /** Rows of the quarantine indexed (people whose own row was quarantined are still searched for). */
  quarantinedRows: number;
  /**
   * Only an index built in ranges of people (identifier-lookup.ts putIndexTableInParts): the kind a whole value was
   * first indexed as, for the values whose kind changed since (a later full name), as `counts` counted it.
   */
  firstKinds?: Map<string, IdentifierKind>;
  /** How many distinct values of each kind are indexed (reported; never the values). */
  counts: Record<IdentifierKind, number>;
  records: number;
}

/** The person-record fields the scan uses; column names as in the secure Parquet (snake_case or camelCase). */
export interface SecurePerson {
  recordId: string;
  forename: string | null;
  middleNames: string | null;
  surname: string | null;
  surnameParts: string[];
  dateOfBirth: string | null;
  postcode: string | null;
  addressLine1: string | null;
  nhsNumberToken: string | null;
  upnToken: string | null;
}

/** Record ids an entry keeps (the first seen). */
export const MAX_IDS = 3;

function remember(ids: string[], id: string): void {
  if (ids.length < MAX_IDS && !ids.includes(id)) ids.push(id);
}

export function emptyIndex(): IdentifierIndex {
  return {
    wholeValues: new Map(),
    phrases: new Map(),
    phraseEntries: new Map(),
    postcodes: new Map(),
    tokens: new Map(),
    datesOfBirth: new Map(),
    surnameDob: new Map(),
    forenameWords: new Set(),
    surnameWords: new Set(),
    quarantinedRows: 0,
    counts: Object.fromEntries(IDENTIFIER_KINDS.map((k) => [k, 0])) as Record<IdentifierKind, number>,
    records: 0,
  };
}

function addWhole(ix: IdentifierIndex, raw: string | null, kind: IdentifierKind, recordId: string): void {
  if (raw) addWholeNormalised(ix, normaliseText(raw), kind, recordId);
}

/** addWhole for text already normalised (normaliseText is idempotent: no need to do it again). */
function addWholeNormalised(ix: IdentifierIndex, v: string, kind: IdentifierKind, recordId: string): void {
  if (v.length < 2 || NON_IDENTIFYING.has(v) || /^\d+$/.test(v)) return;
  const e = ix.wholeValues.get(v);
  if (e) {
    remember(e.recordIds, recordId);
    // A value that is a full name for one record and a surname for another is reported as the stronger kind.
    if (kind === 'full_name') {
      if (ix.firstKinds && e.kind !== kind && !ix.firstKinds.has(v)) ix.firstKinds.set(v, e.kind);
      e.kind = kind;
    }
    return;
  }
  ix.wholeValues.set(v, { kind, recordIds: [recordId] });
  ix.counts[kind]++;
}

/** The key a phrase is filed under: its first two words. */
export function phraseKey(first: string, second: string): string {
  return `${first} ${second}`;
}

/** A phrase from normalised text (words separated by single spaces); ignored unless it has two words or more. */
function addPhraseNormalised(ix: IdentifierIndex, text: string, kind: IdentifierKind, recordId: string): void {
  const space = text.indexOf(' ');
  if (space <= 0) return;
  const entryKey = `${kind}|${text}`;
  const same = ix.phraseEntries.get(entryKey);
  if (same) {
    remember(same.recordIds, recordId);
    return;
  }
  const words = text.split(' ');
  const entry = { words, kind, recordIds: [recordId] };
  ix.phraseEntries.set(entryKey, entry);
  const k = phraseKey(words[0]!, words[1]!);
  const list = ix.phrases.get(k);
  if (list) list.push(entry);
  else ix.phrases.set(k, [entry]);
  ix.counts[kind]++;
}

export function addPerson(ix: IdentifierIndex, p: SecurePerson): void {
  ix.records++;
  const id = p.recordId;
  // each field normalised once; the helpers take the normalised text
  const fn = p.forename ? normaliseText(p.forename) : '';
  const sn = p.surname ? normaliseText(p.surname) : '';
  addWholeNormalised(ix, fn, 'forename', id);
  if (p.middleNames) for (const m of normaliseText(p.middleNames).split(' ')) addWholeNormalised(ix, m, 'forename', id);
  addWholeNormalised(ix, sn, 'surname', id);
  for (const part of p.surnameParts) addWhole(ix, part, 'surname', id);
  if (fn.length >= 2 && sn.length >= 2 && !NON_IDENTIFYING.has(fn)) {
    const forwards = `${fn} ${sn}`;
    const backwards = `${sn} ${fn}`;
    addPhraseNormalised(ix, forwards, 'full_name', id);
    addPhraseNormalised(ix, backwards, 'full_name', id);
    addWholeNormalised(ix, forwards, 'full_name', id);
    addWholeNormalised(ix, backwards, 'full_name', id);
  }
  if (p.addressLine1) {
    const a = normaliseText(p.addressLine1);
    // A bare house name of one word is too weak to search in free text; it still counts as a whole value.
    if (a.includes(' ')) addPhraseNormalised(ix, a, 'address', id);
    else addWholeNormalised(ix, a, 'address', id);
  }
  const pc = p.postcode ? compactPostcode(p.postcode) : null;
  if (pc) {
    const ids = ix.postcodes.get(pc);
    if (ids) remember(ids, id);
    else {
      ix.postcodes.set(pc, [id]);
      ix.counts.postcode++;
    }
  }
  for (const [tok, kind] of [
    [p.nhsNumberToken, 'nhs_number_token'],
    [p.upnToken, 'upn_token'],
  ] as const) {
    if (!tok) continue;
    const t = tok.trim().toLowerCase();
    if (t.length < 16) continue;
    const e = ix.tokens.get(t);
    if (e) remember(e.recordIds, id);
    else {
      ix.tokens.set(t, { kind, recordIds: [id] });
      ix.counts[kind]++;
    }
  }
  const dob = p.dateOfBirth ? isoDateOf(p.dateOfBirth) : null;
  if (dob) {
    const ids = ix.datesOfBirth.get(dob);
    if (ids) remember(ids, id);
    else {
      ix.datesOfBirth.set(dob, [id]);
      ix.counts.date_of_birth++;
    }
  }
  addNameWords(ix, fn, p.middleNames ? normaliseText(p.middleNames) : '', sn, p.surnameParts, dob, id);
}

/** A date of birth as given (ISO, or dd/mm/yyyy as providers write it in a quarantined row) to YYYY-MM-DD. */
function isoDateOf(v: string): string | null {
  const s = v.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) return s.slice(0, 10);
  const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(s);
  return m ? `${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}` : null;
}

/** The words of names (for name pairs) and each surname word with the person's date of birth. */
function addNameWords(
  ix: IdentifierIndex,
  fn: string,
  middle: string,
  sn: string,
  parts: string[],
  dob: string | null,
  id: string,
): void {
  for (const w of `${fn} ${middle}`.split(' '))
    if (w.length >= 3 && !NON_IDENTIFYING.has(w) && !/\d/.test(w)) ix.forenameWords.add(w);
  const surnameWords = new Set(
    [...sn.split(' '), ...parts.map((x) => normaliseText(x))].filter(
      (w) => w.length >= 2 && !NON_IDENTIFYING.has(w) && !/\d/.test(w),
    ),
  );
  for (const w of surnameWords) {
    ix.surnameWords.add(w);
    if (!dob) continue;
    const k = `${w}|${dob}`;
    const ids = ix.surnameDob.get(k);
    if (ids) remember(ids, id);
    else {
      ix.surnameDob.set(k, [id]);
      ix.counts.surname_and_dob++;
    }
  }
}

/**
 * Splits text into the words a reader would see, whatever joins them: separators (space, _ - . / and the rest),
 * camel case (HamzaButt, HAMZAButt) and digits against letters (Butt01, DA1). Upper case, accents folded.
 */
export function tokenWords(raw: string): string[] {
  if (!ASCII_ONLY.test(raw)) {
    const n = normaliseText(splitJoins(raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')));
    return n ? n.split(' ') : [];
  }
  // word by word: only a word that joins others is rewritten (long JSON values are mostly plain words)
  const out: string[] = [];
  for (const w of raw.split(/[^A-Za-z0-9]+/)) {
    if (!w) continue;
    if (!JOINED.test(w) || PRODUCT_ID.test(w)) out.push(w.toUpperCase());
    else for (const part of splitJoins(w).split(' ')) if (part) out.push(part.toUpperCase());
  }
  return out;
}

const JOINED = /[a-z][A-Z]|[A-Z][A-Z][a-z]|[A-Za-z]\d|\d[A-Za-z]/;
/**
 * The pipeline's own person and family ids (`P` / `F` and 12 lower-case hex digits of a SHA-256: matching's
 * personIdOf, families' familyIdOf, lineage). Read whole, never split into parts: their letter runs ("dac", "ebb",
 * "ada", "dee") are names of someone once a partnership is large (a 300,000-family run failed its scan on
 * hundreds of them in evidence JSON), and a hash cannot carry a name.
 */
const PRODUCT_ID = /^[PF][0-9a-f]{12}$/;
const isProductId = (text: string, start: number, end: number): boolean => {
  if (end - start !== 13) return false;
  const first = text.charCodeAt(start);
  if (first !== 80 && first !== 70) return false;
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!(isDigitCode(c) || (c >= 97 && c <= 102))) return false;
  }
  return true;
};
const splitJoins = (w: string) =>
  w
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])(?=\d)|(\d)(?=[A-Za-z])/g, '$1$2 ');

/** Whether text has anything tokenWords splits beyond what normaliseText does (camel case, digits against letters). */
export function hasJoinedWords(raw: string): boolean {
  return JOINED.test(raw);
}

/** Both readings of ASCII text, from one pass over it (see readAscii). */
export interface AsciiReading {
  /** normaliseText's words (upper case): `plain.join(' ')` is normaliseText(text). */
  plain: string[];
  /** tokenWords(text) when hasJoinedWords(text), else null (the words as read are the plain words). */
  joined: string[] | null;
  /** A digit somewhere. */
  digit: boolean;
  /** A digit followed by two letters somewhere (what a postcode's inward code needs). */
  digitLetterLetter: boolean;
  /** The longest run of hex digits (a 64-digit token needs one of 64). */
  longestHexRun: number;
}

const isUpper = (c: number) => c >= 65 && c <= 90;
const isLower = (c: number) => c >= 97 && c <= 122;
const isDigitCode = (c: number) => c >= 48 && c <= 57;
const isHexCode = (c: number) => isDigitCode(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/**
 * normaliseText, hasJoinedWords and tokenWords of ASCII text in one pass over its characters (the privacy scan reads
 * millions of values: three regular-expression passes and a split each cost more than the checks themselves).
 * A word is a run of letters and digits; it is split, as tokenWords splits it, between a lower- and an upper-case
 * letter, before the last of two capitals followed by a lower-case letter (HAMZAButt), and between letters and digits.
 * Null when the text is not ASCII (use the three functions: Unicode folding).
 */
export function readAscii(text: string): AsciiReading | null {
  const plain: string[] = [];
  let joined: string[] | null = null;
  let digit = false;
  let digitLetterLetter = false;
  let hexRun = 0;
  let longestHexRun = 0;
  const n = text.length;
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 32;
    if (c > 127) return null;
    if (isHexCode(c)) {
      if (++hexRun > longestHexRun) longestHexRun = hexRun;
    } else hexRun = 0;
    const letter = isUpper(c) || isLower(c);
    if (isDigitCode(c)) {
      digit = true;
      if (!digitLetterLetter && i + 2 < n) {
        const a = text.charCodeAt(i + 1);
        const b = text.charCodeAt(i + 2);
        if ((isUpper(a) || isLower(a)) && (isUpper(b) || isLower(b))) digitLetterLetter = true;
      }
    } else if (!letter) {
      if (start >= 0) {
        addWord(text, start, i, plain, joined);
        start = -1;
      }
      continue;
    }
    if (start < 0) {
      start = i;
      continue;
    }
    // the first join inside a word: from this word on, the joined reading splits words into parts (addWord)
    if (joined === null && joinAt(text, i, c)) joined = plain.slice();
  }
  return { plain, joined, digit, digitLetterLetter, longestHexRun };
}

/** Whether tokenWords splits a word before position i (c: the code there; i is not the word's first character). */
function joinAt(text: string, i: number, c: number): boolean {
  const p = text.charCodeAt(i - 1);
  if (isDigitCode(c)) return !isDigitCode(p);
  if (isDigitCode(p)) return true;
  if (isUpper(c)) return isLower(p) || (isUpper(p) && isLower(text.charCodeAt(i + 1)));
  return false;
}

/** Each word of the text (plain reading) and, once a join was seen, its parts (joined reading). */
function addWord(text: string, start: number, end: number, plain: string[], joined: string[] | null): void {
  plain.push(text.slice(start, end).toUpperCase());
  if (joined) pushParts(text, start, end, joined);
}

function pushParts(text: string, start: number, end: number, out: string[]): void {
  if (isProductId(text, start, end)) {
    out.push(text.slice(start, end).toUpperCase());
    return;
  }
  let from = start;
  for (let i = start + 1; i < end; i++) {
    if (joinAt(text, i, text.charCodeAt(i))) {
      out.push(text.slice(from, i).toUpperCase());
      from = i;
    }
  }
  out.push(text.slice(from, end).toUpperCase());
}

function pick(row: ParquetRow, ...names: string[]): string | null {
  for (const n of names) {
    const v = row[n];
    if (typeof v === 'string') return v;
    if (v !== undefined && v !== null && !Array.isArray(v)) return String(v);
  }
  return null;
}

/** Every column name securePersonFromRow reads. */
const SECURE_PERSON_COLUMNS = [
  'record_id',
  'recordId',
  'forename',
  'middle_names',
  'middleNames',
  'surname',
  'surname_parts',
  'surnameParts',
  'date_of_birth',
  'dateOfBirth',
  'dob',
  'postcode',
  'address_line1',
  'address_line_1',
  'addressLine1',
  'nhs_number_token',
  'nhsNumberToken',
  'upn_token',
  'upnToken',
];

/** Maps one secure person-records row (snake_case or camelCase columns) to the fields the scan needs. */
export function securePersonFromRow(row: ParquetRow): SecurePerson {
  const parts = row.surname_parts ?? row.surnameParts;
  return {
    recordId: pick(row, 'record_id', 'recordId') ?? '',
    forename: pick(row, 'forename'),
    middleNames: pick(row, 'middle_names', 'middleNames'),
    surname: pick(row, 'surname'),
    surnameParts: Array.isArray(parts) ? parts : typeof parts === 'string' && parts ? parts.split(/[|;,]/) : [],
    dateOfBirth: pick(row, 'date_of_birth', 'dateOfBirth', 'dob'),
    postcode: pick(row, 'postcode'),
    addressLine1: pick(row, 'address_line1', 'address_line_1', 'addressLine1'),
    nhsNumberToken: pick(row, 'nhs_number_token', 'nhsNumberToken'),
    upnToken: pick(row, 'upn_token', 'upnToken'),
  };
}

const QUARANTINE_FIELDS: Array<[RegExp, keyof SecurePerson]> = [
  [/^(forename|first_?name|given_?name)s?$/i, 'forename'],
  [/^middle_?names?$/i, 'middleNames'],
  [/^(surname|last_?name|family_?name)$/i, 'surname'],
  [/^(date_of_birth|dob|birth_?date)$/i, 'dateOfBirth'],
  [/^post_?code$/i, 'postcode'],
  [/^address_?line_?1$/i, 'addressLine1'],
];

/**
 * A quarantined row as a person to search for: its identity columns whatever the feed (a person whose own people row
 * was quarantined is in no person record, and an event feed's row may name someone). A postcode or address is only
 * a person's own in a people feed (an event's postcode is where it happened).
 */
export function quarantinedPerson(
  row: Record<string, unknown>,
  recordId: string,
  peopleFeed: boolean,
): SecurePerson | null {
  const p: SecurePerson = {
    recordId,
    forename: null,
    middleNames: null,
    surname: null,
    surnameParts: [],
    dateOfBirth: null,
    postcode: null,
    addressLine1: null,
    nhsNumberToken: null,
    upnToken: null,
  };
  let any = false;
  for (const [k, v] of Object.entries(row)) {
    if (typeof v !== 'string' || !v.trim()) continue;
    const f = QUARANTINE_FIELDS.find(([re]) => re.test(k))?.[1];
    if (!f || ((f === 'postcode' || f === 'addressLine1') && !peopleFeed)) continue;
    (p as unknown as Record<string, string>)[f] = v;
    any = true;
  }
  return any ? p : null;
}

/** Every quarantined row of the as-at date (secure: as_at=D/quarantine/<source>/<feed>/...jsonl) into the index. */
export async function addQuarantine(
  ix: IdentifierIndex,
  secure: ObjectStore,
  asAt: string,
  isPeopleFeed: (source: string, feed: string) => boolean,
): Promise<void> {
  for await (const p of quarantinedPeople(secure, asAt, isPeopleFeed)) {
    addPerson(ix, p);
    ix.records--;
    ix.quarantinedRows++;
  }
}

/** The people the quarantined rows of the as-at date name (their identity columns, whatever the feed). */
export async function* quarantinedPeople(
  secure: ObjectStore,
  asAt: string,
  isPeopleFeed: (source: string, feed: string) => boolean,
): AsyncGenerator<SecurePerson> {
  const prefix = keys.quarantine(asAt, '', '', '').replace(/\/+$/, '/');
  for (const o of await secure.list(prefix)) {
    if (!o.key.endsWith('.jsonl')) continue;
    const [source = '', feed = ''] = o.key.slice(prefix.length).split('/');
    const people = isPeopleFeed(source, feed);
    for (const line of (await secure.get(o.key)).toString('utf8').split('\n')) {
      if (!line) continue;
      let q: { line?: unknown; row?: unknown };
      try {
        q = JSON.parse(line) as typeof q;
      } catch {
        continue;
      }
      if (!q.row || typeof q.row !== 'object') continue;
      const p = quarantinedPerson(
        q.row as Record<string, unknown>,
        `quarantine:${source}/${feed}:line ${String(q.line ?? '?')}`,
        people,
      );
      if (p) yield p;
    }
  }
}

/**
 * Builds the index from the secure zone for the as-at date: the person records, and every quarantined row (people
 * whose own row was rejected, and anyone an event row names).
 */
export async function loadIdentifierIndex(
  secure: ObjectStore,
  asAt: string,
  isPeopleFeed: (source: string, feed: string) => boolean = () => true,
): Promise<IdentifierIndex> {
  const key = keys.secure(asAt, PERSON_RECORDS_KEY);
  if (!(await secure.exists(key))) {
    throw new Error(`privacy scan: no secure person records at ${key} in ${secure.location}: run standardise first`);
  }
  const ix = emptyIndex();
  // only the columns securePersonFromRow reads (whichever of their names the file uses)
  for await (const batch of iterateParquet(secure, key, selectColumnsIn(SECURE_PERSON_COLUMNS)))
    for (const row of batch) addPerson(ix, securePersonFromRow(row));
  await addQuarantine(ix, secure, asAt, isPeopleFeed);
  return ix;
}

/**
 * The people loadIdentifierIndex indexes, in its order: the secure person records, then the quarantined rows
 * (`quarantined`: counted in quarantinedRows, not records).
 */
export async function* indexPeople(
  secure: ObjectStore,
  asAt: string,
  isPeopleFeed: (source: string, feed: string) => boolean = () => true,
): AsyncGenerator<{ person: SecurePerson; quarantined: boolean }> {
  const key = keys.secure(asAt, PERSON_RECORDS_KEY);
  if (!(await secure.exists(key))) {
    throw new Error(`privacy scan: no secure person records at ${key} in ${secure.location}: run standardise first`);
  }
  for await (const batch of iterateParquet(secure, key, selectColumnsIn(SECURE_PERSON_COLUMNS)))
    for (const row of batch) yield { person: securePersonFromRow(row), quarantined: false };
  for await (const person of quarantinedPeople(secure, asAt, isPeopleFeed)) yield { person, quarantined: true };
}
