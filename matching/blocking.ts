/**
 * Blocking: a union of equi-join rules. Each rule's key is an integer per record (-1 when any of
 * its columns is null); candidate pairs are the record pairs sharing a key under at least one rule.
 * A pair is produced only by the FIRST rule that finds it (a later rule skips pairs an earlier rule's
 * key already joins), so each pair is scored once and no global pair set is needed: the work splits
 * into independent shards by key hash (the unit of worker-thread and AWS Distributed Map fan-out).
 * Pair counts per rule are computed by counting block sizes before any pair is materialised.
 */
import { makeRecordComparator, postcodeParts, type PreparedComparison } from './comparisons.ts';
import { ruleColumn, ruleTransform } from './settings.ts';
import { soundex } from './similarity.ts';
import type { EncodedColumn, LinkTable } from './table.ts';

export type LinkType = 'dedupe_only' | 'link_only' | 'link_and_dedupe';

export const MAX_RULES = 16;

function transformFn(t: string | null, term: string): ((v: string) => string | null) | null {
  if (t === null || t === '') return null;
  const prefix = /^(?:prefix|first)(\d+)$/.exec(t);
  if (prefix) {
    const k = Number(prefix[1]);
    return (v) => v.slice(0, k);
  }
  switch (t) {
    case 'soundex':
      return (v) => soundex(v) || null;
    case 'year':
      return (v) => (/^\d{4}/.test(v) ? v.slice(0, 4) : null);
    case 'yearmonth':
      return (v) => (/^\d{4}-\d{2}/.test(v) ? v.slice(0, 7) : null);
    case 'sector':
      return (v) => postcodeParts(v)?.sector ?? null;
    case 'district':
      return (v) => postcodeParts(v)?.district ?? null;
    case 'area':
      return (v) => postcodeParts(v)?.area ?? null;
    case 'first_token':
      return (v) => v.split(/[\s-]+/)[0] ?? null;
    case 'last_token':
      return (v) => v.split(/[\s-]+/).at(-1) ?? null;
    default:
      throw new Error(
        `rule term "${term}": unknown transform "${t}" (known: prefixN, soundex, year, yearmonth, sector, district, area, first_token, last_token)`,
      );
  }
}

/** Per record, the (possibly transformed) value code of one rule term. */
export function termCodes(col: EncodedColumn, term: string): Int32Array {
  const f = transformFn(ruleTransform(term), term);
  if (!f) return col.codes;
  const dict = new Map<string, number>();
  const map = new Int32Array(col.values.length);
  for (let i = 0; i < col.values.length; i++) {
    const t = f(col.values[i]!);
    if (t === null || t === '') map[i] = -1;
    else {
      let k = dict.get(t);
      if (k === undefined) dict.set(t, (k = dict.size));
      map[i] = k;
    }
  }
  const out = new Int32Array(col.codes.length);
  for (let i = 0; i < out.length; i++) {
    const c = col.codes[i]!;
    out[i] = c < 0 ? -1 : map[c]!;
  }
  return out;
}

/** Open-addressing hash of non-negative integer-valued doubles to dense ids (no allocation per key). */
export class NumberInterner {
  private keys: Float64Array;
  private ids: Int32Array;
  private mask: number;
  size = 0;
  constructor(expected: number) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.ids = new Int32Array(cap);
    this.mask = cap - 1;
  }
  intern(k: number): number {
    let h = (Math.imul((k % 4294967296) | 0, 0x9e3779b1) ^ Math.imul(Math.floor(k / 4294967296) | 0, 0x85ebca6b)) >>> 0;
    for (;;) {
      h &= this.mask;
      const cur = this.keys[h]!;
      if (cur === k) return this.ids[h]!;
      if (cur === -1) {
        this.keys[h] = k;
        this.ids[h] = this.size;
        return this.size++;
      }
      h++;
    }
  }
}

