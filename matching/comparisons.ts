/**
 * Comparisons: each an ordered list of small named levels (Splink style). Level 0 is always "null"
 * (either side missing: weight 0), level 1 "exact", the last "else". A comparison is *prepared* once
 * from its encoded column (features per distinct value, plain typed arrays, so it can be sent to a
 * worker thread) and turned into a comparator `(codeA, codeB) => level` with a per-pair cache.
 */
import type { ComparisonSettings, ComparisonType } from './settings.ts';
import { jaroWinkler, levenshtein } from './similarity.ts';
import type { EncodedColumn, Normaliser } from './table.ts';
import { forenameAlternatives } from './standardise/names.ts';

export type LevelKind =
  | 'null'
  | 'exact'
  | 'swapped'
  | 'parts'
  | 'alternatives'
  | 'jaro_winkler'
  | 'levenshtein'
  | 'transposed_day_month'
  | 'one_edit'
  | 'same_year_month'
  | 'within_a_year'
  | 'postcode_sector'
  | 'postcode_district'
  | 'postcode_area'
  | 'else';

export interface LevelSpec {
  label: string;
  kind: LevelKind;
  threshold?: number;
}

/** Canonical name form: upper case, accents folded, punctuation dropped, spaces collapsed. */
export function normaliseName(v: string): string | null {
  const s = v
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^A-Z\s-]/g, '')
    .replace(/\s*-\s*/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
  return s === '' ? null : s;
}

export function normaliseString(v: string): string | null {
  const s = v.toUpperCase().replace(/\s+/g, ' ').trim();
  return s === '' ? null : s;
}

const UK_POSTCODE = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/;

export function normalisePostcodeUk(v: string): string | null {
  const s = v.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (s === '') return null;
  const m = UK_POSTCODE.exec(s);
  return m ? `${m[1]} ${m[2]}` : s;
}

/** Parse a date written in `format` (tokens yyyy, MM, dd; other characters literal) to YYYY-MM-DD; raw value kept when it does not parse. */
export function dateNormaliser(format: string | undefined): Normaliser {
  const formats = format ? [format] : ['yyyy-MM-dd', 'yyyyMMdd', 'dd/MM/yyyy'];
  const parsers = formats.map((f) => {
    let re = '^';
    const order: string[] = [];
    for (let i = 0; i < f.length;) {
      const tok = ['yyyy', 'MM', 'dd'].find((t) => f.startsWith(t, i));
      if (tok) {
        re += tok === 'yyyy' ? '(\\d{4})' : '(\\d{1,2})';
        order.push(tok);
        i += tok.length;
      } else {
        re += f[i]!.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i++;
      }
    }
    return { re: new RegExp(`${re}$`), order };
  });
  return (v: string) => {
    const t = v.trim();
    if (t === '') return null;
    for (const p of parsers) {
      const m = p.re.exec(t);
      if (!m) continue;
      const parts: Record<string, number> = {};
      p.order.forEach((tok, i) => (parts[tok] = Number(m[i + 1])));
      const y = parts.yyyy!;
      const mo = parts.MM!;
      const d = parts.dd!;
      const iso = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
      // not a calendar date (e.g. 31 June): keep the digits as written, so exact and one-edit still compare
      const dt = new Date(Date.UTC(y, mo - 1, d));
      if (mo < 1 || mo > 12 || d < 1 || dt.getUTCDate() !== d) return t;
      return iso;
    }
    return t;
  };
}

export function normaliserFor(c: ComparisonSettings): Normaliser | undefined {
  switch (c.type) {
    case 'name':
      return normaliseName;
    case 'string':
      return normaliseString;
    case 'postcode_uk':
      return normalisePostcodeUk;
    case 'date':
      return dateNormaliser(c.format);
    default:
      return undefined;
  }
}

