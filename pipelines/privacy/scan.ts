/**
 * The privacy scan: every published output (the outputs zone and the curated tables for the as-at date)
 * is checked for clear quasi-identifiers taken from the secure zone. The result says pass, or exactly
 * what kind of identifier leaked where (file, row/column or JSON path or HTML line) and which secure
 * record it belongs to (pseudonymous record ids). It never repeats a leaked value, in the result or in logs.
 */
import type { ObjectStore } from '../io/object-store.ts';
import { CONTROL_DIRS } from '../layout.ts';
import type { Log } from '../log.ts';
import { ParquetDistinctScanner, type HitUnit } from './parquet-distinct.ts';
import { unitsOf, unitsOfBuffer, formatOf, type FileFormat, type TextUnit } from './extract.ts';
import {
  IDENTIFIER_KINDS,
  KIND_LABELS,
  hasJoinedWords,
  normaliseText,
  phraseKey,
  readAscii,
  tokenWords,
  type IdentifierIndex,
  type IdentifierKind,
} from './identifiers.ts';
import { isIsoDate } from '../layout.ts';
import type { IdentifierLookup } from './identifier-lookup.ts';

export interface Finding {
  zone: string;
  key: string;
  location: string;
  kind: IdentifierKind;
  /** Secure record ids the value belongs to (at most 3): lets an authorised officer check, without repeating the value. */
  recordIds: string[];
}

export interface ScannedFile {
  zone: string;
  key: string;
  format: FileFormat;
  /** Text units checked (cells, JSON strings, HTML text nodes). */
  units: number;
  findings: number;
  /** Set when the file could not be read: the scan then cannot vouch for it and fails. */
  error?: string;
}

export interface ScanResult {
  status: 'pass' | 'fail';
  asAt: string;
  /** Distinct values of each kind searched for (counts only). */
  identifiersSearched: Record<IdentifierKind, number>;
  secureRecords: number;
  files: ScannedFile[];
  /** The first findings, in file then location order (see findingsTotal for how many in all). */
  findings: Finding[];
  findingsTotal: number;
  findingsByKind: Record<IdentifierKind, number>;
  unreadableFiles: number;
  /** How many configuration values (sources, feeds, localities, age bands) were exempt from single-name matching. */
  vocabularyExempt: number;
}

export const MAX_FINDINGS_LISTED = 500;
/** Verdicts the scan remembers (see ScanCollector.checkRemembered): texts up to this long, this many characters in all. */
const MEMO_TEXT_LENGTH = 2_000;
const MEMO_CHARACTERS = 32_000_000;
/** Findings logged per file (the rest are counted). */
const FINDINGS_LOGGED_PER_FILE = 20;
/** The most first hit units a Parquet file's findings can need (listed and logged): what a publish shard keeps per file. */
export const MAX_HIT_UNITS_PER_FILE = Math.max(MAX_FINDINGS_LISTED, FINDINGS_LOGGED_PER_FILE);

const DOB_FIELD = /(^|[_\s.-])(dob|birth|born|date_of_birth|dateofbirth|birth_?date)($|[_\s.-])/i;
const DATE_IN_TEXT = /\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b|\b(\d{4})(\d{2})(\d{2})\b/g;
/** A postcode with any separator or none (M1 4BT, M1_4BT, M1-4BT, M14BT), not inside a longer run of letters. */
export const POSTCODE_IN_TEXT = /(?<![A-Z])([A-Z]{1,2}\d[A-Z\d]?)[\s_./-]?(\d[A-Z]{2})(?![A-Z])/g;
/** A reference column (record_ref, person_ref, incident_ref, source_person_ref, reference). */
const REF_FIELD = /(^|[_\s.-])(ref|reference)$|^ref(erence)?([_\s.-]|$)|[a-z]Ref$/i;
const TOKEN_IN_TEXT = /\b[0-9a-f]{64}\b/gi;

export function isoDatesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(DATE_IN_TEXT)) {
    if (m[1]) out.push(`${m[1]}-${m[2]}-${m[3]}`);
    else if (m[6]) out.push(`${m[6]}-${m[5]!.padStart(2, '0')}-${m[4]!.padStart(2, '0')}`);
    else if (m[7]) out.push(`${m[7]}-${m[8]}-${m[9]}`);
  }
  return out;
}