/** Dense key per record for a rule (-1 when any term is null). */
export function ruleKeys(table: LinkTable, rule: readonly string[]): Int32Array {
  let keys: Int32Array | null = null;
  for (const term of rule) {
    const col = table.columns.get(ruleColumn(term));
    if (!col) throw new Error(`rule term "${term}": no column "${ruleColumn(term)}"`);
    const codes = termCodes(col, term);
    if (keys === null) {
      keys = codes;
      continue;
    }
    let max = 0;
    for (let i = 0; i < codes.length; i++) if (codes[i]! > max) max = codes[i]!;
    const interner = new NumberInterner(codes.length);
    const next = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const a = keys[i]!;
      const b = codes[i]!;
      next[i] = a < 0 || b < 0 ? -1 : interner.intern(a * (max + 1) + b);
    }
    keys = next;
  }
  return keys!;
}

export interface RuleCount {
  rule: string;
  /** Pairs the rule joins on its own (counted from block sizes, before materialising). */
  pairs: number;
  blocks: number;
  /** Sizes of the largest blocks (record counts; no values). */
  largestBlocks: number[];
}

export function ruleName(rule: readonly string[]): string {
  return rule.join(' & ');
}

/** Pairs a rule would produce, by counting records per key (and per source dataset when linking). */
export function countRulePairs(
  keys: Int32Array,
  source: Uint8Array,
  sourceCount: number,
  linkType: LinkType,
  rule: string,
): RuleCount {
  let maxKey = -1;
  for (let i = 0; i < keys.length; i++) if (keys[i]! > maxKey) maxKey = keys[i]!;
  const K = maxKey + 1;
  const perSource = linkType === 'link_only' && sourceCount > 1;
  const counts = new Float64Array(K * (perSource ? sourceCount : 1));
  const totals = new Float64Array(K);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k < 0) continue;
    totals[k]!++;
    if (perSource) counts[k * sourceCount + source[i]!]!++;
  }
  let pairs = 0;
  let blocks = 0;
  for (let k = 0; k < K; k++) {
    const t = totals[k]!;
    if (t === 0) continue;
    blocks++;
    if (perSource) {
      let sq = 0;
      for (let s = 0; s < sourceCount; s++) sq += counts[k * sourceCount + s]! ** 2;
      pairs += (t * t - sq) / 2;
    } else pairs += (t * (t - 1)) / 2;
  }
  const sorted = totals.slice().sort();
  const largest = Array.from(sorted.subarray(Math.max(0, K - 5)))
    .reverse()
    .filter((x) => x > 0);
  return { rule, pairs, blocks, largestBlocks: largest };
}

/** The blocking guard's limits (settings.maxPairsPerRecord, maxBlockRecords and the optional maxPairsPerRule). */
export interface BlockingLimits {
  maxPairsPerRecord: number;
  maxBlockRecords: number;
  maxPairsPerRule?: number | undefined;
}

/**
 * Why a rule's counted pairs are refused (undefined when they are not): more candidate pairs per record than
 * maxPairsPerRecord, a block larger than maxBlockRecords, or more pairs than maxPairsPerRule when that is set.
 * The limits scale with the input, so a rule that is sound for one council stays sound for ten.
 */
export function blockingRefusal(
  kind: 'blocking' | 'deterministic',
  c: RuleCount,
  records: number,
  limits: BlockingLimits,
): string | undefined {
  const n = (x: number) => x.toLocaleString('en-GB');
  const largest = c.largestBlocks[0] ?? 0;
  const perRecord = records === 0 ? 0 : c.pairs / records;
  const what = `${kind} rule [${c.rule}] would produce ${n(c.pairs)} candidate pairs (${perRecord.toFixed(1)} per record of ${n(records)}; its largest block has ${n(largest)} records)`;
  const fix = 'make the rule stricter (add a column or a transform)';
  if (perRecord > limits.maxPairsPerRecord)
    return `${what}: more than maxPairsPerRecord ${n(limits.maxPairsPerRecord)}: ${fix} or raise maxPairsPerRecord`;
  if (largest > limits.maxBlockRecords)
    return `${what}: a block of more than maxBlockRecords ${n(limits.maxBlockRecords)}: ${fix} or raise maxBlockRecords`;
  if (limits.maxPairsPerRule !== undefined && c.pairs > limits.maxPairsPerRule)
    return `${what}: more than maxPairsPerRule ${n(limits.maxPairsPerRule)}: ${fix} or raise maxPairsPerRule`;
  return undefined;
}