export function levelsFor(c: ComparisonSettings): LevelSpec[] {
  const L: LevelSpec[] = [
    { label: 'null', kind: 'null' },
    { label: 'exact', kind: 'exact' },
  ];
  const jw = (defaults: number[]) => {
    for (const s of c.similarities ?? defaults)
      L.push({ label: `jaro_winkler >= ${s}`, kind: 'jaro_winkler', threshold: s });
  };
  const lev = (defaults: number[]) => {
    for (const d of c.distances ?? defaults)
      L.push({ label: `levenshtein <= ${d}`, kind: 'levenshtein', threshold: d });
  };
  switch (c.type as ComparisonType) {
    case 'exact':
      break;
    case 'identifier':
      lev([]);
      break;
    case 'levenshtein':
      lev([1, 2]);
      break;
    case 'jaro_winkler':
      jw([0.92, 0.88, 0.7]);
      break;
    case 'string':
      lev([1]);
      jw([0.9, 0.8]);
      break;
    case 'name':
      if (c.swapWith) L.push({ label: `swapped with ${c.swapWith}`, kind: 'swapped' });
      if (c.parts) L.push({ label: 'a name part equal', kind: 'parts' });
      L.push({ label: 'equivalent (nickname/transliteration)', kind: 'alternatives' });
      lev([]);
      jw([0.92, 0.88, 0.7]);
      break;
    case 'date':
      L.push({ label: 'day and month transposed', kind: 'transposed_day_month' });
      L.push({ label: 'one character edit', kind: 'one_edit' });
      L.push({ label: 'same year and month', kind: 'same_year_month' });
      L.push({ label: 'within a year', kind: 'within_a_year' });
      break;
    case 'postcode_uk':
      L[1] = { label: 'full postcode', kind: 'exact' };
      L.push(
        { label: 'same sector', kind: 'postcode_sector' },
        { label: 'same district', kind: 'postcode_district' },
        { label: 'same area', kind: 'postcode_area' },
      );
      break;
  }
  L.push({ label: 'else', kind: 'else' });
  return L;
}

/** Compressed sparse rows: the integer set of distinct value i is data[offsets[i] .. offsets[i+1]). */
export interface IntSets {
  offsets: Int32Array;
  data: Int32Array;
}

export interface PreparedComparison {
  name: string;
  column: string;
  type: ComparisonType;
  levels: LevelSpec[];
  termFrequency: boolean;
  codes: Int32Array;
  values: string[];
  alternatives?: IntSets;
  /** name with swapWith: per record, the other column's value as a code of this column (-1 when absent). */
  swapCodes?: Int32Array;
  parts?: IntSets;
  /** Jaro-Winkler comparisons: per distinct value, 32 character-class counts (a bound that skips hopeless pairs). */
  charCounts?: Uint8Array;
  /** date: days since 1970-01-01 per distinct value (NaN when not a date), and year*100+month. */
  dayNumber?: Float64Array;
  yearMonth?: Int32Array;
  monthDay?: Int32Array;
  /** postcode_uk: interned sector/district/area per distinct value (-1 when not a UK postcode). */
  sector?: Int32Array;
  district?: Int32Array;
  area?: Int32Array;
}

export interface PrepareHooks {
  /** Canonical forms (nickname and transliteration equivalents, including itself) of a normalised name. */
  nameAlternatives?: (name: string) => readonly string[];
}

function intSets(values: string[], f: (v: string) => readonly string[]): IntSets {
  const dict = new Map<string, number>();
  const offsets = new Int32Array(values.length + 1);
  const data: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const set = new Set<number>();
    for (const s of f(values[i]!)) {
      let c = dict.get(s);
      if (c === undefined) dict.set(s, (c = dict.size));
      set.add(c);
    }
    for (const c of [...set].sort((a, b) => a - b)) data.push(c);
    offsets[i + 1] = data.length;
  }
  return { offsets, data: Int32Array.from(data) };
}

function intersects(s: IntSets, a: number, b: number): boolean {
  let i = s.offsets[a]!;
  const ie = s.offsets[a + 1]!;
  let j = s.offsets[b]!;
  const je = s.offsets[b + 1]!;
  while (i < ie && j < je) {
    const x = s.data[i]!;
    const y = s.data[j]!;
    if (x === y) return true;
    if (x < y) i++;
    else j++;
  }
  return false;
}