/** Single names shorter than this are not matched alone ("EM", "LI" are also enum values such as m source "em"). */
export const MIN_SINGLE_NAME_LENGTH = 3;
const SINGLE_NAME_KINDS = new Set<IdentifierKind>(['forename', 'surname']);
export function isSingleNameKind(kind: IdentifierKind): boolean {
  return SINGLE_NAME_KINDS.has(kind);
}

/** The first hit of each kind is the one reported. */
function addHit(hits: Map<IdentifierKind, string[]>, kind: IdentifierKind, ids: string[]): void {
  if (!hits.has(kind)) hits.set(kind, ids);
}

/**
 * The identifiers found in one unit of text: one hit per kind (the first). `vocabulary` holds normalised
 * values that come from configuration, not from a person (source and feed names, localities, age bands):
 * a whole value equal to one of them is not a single-name leak even when someone bears that surname.
 */
/**
 * The first and second words of the index's phrases: a word pair whose words are not both there cannot key a
 * phrase, so most pairs of a long value (JSON evidence has dozens of words) need no key string built and
 * looked up. Rebuilt when phrases are added under new keys.
 */
const phraseWordsOf = new WeakMap<
  IdentifierIndex['phrases'],
  { keys: number; first: Set<string>; second: Set<string> }
>();
function phraseWords(ix: IdentifierIndex): { first: Set<string>; second: Set<string> } {
  if (ix.phraseWords) return ix.phraseWords;
  let w = phraseWordsOf.get(ix.phrases);
  if (!w || w.keys !== ix.phrases.size) {
    w = { keys: ix.phrases.size, first: new Set(), second: new Set() };
    for (const list of ix.phrases.values()) {
      for (const p of list) {
        w.first.add(p.words[0]!);
        w.second.add(p.words[1]!);
      }
    }
    phraseWordsOf.set(ix.phrases, w);
  }
  return w;
}

export interface Hit {
  kind: IdentifierKind;
  recordIds: string[];
}

/** Phrases (full names, address lines) anywhere in a word sequence: one map look-up per word pair whose words could key one. */
function phraseHits(ix: IdentifierIndex, words: string[], hits: Map<IdentifierKind, string[]>): void {
  const { first, second } = phraseWords(ix);
  for (let i = 0; i + 1 < words.length; i++) {
    if (!first.has(words[i]!) || !second.has(words[i + 1]!)) continue;
    const candidates = ix.phrases.get(phraseKey(words[i]!, words[i + 1]!));
    if (!candidates) continue;
    for (const p of candidates) {
      if (i + p.words.length > words.length || hits.has(p.kind)) continue;
      let ok = true;
      for (let j = 2; j < p.words.length; j++)
        if (words[i + j] !== p.words[j]) {
          ok = false;
          break;
        }
      if (ok) addHit(hits, p.kind, p.recordIds);
    }
  }
}

const isDigits = (w: string | undefined) =>
  w !== undefined && w.length > 0 && w.charCodeAt(0) >= 48 && w.charCodeAt(0) <= 57 && /^\d+$/.test(w);