/** Everything a shard needs: plain data (typed arrays, strings), so it can be posted to a worker. */
export interface ShardInput {
  n: number;
  source: Uint8Array;
  linkType: LinkType;
  ruleKeys: Int32Array[];
  comparisons: PreparedComparison[];
  /** Optional precomputed layout: per rule, records ordered by (shard, key, record) and each shard's start. */
  layout?: ShardLayout;
}

export interface ShardLayout {
  shardCount: number;
  order: Int32Array[];
  starts: Int32Array[];
}

/** Orders each rule's keyed records by (shard, key, record) once, so a shard reads only its own slice. */
export function layoutShards(keys: Int32Array[], shardCount: number): ShardLayout | undefined {
  if (shardCount > 31 || (keys[0]?.length ?? 0) >= 1 << 24) return undefined;
  const order: Int32Array[] = [];
  const starts: Int32Array[] = [];
  const B24 = 2 ** 24;
  const B48 = 2 ** 48;
  for (const kk of keys) {
    let m = 0;
    for (let i = 0; i < kk.length; i++) if (kk[i]! >= 0) m++;
    const packed = new Float64Array(m);
    m = 0;
    for (let i = 0; i < kk.length; i++) {
      const key = kk[i]!;
      if (key >= 0) packed[m++] = shardOf(key, shardCount) * B48 + key * B24 + i;
    }
    packed.sort();
    const o = new Int32Array(m);
    const st = new Int32Array(shardCount + 1);
    for (let x = 0; x < m; x++) {
      const v = packed[x]!;
      o[x] = v % B24;
      st[Math.floor(v / B48) + 1]!++;
    }
    for (let sh = 0; sh < shardCount; sh++) st[sh + 1]! += st[sh]!;
    order.push(o);
    starts.push(st);
  }
  return { shardCount, order, starts };
}

export interface ShardPairs {
  count: number;
  l: Int32Array;
  r: Int32Array;
  /** Bit j set when the pair agrees on blocking rule j; the lowest set bit is the rule that produced it. */
  mask: Uint16Array;
  /** count * comparisons levels, pair-major. */
  gamma: Uint8Array;
}

export function shardOf(key: number, shardCount: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 0) % shardCount;
}

/** Pairs of one shard (all rules), each with its level per comparison. */
export function enumerateShard(input: ShardInput, shard: number, shardCount: number): ShardPairs {
  if (input.n >= 1 << 24) throw new Error('blocking: at most 16,777,215 records per run');
  const comparators = input.comparisons.map((c) => makeRecordComparator(c));
  const out = new PairBuffer(comparators.length);
  for (let k = 0; k < input.ruleKeys.length; k++)
    pairsOfBlocks(input, k, shardRecordsOfRule(input, k, shard, shardCount), comparators, out);
  return out.done();
}

/** A key's records are packed as key * 2^24 + record (records < 2^24), so sorting the numbers groups the blocks. */
const SHIFT = 2 ** 24;

/** Rule k's keyed records of one shard, packed and in (key, record) order: from the layout, else found and sorted. */
function shardRecordsOfRule(input: ShardInput, k: number, shard: number, shardCount: number): Float64Array {
  const kk = input.ruleKeys[k]!;
  const lay = input.layout && input.layout.shardCount === shardCount ? input.layout : undefined;
  let m = 0;
  if (lay) {
    const from = lay.starts[k]![shard]!;
    const to = lay.starts[k]![shard + 1]!;
    const o = lay.order[k]!;
    const packed = new Float64Array(to - from);
    for (let x = from; x < to; x++) packed[m++] = kk[o[x]!]! * SHIFT + o[x]!;
    return packed;
  }
  for (let i = 0; i < kk.length; i++) {
    const key = kk[i]!;
    if (key >= 0 && shardOf(key, shardCount) === shard) m++;
  }
  const packed = new Float64Array(m);
  m = 0;
  for (let i = 0; i < kk.length; i++) {
    const key = kk[i]!;
    if (key >= 0 && shardOf(key, shardCount) === shard) packed[m++] = key * SHIFT + i;
  }
  return packed.sort();
}