export function prepareComparison(
  c: ComparisonSettings,
  col: EncodedColumn,
  hooks: PrepareHooks = {},
  swapCol?: EncodedColumn,
): PreparedComparison {
  const p: PreparedComparison = {
    name: c.name ?? c.column,
    column: c.column,
    type: c.type,
    levels: levelsFor(c),
    termFrequency: c.termFrequency ?? c.type === 'name',
    codes: col.codes,
    values: col.values,
  };
  const values = col.values;
  if (c.type === 'name') {
    p.alternatives = nameAlternativeSets(values, hooks.nameAlternatives ?? forenameAlternatives);
    if (c.parts) p.parts = intSets(values, (v) => v.split(/[\s-]+/).filter((x) => x.length > 1));
  }
  if (p.levels.some((l) => l.kind === 'jaro_winkler')) p.charCounts = charClassCounts(values);
  if (swapCol) p.swapCodes = swapCodesOf(values, swapCol);
  if (c.type === 'date') Object.assign(p, dateFeatures(values));
  if (c.type === 'postcode_uk') Object.assign(p, postcodeFeatures(values));
  return p;
}

/** Per distinct name: the canonical forms of it and of each of its parts (nicknames, transliterations), as int sets. */
function nameAlternativeSets(values: string[], alt: ((name: string) => readonly string[]) | undefined): IntSets {
  return intSets(values, (v) => {
    const out = new Set<string>([v]);
    for (const part of [v, ...v.split(/[\s-]+/)]) if (alt) for (const a of alt(part)) out.add(a);
    return [...out];
  });
}

/** Per distinct value, 32 character-class counts (A-Z, digits mod 5, other), capped at 255: the Jaro-Winkler bound's input. */
function charClassCounts(values: string[]): Uint8Array {
  const h = new Uint8Array(values.length * 32);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    for (let k = 0; k < v.length; k++) {
      const ch = v.charCodeAt(k);
      const b =
        ch >= 65 && ch <= 90
          ? ch - 65
          : ch >= 97 && ch <= 122
            ? ch - 97
            : ch >= 48 && ch <= 57
              ? 26 + ((ch - 48) % 5)
              : 31;
      const at = i * 32 + b;
      if (h[at]! < 255) h[at]!++;
    }
  }
  return h;
}

/** Per record: the other column's value as a code of this column (-1 when absent), for the swapped level. */
function swapCodesOf(values: string[], swapCol: EncodedColumn): Int32Array {
  const dict = new Map<string, number>();
  values.forEach((v, i) => dict.set(v, i));
  const map = swapCol.values.map((v) => dict.get(v) ?? -1);
  return Int32Array.from(swapCol.codes, (x) => (x < 0 ? -1 : map[x]!));
}

/** Per distinct date: days since 1970-01-01 (NaN when not a date), year*100+month and month*100+day (-1). */
function dateFeatures(values: string[]): Pick<PreparedComparison, 'dayNumber' | 'yearMonth' | 'monthDay'> {
  const dayNumber = new Float64Array(values.length);
  const yearMonth = new Int32Array(values.length);
  const monthDay = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(values[i]!);
    if (!m) {
      dayNumber[i] = NaN;
      yearMonth[i] = -1;
      monthDay[i] = -1;
      continue;
    }
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    dayNumber[i] = Date.UTC(y, mo - 1, d) / 86_400_000;
    yearMonth[i] = y * 100 + mo;
    monthDay[i] = mo * 100 + d;
  }
  return { dayNumber, yearMonth, monthDay };
}

/** Per distinct postcode: its sector, district and area, interned (-1 when not a UK postcode). */
function postcodeFeatures(values: string[]): Pick<PreparedComparison, 'sector' | 'district' | 'area'> {
  const dict = new Map<string, number>();
  const intern = (s: string) => {
    let k = dict.get(s);
    if (k === undefined) dict.set(s, (k = dict.size));
    return k;
  };
  const sector = new Int32Array(values.length).fill(-1);
  const district = new Int32Array(values.length).fill(-1);
  const area = new Int32Array(values.length).fill(-1);
  for (let i = 0; i < values.length; i++) {
    const parts = postcodeParts(values[i]!);
    if (!parts) continue;
    sector[i] = intern(`S${parts.sector}`);
    district[i] = intern(`D${parts.district}`);
    area[i] = intern(`A${parts.area}`);
  }
  return { sector, district, area };
}

export function postcodeParts(pc: string): { sector: string; district: string; area: string } | null {
  const m = /^([A-Z]{1,2})([0-9][A-Z0-9]?) ([0-9])[A-Z]{2}$/.exec(pc);
  if (!m) return null;
  return { sector: `${m[1]}${m[2]} ${m[3]}`, district: `${m[1]}${m[2]}`, area: m[1]! };
}