const iso = (y: string, m: string, d: string) => `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;

/** A date written as words from position i: YYYY MM DD, DD MM YYYY, or one word YYYYMMDD / DDMMYYYY. Each reading (real dates only) with its length. */
export function datesAt(words: string[], i: number): Array<{ date: string; length: number }> {
  const out: Array<{ date: string; length: number }> = [];
  const a = words[i]!;
  if (a.length === 8 && isDigits(a)) {
    for (const d of [iso(a.slice(0, 4), a.slice(4, 6), a.slice(6)), iso(a.slice(4), a.slice(2, 4), a.slice(0, 2))])
      if (isIsoDate(d)) out.push({ date: d, length: 1 });
  }
  const b = words[i + 1];
  const c = words[i + 2];
  if (isDigits(a) && isDigits(b) && isDigits(c)) {
    const d =
      a.length === 4 && b!.length <= 2 && c!.length <= 2
        ? iso(a, b!, c!)
        : a.length <= 2 && b!.length <= 2 && c!.length === 4
          ? iso(c!, b!, a)
          : '';
    if (d && isIsoDate(d)) out.push({ date: d, length: 3 });
  }
  return out;
}

/** A surname written next to (before or after) its own date of birth, in any date format: BUTT-1996-10-26, Butt_26101996. */
function surnameDobHits(ix: IdentifierIndex, words: string[], hits: Map<IdentifierKind, string[]>): void {
  const surname = (w: string | undefined) => w !== undefined && ix.surnameWords.has(w);
  for (let i = 0; i < words.length; i++) {
    // cheap test first: a surname word just before, or just after a one- or three-word date
    if (!isDigits(words[i]) || !(surname(words[i - 1]) || surname(words[i + 1]) || surname(words[i + 3]))) continue;
    for (const { date, length } of datesAt(words, i)) {
      for (const w of [words[i - 1], words[i + length]]) {
        const ids = w ? ix.surnameDob.get(`${w}|${date}`) : undefined;
        if (ids) return addHit(hits, 'surname_and_dob', ids);
      }
    }
  }
}

/** Month names and their short forms (normalised): the words of a period label. */
const MONTH_WORDS = new Set([
  ...['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER'],
  ...['DECEMBER', 'JAN', 'FEB', 'MAR', 'APR', 'JUN', 'JUL', 'AUG', 'SEP', 'SEPT', 'OCT', 'NOV', 'DEC'],
]);

/** A forename and a surname side by side (either order), of anyone in the secure zone: a name, perhaps of a third party in no people feed. */
function namePairHits(
  ix: IdentifierIndex,
  words: string[],
  vocabulary: ReadonlySet<string>,
  hits: Map<IdentifierKind, string[]>,
): void {
  for (let i = 0; i + 1 < words.length; i++) {
    const a = words[i]!;
    const b = words[i + 1]!;
    if (a.length < 3 || b.length < 3 || vocabulary.has(a) || vocabulary.has(b)) continue;
    // two months side by side are a period ("Jan-Jun 2025" in the Start Well report), not Jan and June the people
    if (MONTH_WORDS.has(a) && MONTH_WORDS.has(b)) continue;
    if ((ix.forenameWords.has(a) && ix.surnameWords.has(b)) || (ix.surnameWords.has(a) && ix.forenameWords.has(b))) {
      const e = ix.wholeValues.get(a) ?? ix.wholeValues.get(b);
      return addHit(hits, 'name_pair', e?.recordIds ?? []);
    }
  }
}

/** A reference that is a date of birth (the whole ref, or what follows a "ref" word). */
function dobRefHits(
  ix: IdentifierIndex,
  words: string[],
  refField: boolean,
  hits: Map<IdentifierKind, string[]>,
): void {
  for (let i = 0; i < words.length; i++) {
    if (!isDigits(words[i]) || !(refField ? i === 0 : words[i - 1] === 'REF')) continue;
    for (const { date, length } of datesAt(words, i)) {
      // the whole ref: nothing follows in a ref column, no further number after it in text (REF-2026-03-05-001 is not a date)
      const ids = ix.datesOfBirth.get(date);
      if (ids && (refField ? i + length === words.length : !isDigits(words[i + length])))
        return addHit(hits, 'date_of_birth', ids);
    }
  }
}

export function checkUnit(ix: IdentifierIndex, unit: TextUnit, vocabulary: ReadonlySet<string> = new Set()): Hit[] {
  const hits = new Map<IdentifierKind, string[]>();
  const text = unit.text;
  // ASCII text (nearly all): its words, both readings and the character tests below from one pass over it
  const read = readAscii(text);
  const norm = read ? read.plain.join(' ') : normaliseText(text);
  const data = unit.position === 'data';
  if (norm) {
    const whole = ix.wholeValues.get(norm);
    // Single names are only matched as a whole data value: in template text (headings, prose) a word such as
    // "Ward" or "Young" is the report's own vocabulary. Full names and addresses count anywhere.
    const single = whole ? isSingleNameKind(whole.kind) : false;
    if (whole && (!single || (data && norm.length >= MIN_SINGLE_NAME_LENGTH && !vocabulary.has(norm))))
      addHit(hits, whole.kind, whole.recordIds);
    // Words as written, and (when the text joins words by case or digits: HamzaButt01, Hamza.Butt.DA1) as read.
    const plain = read ? read.plain : null;
    const spaced = plain ? plain.length > 1 : norm.includes(' ');
    const joined = read ? read.joined : hasJoinedWords(text) ? tokenWords(text) : null;
    const words = joined ?? (spaced ? (plain ?? norm.split(' ')) : null);
    if (words) {
      if (spaced) phraseHits(ix, plain ?? norm.split(' '), hits);
      if (joined) phraseHits(ix, joined, hits);
      // a pair of different people's names only where no one's full name was found (that is the stronger finding)
      if (data && !hits.has('full_name')) namePairHits(ix, words, vocabulary, hits);
      if (read ? read.digit : /\d/.test(norm)) {
        surnameDobHits(ix, words, hits);
        dobRefHits(ix, words, !!unit.field && REF_FIELD.test(unit.field), hits);
      }
    } else if (unit.field && REF_FIELD.test(unit.field) && /^\d{8}$/.test(norm)) dobRefHits(ix, [norm], true, hits);
  }
  if (read ? read.digitLetterLetter : /\d[A-Z]{2}/.test(text.toUpperCase())) {
    for (const m of text.toUpperCase().matchAll(POSTCODE_IN_TEXT)) {
      const ids = ix.postcodes.get(`${m[1]}${m[2]}`);
      if (ids) {
        addHit(hits, 'postcode', ids);
        break;
      }
    }
  }
  if (text.length >= 64 && (!read || read.longestHexRun >= 64)) {
    for (const m of text.matchAll(TOKEN_IN_TEXT)) {
      const t = ix.tokens.get(m[0].toLowerCase());
      if (t) addHit(hits, t.kind, t.recordIds);
    }
  }
  // A date is only a date of birth where the field says so: event dates routinely equal someone's birthday.
  if (unit.field && DOB_FIELD.test(unit.field)) {
    for (const d of isoDatesIn(text)) {
      const ids = ix.datesOfBirth.get(d);
      if (ids) {
        addHit(hits, 'date_of_birth', ids);
        break;
      }
    }
  }
  if (hits.size === 0) return [];
  return [...hits.entries()].map(([kind, recordIds]) => ({ kind, recordIds }));
}

export interface ScanTarget {
  zone: string;
  store: ObjectStore;
  key: string;
}

/** A secure record id `source:feed:ref`: its ref is checked before a finding quotes the id (quotableRecordId). */
const RECORD_ID = /^([a-z_]+):([a-z_]+):(.+)$/;
function recordRefUnit(id: string): TextUnit | null {
  const m = RECORD_ID.exec(id);
  return m ? { location: '', field: 'record_ref', text: m[3]!, position: 'data' } : null;
}

/**
 * How Parquet tables are scanned: 'distinct' checks each distinct text value once per scan in DuckDB, counts the
 * cells of the values that hit, and locates only the first of them cell by cell (a file it cannot model or read
 * goes to the per-cell scan); 'per-cell' checks every cell. Both give the same ScanResult.
 */
export type ParquetScanMode = 'distinct' | 'per-cell';

export interface ScanOptions {
  parquet?: ParquetScanMode;
  /** Where the scan's DuckDB spills (it holds published values: the run's scratch folder, io/scratch.ts). */
  scratch?: string;
  /** Check only the distinct Parquet values of this hash part (a publish shard: ParquetDistinctScanner's `part`). */
  part?: { index: number; count: number };
  /**
   * The index is looked up on disk (a publish shard or merge: identifier-lookup.ts); the collector's `ix` must be
   * `lookup.ix`. Every unit is prepared before it is checked, so the verdicts are the whole index's.
   */
  lookup?: IdentifierLookup;
}

/** Units per prepare of a file scanned unit by unit with an index looked up on disk. */
const PREPARED_UNITS = 50_000;

/**
 * A Parquet file settled from its distinct values (by this scan, or by publish shards: their parts merged): its
 * units, each hit value's unit count and hits, and its first hit units in the per-cell order (at least as many as
 * the scan's quota for the file, MAX_HIT_UNITS_PER_FILE at most). Ids, counts and places only, never a value.
 */
export interface SettledParquet {
  units: number;
  hitValues: Array<{ units: number; hits: Hit[] }>;
  hitUnits: Array<HitUnit<Hit>>;
}

export class ScanCollector {
  readonly files: ScannedFile[] = [];
  readonly findings: Finding[] = [];
  findingsTotal = 0;
  readonly byKind = Object.fromEntries(IDENTIFIER_KINDS.map((k) => [k, 0])) as Record<IdentifierKind, number>;

  /** Normalised configuration values exempt from single-name matching (see checkUnit). */
  readonly vocabulary = new Set<string>();

  readonly parquetMode: ParquetScanMode;
  /** The fast Parquet path (one DuckDB instance for the whole scan); see close(). */
  readonly parquet: ParquetDistinctScanner<Hit>;

  constructor(
    readonly ix: IdentifierIndex,
    readonly log?: Log,
    vocabulary: Iterable<string> = [],
    opts: ScanOptions = {},
  ) {
    for (const v of vocabulary) {
      const n = normaliseText(v);
      if (n) this.vocabulary.add(n);
    }
    this.parquetMode = opts.parquet ?? 'distinct';
    this.lookup = opts.lookup;
    if (this.lookup && this.lookup.ix !== ix)
      throw new Error("privacy scan: a looked-up index must be the lookup's own");
    // A Parquet cell's verdict depends on its text and on whether its column is a DOB or reference field: nothing
    // else. (One flag for both: in a curated table a date inside a reference that equals a date of birth counts as one.)
    const parquetUnit = (text: string, flagged: boolean): TextUnit => ({
      location: '',
      field: flagged ? 'date_of_birth_ref' : undefined,
      text,
      position: 'data',
    });
    const lookup = this.lookup;
    this.parquet = new ParquetDistinctScanner(
      (text, flagged) => checkUnit(this.ix, parquetUnit(text, flagged), this.vocabulary),
      (column) => DOB_FIELD.test(column) || REF_FIELD.test(column),
      undefined,
      opts.scratch,
      opts.part,
      lookup
        ? (values) =>
            lookup.prepare(
              values.map((v) => parquetUnit(v.text, v.dob)),
              this.unitCheck,
            )
        : undefined,
    );
  }

  private readonly lookup?: IdentifierLookup;
  private readonly unitCheck = (ix: IdentifierIndex, unit: TextUnit) => checkUnit(ix, unit, this.vocabulary);
  /** The units the record ids of hits are checked as (quotableRecordId), so a prepare makes them exact too. */
  private readonly recordIdUnits = (hits: Hit[]): TextUnit[] => {
    const out: TextUnit[] = [];
    for (const h of hits)
      for (const id of h.recordIds) {
        const u = recordRefUnit(id);
        if (u) out.push(u);
      }
    return out;
  };

  /** With an index looked up on disk: make it exact for these units and the record ids their hits quote. */
  private async prepareUnits(units: TextUnit[]): Promise<void> {
    if (this.lookup && units.length) await this.lookup.prepare(units, this.unitCheck, this.recordIdUnits);
  }

  /**
   * With an index looked up on disk: make it exact for the record ids these hits quote (a publish merge replaying a
   * shard's settled file: its findings quote them). Nothing to do with the whole index in memory.
   */
  async prepareRecordIds(hits: Hit[]): Promise<void> {
    if (this.lookup && hits.length) await this.lookup.prepare(this.recordIdUnits(hits), this.unitCheck);
  }

  /**
   * A secure record id as a finding may quote it: `source:feed:ref`, unless the ref itself carries an identifier (standardise
   * replaces such refs by pseudonyms, so this is a second line: a record id is never a way for a value to leave).
   */
  quotableRecordId(id: string): string {
    const unit = recordRefUnit(id);
    if (!unit) return id;
    const m = RECORD_ID.exec(id)!;
    return checkUnit(this.ix, unit, this.vocabulary).length
      ? `${m[1]}:${m[2]}:(ref withheld: it carries an identifier)`
      : id;
  }

  /** Release the fast Parquet path's DuckDB instance (call once the scan is over; scanPublished does). */
  async close(): Promise<void> {
    await this.parquet.dispose();
  }

  /** How many first hit units the next Parquet file's findings need: those still listed, and the file's logged ones. */
  private hitUnitQuota(): number {
    return Math.max(MAX_FINDINGS_LISTED - this.findings.length, FINDINGS_LOGGED_PER_FILE);
  }

  /**
   * A Parquet file's distinct-value result, with its first `limit` hit units; null when the file is left to the
   * per-cell scan (a column type or value the fast path does not model, or unreadable: logged, never the error,
   * since a DuckDB message may quote a value).
   */
  async settleParquet(t: ScanTarget, limit: number = this.hitUnitQuota()): Promise<SettledParquet | null> {
    try {
      if (!(await t.store.exists(t.key))) return null;
      const scan = await this.parquet.scan(await t.store.localPath(t.key));
      if (!scan) return null;
      // Every unit holding an identifier yields one finding or more: `limit` units cover the findings to list and log.
      const hitUnits = scan.hitValues.length ? await scan.firstHitUnits(limit) : [];
      return { units: scan.units, hitValues: scan.hitValues, hitUnits };
    } catch {
      // Unreadable here, or DuckDB out of memory: the per-cell scan reports the file exactly as it always has.
      this.log?.warn('privacy scan: Parquet file not scanned by distinct value, scanning it cell by cell', {
        zone: t.zone,
        key: t.key,
      });
      return null;
    }
  }

  /**
   * Count a settled Parquet file as the per-cell scan would: same units, findings, listed findings and locations.
   * The file's first hit units beyond the scan's quota for it are not used (a publish shard keeps more).
   */
  addSettledParquet(zone: string, key: string, settled: SettledParquet): ScannedFile {
    const file: ScannedFile = { zone, key, format: formatOf(key), units: settled.units, findings: 0 };
    const first = settled.hitUnits.slice(0, this.hitUnitQuota());
    let findings = 0;
    const byKind = new Map<IdentifierKind, number>();
    for (const v of settled.hitValues) {
      for (const h of v.hits) byKind.set(h.kind, (byKind.get(h.kind) ?? 0) + v.units);
      findings += v.units * v.hits.length;
    }
    // The first findings one by one (listed, logged), in the per-cell scan's order; then the rest by count.
    for (const u of first) this.addHits(zone, key, file, u.location, u.hits);
    for (const u of first) for (const h of u.hits) byKind.set(h.kind, byKind.get(h.kind)! - 1);
    for (const [kind, n] of byKind) this.byKind[kind] += n;
    this.findingsTotal += findings - file.findings;
    file.findings = findings;
    this.files.push(file);
    return file;
  }

  private addUnits(zone: string, key: string, file: ScannedFile, unit: TextUnit): void {
    file.units++;
    this.addHits(zone, key, file, unit.location, this.checkRemembered(unit));
  }

  /**
   * A unit's verdict depends on its text, its position and whether its field is a reference or a date-of-birth field
   * (checkUnit reads nothing else, and the index and vocabulary do not change during a scan): the same text in the
   * same kind of place (a target list's cell in its CSV, its workbook and its page; a record id repeated through a
   * JSON file) is checked once. Texts up to MEMO_TEXT_LENGTH, MEMO_CHARACTERS in all (then further texts are
   * checked every time).
   */
  private readonly memo = new Map<string, Hit[]>();
  private memoCharacters = 0;
  private readonly fieldKinds = new Map<string, string>();

  private checkRemembered(unit: TextUnit): Hit[] {
    if (unit.text.length > MEMO_TEXT_LENGTH) return checkUnit(this.ix, unit, this.vocabulary);
    let kind = unit.field === undefined ? '--' : this.fieldKinds.get(unit.field);
    if (kind === undefined) {
      const f = unit.field!;
      kind = `${f && REF_FIELD.test(f) ? 'r' : '-'}${f && DOB_FIELD.test(f) ? 'd' : '-'}`;
      this.fieldKinds.set(f, kind);
    }
    const memoKey = `${unit.position === 'data' ? 'D' : 'T'}${kind}${unit.text}`;
    const known = this.memo.get(memoKey);
    if (known) return known;
    const hits = checkUnit(this.ix, unit, this.vocabulary);
    if (this.memoCharacters < MEMO_CHARACTERS) {
      this.memo.set(memoKey, hits);
      this.memoCharacters += memoKey.length;
    }
    return hits;
  }

  private addHits(zone: string, key: string, file: ScannedFile, location: string, hits: Hit[]): void {
    for (const h of hits) {
      file.findings++;
      this.findingsTotal++;
      this.byKind[h.kind]++;
      if (this.findings.length < MAX_FINDINGS_LISTED)
        this.findings.push({
          zone,
          key,
          location,
          kind: h.kind,
          recordIds: h.recordIds.map((id) => this.quotableRecordId(id)),
        });
      // Where and what kind, never the value.
      if (file.findings <= FINDINGS_LOGGED_PER_FILE)
        this.log?.warn('privacy scan: clear identifier in a published output', { zone, key, location, kind: h.kind });
    }
  }

  async scanObject(t: ScanTarget): Promise<ScannedFile> {
    const file: ScannedFile = { zone: t.zone, key: t.key, format: formatOf(t.key), units: 0, findings: 0 };
    if (file.format === 'parquet' && this.parquetMode === 'distinct') {
      const settled = await this.settleParquet(t);
      if (settled) return this.addSettledParquet(t.zone, t.key, settled);
    }
    try {
      if (this.lookup) {
        let batch: TextUnit[] = [];
        const flush = async () => {
          await this.prepareUnits(batch);
          for (const unit of batch) this.addUnits(t.zone, t.key, file, unit);
          batch = [];
        };
        try {
          for await (const unit of unitsOf(t.store, t.key)) {
            batch.push(unit);
            if (batch.length >= PREPARED_UNITS) await flush();
          }
        } finally {
          // the units read before an error count, as they do unit by unit
          await flush();
        }
      } else for await (const unit of unitsOf(t.store, t.key)) this.addUnits(t.zone, t.key, file, unit);
    } catch (err) {
      file.error = (err as Error).message;
      this.log?.error('privacy scan: cannot read a published output', { zone: t.zone, key: t.key, error: file.error });
    }
    this.files.push(file);
    return file;
  }

  /** Scan content not yet written (e.g. the audit report itself before it is published). */
  scanBuffer(zone: string, key: string, content: Buffer | string): ScannedFile {
    if (this.lookup) throw new Error('privacy scan: an index looked up on disk scans content with scanContent');
    const file: ScannedFile = { zone, key, format: formatOf(key), units: 0, findings: 0 };
    try {
      for (const unit of unitsOfBuffer(key, Buffer.isBuffer(content) ? content : Buffer.from(content)))
        this.addUnits(zone, key, file, unit);
    } catch (err) {
      file.error = (err as Error).message;
    }
    this.files.push(file);
    return file;
  }

  /** scanBuffer, with an index looked up on disk too (each batch of units prepared first). */
  async scanContent(zone: string, key: string, content: Buffer | string): Promise<ScannedFile> {
    if (!this.lookup) return this.scanBuffer(zone, key, content);
    const file: ScannedFile = { zone, key, format: formatOf(key), units: 0, findings: 0 };
    let batch: TextUnit[] = [];
    const flush = async () => {
      await this.prepareUnits(batch);
      for (const unit of batch) this.addUnits(zone, key, file, unit);
      batch = [];
    };
    try {
      try {
        for (const unit of unitsOfBuffer(key, Buffer.isBuffer(content) ? content : Buffer.from(content))) {
          batch.push(unit);
          if (batch.length >= PREPARED_UNITS) await flush();
        }
      } finally {
        await flush();
      }
    } catch (err) {
      file.error = (err as Error).message;
    }
    this.files.push(file);
    return file;
  }

  result(asAt: string): ScanResult {
    const files = [...this.files].sort((a, b) =>
      a.zone + a.key < b.zone + b.key ? -1 : a.zone + a.key > b.zone + b.key ? 1 : 0,
    );
    const unreadable = files.filter((f) => f.error).length;
    return {
      status: this.findingsTotal === 0 && unreadable === 0 ? 'pass' : 'fail',
      asAt,
      identifiersSearched: { ...this.ix.counts },
      secureRecords: this.ix.records,
      files,
      findings: [...this.findings].sort((a, b) =>
        a.zone + a.key < b.zone + b.key ? -1 : a.zone + a.key > b.zone + b.key ? 1 : 0,
      ),
      findingsTotal: this.findingsTotal,
      findingsByKind: { ...this.byKind },
      unreadableFiles: unreadable,
      vocabularyExempt: this.vocabulary.size,
    };
  }
}

/** A run's staged outputs (secure zone, under its staging prefix): scanned in place of the published folder. */
export interface StagedSet {
  store: ObjectStore;
  prefix: string;
}

/**
 * What a run publishes for an as-at date: everything in the outputs zone under as_at=D/ (or, given `staged`, the
 * run's staged set instead: what it is about to release), curated objects under .../as_at=D/, and objects in
 * either zone that belong to no as-at date (e.g. a trend kept across runs). `_releases/` is the local store of
 * released sets behind the published folders (the same files again): not listed twice.
 * The outputs zone's control folders (CONTROL_DIRS: run locks, backfill results) are operational state, not published:
 * the lock of the run being published is held while it scans, so counting it would make the scan differ between a
 * locked and an unlocked run.
 */
export async function publishedObjects(
  stores: { outputs: ObjectStore; curated: ObjectStore },
  asAt: string,
  exclude: (zone: string, key: string) => boolean = () => false,
  staged?: StagedSet,
): Promise<ScanTarget[]> {
  const out: ScanTarget[] = [];
  const dated = (key: string) => /(^|\/)as_at=/.test(key);
  const ours = (key: string) => key.startsWith(`as_at=${asAt}/`) || key.includes(`/as_at=${asAt}/`) || !dated(key);
  for (const [zone, store] of [
    ['outputs', stores.outputs],
    ['curated', stores.curated],
  ] as const) {
    for (const o of await store.list('')) {
      if (o.key.startsWith('_releases/') || exclude(zone, o.key)) continue;
      if (zone === 'outputs' && CONTROL_DIRS.some((d) => o.key.startsWith(d))) continue;
      if (zone === 'outputs' && staged ? !dated(o.key) : ours(o.key)) out.push({ zone, store, key: o.key });
    }
  }
  if (staged)
    for (const o of await staged.store.list(staged.prefix))
      if (!exclude('staged', o.key)) out.push({ zone: 'staged', store: staged.store, key: o.key });
  return out;
}

/** Scan every published object for the as-at date. */
export async function scanPublished(
  ix: IdentifierIndex,
  stores: { outputs: ObjectStore; curated: ObjectStore },
  asAt: string,
  opts: ScanOptions & {
    log?: Log;
    exclude?: (zone: string, key: string) => boolean;
    vocabulary?: Iterable<string>;
  } = {},
): Promise<{ collector: ScanCollector; result: ScanResult }> {
  const collector = new ScanCollector(ix, opts.log, opts.vocabulary, opts);
  try {
    for (const t of await publishedObjects(stores, asAt, opts.exclude)) await collector.scanObject(t);
  } finally {
    await collector.close();
  }
  return { collector, result: collector.result(asAt) };
}

/** One line per finding, for a terminal: file, location and kind only. */
export function describeFinding(f: Finding): string {
  return `${f.zone}/${f.key}: ${KIND_LABELS[f.kind]} at ${f.location} (secure record ${f.recordIds.join(', ')})`;
}