/**
 * Every pair within each block of rule k's packed records that no earlier rule joins (the first rule that finds a
 * pair produces it), with the rules that join it (mask) and its level per comparison.
 */
function pairsOfBlocks(
  input: ShardInput,
  k: number,
  packed: Float64Array,
  comparators: Array<(a: number, b: number) => number>,
  out: PairBuffer,
): void {
  const { ruleKeys: keys, source, linkType } = input;
  const C = comparators.length;
  const m = packed.length;
  let start = 0;
  while (start < m) {
    const key = Math.floor(packed[start]! / SHIFT);
    let end = start + 1;
    while (end < m && Math.floor(packed[end]! / SHIFT) === key) end++;
    for (let x = start; x < end; x++) {
      const a = packed[x]! - key * SHIFT;
      for (let y = x + 1; y < end; y++) {
        const b = packed[y]! - key * SHIFT;
        if (linkType === 'link_only' && source[a] === source[b]) continue;
        if (joinedByEarlierRule(keys, k, a, b)) continue;
        const g = out.add(a, b, rulesJoining(keys, k, a, b));
        const gamma = out.gamma;
        for (let c = 0; c < C; c++) gamma[g + c] = comparators[c]!(a, b);
      }
    }
    start = end;
  }
}

function joinedByEarlierRule(keys: Int32Array[], k: number, a: number, b: number): boolean {
  for (let j = 0; j < k; j++) {
    const ka = keys[j]![a]!;
    if (ka >= 0 && ka === keys[j]![b]) return true;
  }
  return false;
}

/** Bit j set for rule k and every later rule j joining a and b. */
function rulesJoining(keys: Int32Array[], k: number, a: number, b: number): number {
  let bits = 1 << k;
  for (let j = k + 1; j < keys.length; j++) {
    const ka = keys[j]![a]!;
    if (ka >= 0 && ka === keys[j]![b]) bits |= 1 << j;
  }
  return bits;
}

/** A shard's pairs as they are found: typed arrays doubled when full, cut to size at the end. */
class PairBuffer {
  count = 0;
  private cap = 1 << 16;
  l = new Int32Array(this.cap);
  r = new Int32Array(this.cap);
  mask = new Uint16Array(this.cap);
  gamma: Uint8Array;

  constructor(private readonly C: number) {
    this.gamma = new Uint8Array(this.cap * C);
  }

  /** Adds a pair; returns where its comparison levels go in `gamma`. */
  add(a: number, b: number, bits: number): number {
    if (this.count === this.cap) this.grow();
    const i = this.count++;
    this.l[i] = a;
    this.r[i] = b;
    this.mask[i] = bits;
    return i * this.C;
  }

  private grow(): void {
    this.cap *= 2;
    const l = new Int32Array(this.cap);
    l.set(this.l);
    this.l = l;
    const r = new Int32Array(this.cap);
    r.set(this.r);
    this.r = r;
    const mask = new Uint16Array(this.cap);
    mask.set(this.mask);
    this.mask = mask;
    const gamma = new Uint8Array(this.cap * this.C);
    gamma.set(this.gamma);
    this.gamma = gamma;
  }

  done(): ShardPairs {
    const { count, C } = this;
    return {
      count,
      l: this.l.slice(0, count),
      r: this.r.slice(0, count),
      mask: this.mask.slice(0, count),
      gamma: this.gamma.slice(0, count * C),
    };
  }
}