export type Comparator = (a: number, b: number) => number;

/** Whether the comparator reads the value strings (else codes and features suffice: no need to ship them to workers). */
export function needsValues(p: PreparedComparison): boolean {
  return p.levels.some((l) => l.kind === 'jaro_winkler' || l.kind === 'levenshtein' || l.kind === 'one_edit');
}

/** Level of records i and j (record indexes): the code comparator plus the record-level swap check. */
const memo = new WeakMap<PreparedComparison, Comparator>();

export function makeRecordComparator(p: PreparedComparison, cached = true): Comparator {
  // one cached comparator per prepared comparison (its cache is reused from shard to shard)
  if (cached) {
    let c = memo.get(p);
    if (!c) memo.set(p, (c = buildRecordComparator(p, true)));
    return c;
  }
  return buildRecordComparator(p, false);
}

function buildRecordComparator(p: PreparedComparison, cached: boolean): Comparator {
  const byCode = makeComparator(p, cached);
  const codes = p.codes;
  const swap = p.swapCodes;
  const swapLevel = p.levels.findIndex((l) => l.kind === 'swapped');
  if (!swap || swapLevel < 0) return (i, j) => byCode(codes[i]!, codes[j]!);
  return (i, j) => {
    const a = codes[i]!;
    const b = codes[j]!;
    if (a >= 0 && b >= 0 && a !== b && (swap[i] === b || swap[j] === a)) return swapLevel;
    return byCode(a, b);
  };
}

const CACHE_SIZE = 1 << 16;

/** The comparator of a prepared comparison: level index for two codes (-1 = null). */
export function makeComparator(p: PreparedComparison, cached = true): Comparator {
  const levelOf = levelComparator(p);
  if (!cached) {
    return (a: number, b: number): number => {
      if (a < 0 || b < 0) return 0;
      if (a === b) return 1;
      return a < b ? levelOf(a, b) : levelOf(b, a);
    };
  }
  return cachedLevels(levelOf);
}

/**
 * A direct-mapped cache of (a, b) -> level in front of `levelOf`: fixed memory, no allocation, overwritten on
 * collision. Why: the same pair of distinct values (a common surname, a shared postcode) recurs across blocks.
 */
function cachedLevels(levelOf: Comparator): Comparator {
  const D = 2 ** 26; // codes < 2^24: (lo, hi) packs exactly into a double
  const keys = new Float64Array(CACHE_SIZE).fill(-1);
  const lv = new Uint8Array(CACHE_SIZE);
  return (a: number, b: number): number => {
    if (a < 0 || b < 0) return 0;
    if (a === b) return 1;
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const key = lo * D + hi;
    const h = (Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1) >>> 12) & (CACHE_SIZE - 1);
    if (keys[h] === key) return lv[h]!;
    const lvl = levelOf(lo, hi);
    keys[h] = key;
    lv[h] = lvl;
    return lvl;
  };
}

/**
 * The level of two different non-null codes a < b: the first of the fuzzy levels (between exact and else) that the
 * two values meet, else the else level. String distances are computed at most once per pair, and only when a
 * bound from the lengths (and character counts) says the threshold can be met.
 */
function levelComparator(p: PreparedComparison): Comparator {
  const L = p.levels;
  const elseLevel = L.length - 1;
  const values = p.values;
  const hist = p.charCounts;
  const minJw = Math.min(...L.filter((l) => l.kind === 'jaro_winkler').map((l) => l.threshold!));
  return (a: number, b: number): number => {
    const va = values[a] ?? '';
    const vb = values[b] ?? '';
    let jw = -1;
    let lev = -1;
    const la = va.length;
    const lb = vb.length;
    const lenDiff = la < lb ? lb - la : la - lb;
    for (let li = 2; li < elseLevel; li++) {
      const lv = L[li]!;
      switch (lv.kind) {
        case 'jaro_winkler':
          if (jw < 0) jw = jaroWinklerAbove(minJw, va, vb, hist, a, b);
          if (jw >= lv.threshold!) return li;
          break;
        case 'levenshtein':
          if (lenDiff > lv.threshold!) break;
          if (lev < 0) lev = levenshtein(va, vb);
          if (lev <= lv.threshold!) return li;
          break;
        case 'one_edit':
          if (lenDiff > 1) break;
          if (lev < 0) lev = lenDiff === 0 ? hammingAtMost2(va, vb) : levenshtein(va, vb);
          if (lev <= 1) return li;
          break;
        default:
          if (featureLevelMet(p, lv.kind, a, b)) return li;
          break;
      }
    }
    return elseLevel;
  };
}

/**
 * Jaro-Winkler of va and vb, or 0 when an upper bound is below `minJw` (the lowest JW threshold). Why: most
 * compared pairs are far apart, and the bounds cost O(1) (lengths) and O(32) (character-class counts, `hist`)
 * against O(la * lb) for the distance itself.
 */
function jaroWinklerAbove(
  minJw: number,
  va: string,
  vb: string,
  hist: Uint8Array | undefined,
  a: number,
  b: number,
): number {
  const la = va.length;
  const lb = vb.length;
  const minLen = la < lb ? la : lb;
  // Jaro-Winkler upper bound from the lengths alone (every character of the shorter one matched)
  const jBound = (minLen / la + minLen / lb + 1) / 3;
  const jwBound = jBound + 0.4 * (1 - jBound);
  if (jwBound < minJw) return 0;
  // Jaro-Winkler can be no higher than with every common character matched in order
  let bound = jwBound;
  if (hist) {
    let common = 0;
    const oa = a * 32;
    const ob = b * 32;
    for (let k = 0; k < 32; k++) {
      const x = hist[oa + k]!;
      const y = hist[ob + k]!;
      common += x < y ? x : y;
    }
    const jmax = common === 0 ? 0 : (common / la + common / lb + 1) / 3;
    let pre = 0;
    const maxPre = Math.min(4, minLen);
    while (pre < maxPre && va.charCodeAt(pre) === vb.charCodeAt(pre)) pre++;
    bound = jmax + pre * 0.1 * (1 - jmax);
  }
  return bound < minJw ? 0 : jaroWinkler(va, vb);
}

/** Whether values a and b meet a level decided by precomputed features (name sets, date parts, postcode units). */
function featureLevelMet(p: PreparedComparison, kind: LevelKind, a: number, b: number): boolean {
  switch (kind) {
    case 'alternatives':
      return intersects(p.alternatives!, a, b);
    case 'parts': {
      const s = p.parts!;
      const multi = s.offsets[a + 1]! - s.offsets[a]! > 1 || s.offsets[b + 1]! - s.offsets[b]! > 1;
      return multi && intersects(s, a, b);
    }
    case 'transposed_day_month': {
      const ya = p.yearMonth![a]!;
      const yb = p.yearMonth![b]!;
      if (ya < 0 || yb < 0) return false;
      const mda = p.monthDay![a]!;
      const mdb = p.monthDay![b]!;
      return (
        Math.floor(ya / 100) === Math.floor(yb / 100) &&
        Math.floor(mda / 100) === mdb % 100 &&
        mda % 100 === Math.floor(mdb / 100)
      );
    }
    case 'same_year_month':
      return p.yearMonth![a]! >= 0 && p.yearMonth![a] === p.yearMonth![b];
    case 'within_a_year':
      return Math.abs(p.dayNumber![a]! - p.dayNumber![b]!) <= 365;
    case 'postcode_sector':
      return p.sector![a]! >= 0 && p.sector![a] === p.sector![b];
    case 'postcode_district':
      return p.district![a]! >= 0 && p.district![a] === p.district![b];
    case 'postcode_area':
      return p.area![a]! >= 0 && p.area![a] === p.area![b];
    default:
      return false;
  }
}

/** Equal-length strings: 0, 1 or 2 (= two or more) differing positions; for them edit distance <= 1 iff this is <= 1. */
function hammingAtMost2(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== b.charCodeAt(i) && ++d === 2) return 2;
  return d;
}

/** Default starting m for EM (in level order, null level 0): exact high, else low, the bands between. */
export function initialM(levels: LevelSpec[]): number[] {
  const k = levels.length - 1; // non-null levels
  const m = new Array<number>(levels.length).fill(0);
  if (k === 2) {
    m[1] = 0.9;
    m[2] = 0.1;
    return m;
  }
  m[1] = 0.8;
  m[k] = 0.05;
  for (let i = 2; i < k; i++) m[i] = 0.15 / (k - 2);
  return m;
}
