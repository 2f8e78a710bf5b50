/**
 * The privacy scan's identifier index kept on disk, looked up as the scan goes (issue #12: a publish shard or merge
 * at a million families cannot hold the whole index, ~3 GiB of maps, beside its DuckDB).
 *
 * The publish plan writes the index once as a Parquet table of entries (`m`: the map, `k`: its key, `v`: the entry as
 * JSON; putIndexTableInParts, built a range of people at a time; writeIndexTable from an index in memory). A phase opens it as an IdentifierLookup: `lookup.ix` is an IdentifierIndex whose maps and
 * sets hold only the entries fetched so far and remember every key asked for that they do not know yet.
 * `prepare(units)` makes the index answer those units exactly as the whole index would: it checks each unit against
 * what is known, fetches every key a check asked for and did not know (one DuckDB join for all of them), and checks
 * again the units that asked, until no check asks for an unknown key. A check reads the index only through these
 * look-ups (scan.ts checkUnit; the phrase word sets come from the file too, `ix.phraseWords`), so once none is
 * unknown its hits are the whole index's, byte for byte. `prepare` returns them (each unit's hits from its last
 * check), and until the next prepare checkUnit(lookup.ix, unit) gives them too.
 *
 * Memory: the entries known are dropped (at the start of a prepare, never between a prepare and the checks it
 * serves) once they pass KNOWN_KEYS_LIMIT; DuckDB reads the file with its own memory limit.
 * The file holds the secure zone's clear values: it lives in the secure zone (the stage's shard folder) and in the
 * run's scratch folder only, and no value is ever logged.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openScratchDuckDb, sqlString as literal } from '../io/parquet.ts';
import type { ObjectStore } from '../io/object-store.ts';
import type { TextUnit } from './extract.ts';
import {
  addPerson,
  emptyIndex,
  IDENTIFIER_KINDS,
  indexPeople,
  MAX_IDS,
  type IdentifierIndex,
  type IdentifierKind,
} from './identifiers.ts';

/** The maps and sets of the index, by the name each has in the file's `m` column. */
type MapName = 'whole' | 'phrases' | 'postcode' | 'token' | 'dob' | 'surnameDob';
type SetName = 'forename' | 'surname' | 'phraseFirst' | 'phraseSecond';
type Name = MapName | SetName;

interface Head {
  quarantinedRows: number;
  records: number;
  counts: Record<IdentifierKind, number>;
}

/** Entries known (present or known absent) before a prepare starts again from none. */
export const KNOWN_KEYS_LIMIT = 2_000_000;

/**
 * Write the index as the Parquet table a lookup reads (to `path`, a local file): one row per entry, the head first.
 * The first and second words of the phrases are written as sets of their own (scan.ts phraseWords). The rows go
 * through a gzipped JSON-lines file beside `path` (removed after), which DuckDB streams into the Parquet file with
 * a small memory limit: no table of the whole index in memory beside the index itself.
 */
export async function writeIndexTable(ix: IdentifierIndex, path: string, scratch?: string): Promise<KeyFilter> {
  const lines = `${path}.rows.jsonl.gz`;
  const filter = KeyFilter.forKeys(indexKeys(ix));
  try {
    const gzip = createGzip({ level: 1 });
    const rows = Readable.from(indexRows(ix, filter));
    rows.on('error', (err) => gzip.destroy(err));
    await pipeline(rows, gzip, createWriteStream(lines));
    await rowsToParquet(lines, path, scratch);
  } finally {
    await rm(lines, { force: true });
  }
  return filter;
}

/** How many keys the file will hold (the filter's size), the phrase word sets at most as many as the phrase keys. */
function indexKeys(ix: IdentifierIndex): number {
  return (
    ix.wholeValues.size +
    ix.phrases.size * 3 +
    ix.postcodes.size +
    ix.tokens.size +
    ix.datesOfBirth.size +
    ix.surnameDob.size +
    ix.forenameWords.size +
    ix.surnameWords.size
  );
}

const rowLine = (m: Name | 'head', k: string, v: unknown) =>
  `${JSON.stringify({ m, k, v: v === null ? null : JSON.stringify(v) })}\n`;
const headLine = (head: Head) => rowLine('head', '', head);

/** The first and the second words of the index's phrases, each set in order of first appearance. */
function phraseWords(ix: IdentifierIndex): { first: Set<string>; second: Set<string> } {
  const first = new Set<string>();
  const second = new Set<string>();
  for (const list of ix.phrases.values())
    for (const p of list) {
      first.add(p.words[0]!);
      second.add(p.words[1]!);
    }
  return { first, second };
}

/**
 * The index's rows as JSON lines ({m, k, v}: v the entry as JSON, null for a set's word), the head first unless
 * `head` is false (an index part: the parts' head is written once, for all of them). Each key is given to `onKey`.
 */
function* indexRows(ix: IdentifierIndex, onKey?: { add(m: Name, k: string): void }, head = true): Generator<string> {
  const row = (m: Name, k: string, v: unknown) => {
    onKey?.add(m, k);
    return rowLine(m, k, v);
  };
  if (head) yield headLine({ quarantinedRows: ix.quarantinedRows, records: ix.records, counts: ix.counts });
  for (const [k, v] of ix.wholeValues) yield row('whole', k, v);
  for (const [k, v] of ix.phrases) yield row('phrases', k, v);
  for (const [k, v] of ix.postcodes) yield row('postcode', k, v);
  for (const [k, v] of ix.tokens) yield row('token', k, v);
  for (const [k, v] of ix.datesOfBirth) yield row('dob', k, v);
  for (const [k, v] of ix.surnameDob) yield row('surnameDob', k, v);
  for (const w of ix.forenameWords) yield row('forename', w, null);
  for (const w of ix.surnameWords) yield row('surname', w, null);
  const { first, second } = phraseWords(ix);
  for (const w of first) yield row('phraseFirst', w, null);
  for (const w of second) yield row('phraseSecond', w, null);
}

/** writeIndexTable into an object store (the scratch file is removed once stored). */
export async function putIndexTable(
  ix: IdentifierIndex,
  store: ObjectStore,
  key: string,
  scratchDir: string,
): Promise<void> {
  // the filter beside the table: <key>.filter
  const dir = await mkdtemp(join(scratchDir, 'locality-identifier-index-'));
  try {
    const path = join(dir, 'identifier-index.parquet');
    const filter = await writeIndexTable(ix, path, scratchDir);
    await store.put(key, createReadStream(path));
    await store.put(filterKeyOf(key), filter.toBytes());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * People (person records) an index part is built from: one part's index in JS at a time, ~0.2 GiB of heap per
 * 500,000 at these densities, so ~0.4 GiB here. A population of one part (up to ~110,000 families) is written as an
 * index in memory, without the parts' DuckDB sort and merge (at 100,000 families, 891,086 person records, the plan's
 * index step in 2 parts of 500,000 took 91.6 CPU s).
 */
export const PEOPLE_PER_INDEX_PART = 1_000_000;

/** The two filter hashes of every key given, kept compactly (8 bytes a key) until the filter's size is known. */
class KeyHashes {
  private readonly chunks: Uint32Array[] = [];
  private current = new Uint32Array(1 << 20);
  private used = 0;
  add(name: Name, k: string): void {
    if (this.used === this.current.length) {
      this.chunks.push(this.current);
      this.current = new Uint32Array(1 << 20);
      this.used = 0;
    }
    const [a, b] = hashes(name, k);
    this.current[this.used++] = a;
    this.current[this.used++] = b;
  }
  into(filter: KeyFilter): void {
    for (const c of [...this.chunks, this.current.subarray(0, this.used)])
      for (let i = 0; i < c.length; i += 2) filter.addHashes(c[i]!, c[i + 1]!);
  }
}

/**
 * One part's entries as JSON lines for the merge: the sort key (m, k; r the part, pos a phrase's place in its key's
 * list) and the entry as JSON (`j`: kind, first kind, words, record ids). The phrases' first and second words are
 * keys of their own (each once a part).
 */
function* partRows(ix: IdentifierIndex, r: number): Generator<string> {
  const line = (m: Name, k: string, j: Record<string, unknown> | null = null, pos = 0) =>
    `${JSON.stringify({ m, k, r, pos, j: j === null ? null : JSON.stringify(j) })}\n`;
  for (const [k, v] of ix.wholeValues)
    yield line('whole', k, { kind: v.kind, first: ix.firstKinds?.get(k) ?? v.kind, ids: v.recordIds });
  for (const [k, list] of ix.phrases)
    for (const [pos, p] of list.entries())
      yield line('phrases', k, { kind: p.kind, words: p.words, ids: p.recordIds }, pos);
  for (const [k, ids] of ix.postcodes) yield line('postcode', k, { ids });
  for (const [k, v] of ix.tokens) yield line('token', k, { kind: v.kind, ids: v.recordIds });
  for (const [k, ids] of ix.datesOfBirth) yield line('dob', k, { ids });
  for (const [k, ids] of ix.surnameDob) yield line('surnameDob', k, { ids });
  for (const w of ix.forenameWords) yield line('forename', w);
  for (const w of ix.surnameWords) yield line('surname', w);
  const { first, second } = phraseWords(ix);
  for (const w of first) yield line('phraseFirst', w);
  for (const w of second) yield line('phraseSecond', w);
}

interface PartEntry {
  kind?: IdentifierKind;
  first?: IdentifierKind;
  words?: string[];
  ids?: string[];
}

/** The record ids of a later part's entry after an earlier part's, as addPerson remembers them (the first MAX_IDS). */
function rememberAll(into: string[], ids: readonly string[]): void {
  for (const id of ids) if (into.length < MAX_IDS && !into.includes(id)) into.push(id);
}

/**
 * One key's entries from every part that has it (in part order, a phrase key's by part and place) as the whole
 * index has it: the first part's entry, its record ids followed by the later parts' (the first MAX_IDS), a whole value
 * a full name if any part made it one (counted as the kind it was first indexed as), a phrase key's list in the order
 * its phrases were first seen. Returns the row's value and the kinds it counts.
 */
function mergeKey(m: Name, entries: PartEntry[], count: (kind: IdentifierKind) => void): unknown {
  if (m === 'forename' || m === 'surname' || m === 'phraseFirst' || m === 'phraseSecond') return null;
  if (m === 'phrases') {
    const list: Array<{ words: string[]; kind: IdentifierKind; recordIds: string[] }> = [];
    const byText = new Map<string, (typeof list)[number]>();
    for (const e of entries) {
      const text = `${e.kind!}|${e.words!.join(' ')}`;
      const same = byText.get(text);
      if (same) rememberAll(same.recordIds, e.ids!);
      else {
        const entry = { words: e.words!, kind: e.kind!, recordIds: [...e.ids!] };
        byText.set(text, entry);
        list.push(entry);
        count(entry.kind);
      }
    }
    return list;
  }
  const ids = [...entries[0]!.ids!];
  for (const e of entries.slice(1)) rememberAll(ids, e.ids!);
  if (m === 'whole') {
    count(entries[0]!.first!);
    return { kind: entries.some((e) => e.kind === 'full_name') ? 'full_name' : entries[0]!.kind!, recordIds: ids };
  }
  if (m === 'token') {
    count(entries[0]!.kind!);
    return { kind: entries[0]!.kind!, recordIds: ids };
  }
  count(m === 'postcode' ? 'postcode' : m === 'dob' ? 'date_of_birth' : 'surname_and_dob');
  return ids;
}

/**
 * The identifier index of the secure zone for the as-at date, stored as the table a lookup reads (`key`, its filter
 * at filterKeyOf(key)): the same rows and the same filter as putIndexTable of the whole index (loadIdentifierIndex),
 * without the whole index in memory (issue #12: ~3 GiB of maps at a million families). The people are read once,
 * in their order, and indexed part by part (`peoplePerPart`, default PEOPLE_PER_INDEX_PART): each part's index is
 * written out as JSON lines and dropped, so one part's entries are in JS at a time. A file-backed DuckDB (1 GB,
 * spilling to the scratch folder) sorts the parts' entries by key; they are read back one key at a time and merged
 * as the whole index has them (mergeKey), and the table is written from the merged rows as writeIndexTable writes it.
 * Beside one key's entries, JS holds the filter's two hashes of every key (8 bytes a key) until the filter is sized.
 */
export async function putIndexTableInParts(
  secure: ObjectStore,
  asAt: string,
  key: string,
  scratchDir: string,
  opts: { peoplePerPart?: number; isPeopleFeed?: (source: string, feed: string) => boolean } = {},
): Promise<{ parts: number; keys: number }> {
  const perPart = Math.max(1, opts.peoplePerPart ?? PEOPLE_PER_INDEX_PART);
  const dir = await mkdtemp(join(scratchDir, 'locality-identifier-index-'));
  try {
    const path = join(dir, 'identifier-index.parquet');
    const partLines = join(dir, 'parts.jsonl.gz');
    const head: Head = {
      quarantinedRows: 0,
      records: 0,
      counts: Object.fromEntries(IDENTIFIER_KINDS.map((k) => [k, 0])) as Record<IdentifierKind, number>,
    };
    let parts = 0;
    // the first part's people; when they are all the people (a population of at most one part), the index is this
    // part and is written as an index in memory (writeIndexTable: the same rows and filter, no DuckDB sort and merge)
    const people = indexPeople(secure, asAt, opts.isPeopleFeed)[Symbol.asyncIterator]();
    const partIndex = () => Object.assign(emptyIndex(), { firstKinds: new Map<string, IdentifierKind>() });
    type Person = { person: Parameters<typeof addPerson>[1]; quarantined: boolean };
    const addTo = (ix: IdentifierIndex, p: Person) => {
      addPerson(ix, p.person);
      if (p.quarantined) {
        ix.records--;
        ix.quarantinedRows++;
      }
    };
    const first = partIndex();
    let seen = 0;
    let next = await people.next();
    while (!next.done && seen < perPart) {
      addTo(first, next.value);
      seen++;
      next = await people.next();
    }
    if (next.done) {
      const filter = await writeIndexTable(first, path, scratchDir);
      await secure.put(key, createReadStream(path));
      await secure.put(filterKeyOf(key), filter.toBytes());
      return { parts: 1, keys: indexKeys(first) };
    }
    const pending: IteratorResult<Person> = next; // the first person of the second part
    async function* byPart(): AsyncGenerator<string> {
      yield* flush(first);
      let ix = partIndex();
      let inPart = 0;
      for (let r = pending; !r.done; r = await people.next()) {
        addTo(ix, r.value);
        if (++inPart === perPart) {
          yield* flush(ix);
          ix = partIndex();
          inPart = 0;
        }
      }
      if (inPart > 0) yield* flush(ix);
    }
    function* flush(ix: IdentifierIndex): Generator<string> {
      head.records += ix.records;
      head.quarantinedRows += ix.quarantinedRows;
      yield* partRows(ix, parts++);
    }
    await gzipLines(byPart(), partLines);
    // the parts' entries sorted by key, merged key by key into the table's rows
    const hashed = new KeyHashes();
    let size = 0;
    const rowLines = `${path}.rows.jsonl.gz`;
    const db = await openScratchDuckDb('1GB', scratchDir, { onDisk: true });
    try {
      await db.conn.run('SET preserve_insertion_order = false');
      await db.conn.run(
        `CREATE TABLE parts AS SELECT * FROM read_json(${literal(partLines)}, format = 'newline_delimited', columns = {m: 'VARCHAR', k: 'VARCHAR', r: 'INTEGER', pos: 'INTEGER', j: 'VARCHAR'})`,
      );
      await rm(partLines, { force: true });
      const result = await db.conn.stream('SELECT m, k, j FROM parts ORDER BY m, k, r, pos');
      async function* merged(): AsyncGenerator<string> {
        let m: Name | null = null;
        let k = '';
        let entries: PartEntry[] = [];
        const count = (kind: IdentifierKind) => head.counts[kind]++;
        const emit = () => {
          hashed.add(m!, k);
          size += m === 'phrases' ? 3 : m === 'phraseFirst' || m === 'phraseSecond' ? 0 : 1;
          return rowLine(m!, k, mergeKey(m!, entries, count));
        };
        for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
          const out: string[] = [];
          for (const [cm, ck, cj] of chunk.getRows()) {
            const rowM = String(cm) as Name;
            const rk = String(ck);
            if (m !== null && (rowM !== m || rk !== k)) {
              out.push(emit());
              entries = [];
            }
            m = rowM;
            k = rk;
            entries.push(cj === null ? {} : (JSON.parse(String(cj)) as PartEntry));
          }
          if (out.length) yield out.join('');
        }
        if (m !== null) yield emit();
        yield headLine(head);
      }
      await gzipLines(merged(), rowLines);
    } finally {
      await db.dispose();
    }
    await rowsToParquet(rowLines, path, scratchDir);
    await rm(rowLines, { force: true });
    const filter = KeyFilter.forKeys(size);
    hashed.into(filter);
    await secure.put(key, createReadStream(path));
    await secure.put(filterKeyOf(key), filter.toBytes());
    return { parts, keys: size };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Lines from a generator into a gzipped file (level 1), with the stream's back-pressure. */
async function gzipLines(lines: AsyncIterable<string> | Iterable<string>, path: string): Promise<void> {
  const gzip = createGzip({ level: 1 });
  const source = Readable.from(lines);
  source.on('error', (err) => gzip.destroy(err));
  await pipeline(source, gzip, createWriteStream(path));
}

/** The gzipped JSON lines of the rows into the Parquet table, DuckDB streaming them with a small memory limit. */
async function rowsToParquet(lines: string, path: string, scratch?: string): Promise<void> {
  const db = await openScratchDuckDb('256MB', scratch);
  try {
    // one thread: the rows in the file in the lines' order (the head first), so the same index gives the same
    // bytes (with DuckDB's threads and no insertion order, two runs of 100k wrote the same rows in other orders)
    await db.conn.run('SET threads = 1');
    await db.conn.run(
      `COPY (SELECT m, k, v FROM read_json(${literal(lines)}, format = 'newline_delimited', columns = {m: 'VARCHAR', k: 'VARCHAR', v: 'VARCHAR'})) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`,
    );
  } finally {
    await db.dispose();
  }
}

/**
 * Which keys the index may hold: a Bloom filter over every (map, key) of the file, built by the plan beside it
 * (10 bits and 7 probes a key: ~1% false positives). A key it rules out is absent, with no fetch: most words a scan
 * looks up (ids, codes, ordinary words) are in no map. A key it lets through is fetched (and may still be absent).
 */
export class KeyFilter {
  private constructor(
    readonly bits: Uint8Array,
    private readonly size: number,
  ) {}

  static forKeys(n: number): KeyFilter {
    const size = Math.max(1024, Math.ceil(n * 10));
    return new KeyFilter(new Uint8Array(Math.ceil(size / 8)), size);
  }

  /** The filter from its bytes (toBytes): refuses bytes that are not one. */
  static fromBytes(bytes: Buffer, source: string): KeyFilter {
    if (bytes.length < 8 || bytes.readUInt32LE(0) !== FILTER_MAGIC)
      throw new Error(`privacy scan: identifier index filter ${source} is not one`);
    const size = bytes.readUInt32LE(4);
    if (bytes.length !== 8 + Math.ceil(size / 8))
      throw new Error(`privacy scan: identifier index filter ${source} is cut short`);
    return new KeyFilter(new Uint8Array(bytes.subarray(8)), size);
  }

  toBytes(): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(FILTER_MAGIC, 0);
    head.writeUInt32LE(this.size, 4);
    return Buffer.concat([head, this.bits]);
  }

  add(name: Name, k: string): void {
    const [a, b] = hashes(name, k);
    this.addHashes(a, b);
  }

  /** add, given the key's two hashes. */
  addHashes(a: number, b: number): void {
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + i * b) % this.size;
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  mayHave(name: Name, k: string): boolean {
    const [a, b] = hashes(name, k);
    for (let i = 0; i < PROBES; i++) {
      const bit = (a + i * b) % this.size;
      if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }
}

const FILTER_MAGIC = 0x4c4b4631; // "1FKL"
const PROBES = 7;
const NAME_SEED: Record<Name, number> = {
  whole: 1,
  phrases: 2,
  postcode: 3,
  token: 4,
  dob: 5,
  surnameDob: 6,
  forename: 7,
  surname: 8,
  phraseFirst: 9,
  phraseSecond: 10,
};

/** Two 32-bit FNV-1a hashes of the key (different offsets, the map's seed mixed in); the second odd and non-zero. */
function hashes(name: Name, k: string): [number, number] {
  let a = (0x811c9dc5 ^ NAME_SEED[name]) >>> 0;
  let b = (0x01000193 ^ (NAME_SEED[name] * 0x9e3779b1)) >>> 0;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  b ^= b >>> 15;
  return [a, (b | 1) >>> 0];
}

/** Where the filter of the index table at `key` is stored. */
export const filterKeyOf = (key: string) => `${key}.filter`;

/** Counts the look-ups of keys not known yet (a unit whose check asked one is checked again once it is fetched). */
class Misses {
  n = 0;
  readonly wanted = new Map<Name, Set<string>>();
  ask(name: Name, k: string): void {
    this.n++;
    let s = this.wanted.get(name);
    if (!s) this.wanted.set(name, (s = new Set()));
    s.add(k);
  }
}

class LookupMap<V> extends Map<string, V> {
  readonly absent = new Set<string>();
  constructor(
    private readonly name: MapName,
    private readonly misses: Misses,
    private readonly filter: KeyFilter | null,
  ) {
    super();
  }
  override get(k: string): V | undefined {
    const v = super.get(k);
    if (v === undefined && !this.absent.has(k) && (!this.filter || this.filter.mayHave(this.name, k)))
      this.misses.ask(this.name, k);
    return v;
  }
  override has(k: string): boolean {
    return this.get(k) !== undefined;
  }
  forget(): void {
    super.clear();
    this.absent.clear();
  }
  get known(): number {
    return this.size + this.absent.size;
  }
}

class LookupSet extends Set<string> {
  readonly absent = new Set<string>();
  constructor(
    private readonly name: SetName,
    private readonly misses: Misses,
    private readonly filter: KeyFilter | null,
  ) {
    super();
  }
  override has(k: string): boolean {
    if (super.has(k)) return true;
    if (!this.absent.has(k) && (!this.filter || this.filter.mayHave(this.name, k))) this.misses.ask(this.name, k);
    return false;
  }
  forget(): void {
    super.clear();
    this.absent.clear();
  }
  get known(): number {
    return this.size + this.absent.size;
  }
}

/** A check of one unit against the index (scan.ts checkUnit with the scan's vocabulary); returns its hits. */
export type UnitCheck<H> = (ix: IdentifierIndex, unit: TextUnit) => H[];

export interface LookupStats {
  /** prepare calls, DuckDB fetches, keys fetched (present or absent), checks run to find the keys. */
  prepares: number;
  fetches: number;
  keysFetched: number;
  checks: number;
}

export class IdentifierLookup {
  readonly ix: IdentifierIndex;
  readonly stats: LookupStats = { prepares: 0, fetches: 0, keysFetched: 0, checks: 0 };
  private readonly misses = new Misses();
  private readonly maps: Record<MapName, LookupMap<unknown>>;
  private readonly sets: Record<SetName, LookupSet>;

  private constructor(
    private readonly db: Awaited<ReturnType<typeof openScratchDuckDb>>,
    private readonly path: string,
    head: Head,
    private readonly knownKeysLimit: number,
    filter: KeyFilter | null,
  ) {
    const m = <V>(name: MapName) => new LookupMap<V>(name, this.misses, filter);
    const s = (name: SetName) => new LookupSet(name, this.misses, filter);
    this.maps = {
      whole: m('whole'),
      phrases: m('phrases'),
      postcode: m('postcode'),
      token: m('token'),
      dob: m('dob'),
      surnameDob: m('surnameDob'),
    };
    this.sets = {
      forename: s('forename'),
      surname: s('surname'),
      phraseFirst: s('phraseFirst'),
      phraseSecond: s('phraseSecond'),
    };
    const counts = Object.fromEntries(IDENTIFIER_KINDS.map((k) => [k, head.counts[k] ?? 0])) as Record<
      IdentifierKind,
      number
    >;
    this.ix = {
      wholeValues: this.maps.whole as IdentifierIndex['wholeValues'],
      phrases: this.maps.phrases as IdentifierIndex['phrases'],
      phraseEntries: new Map(), // only the builder uses it
      postcodes: this.maps.postcode as IdentifierIndex['postcodes'],
      tokens: this.maps.token as IdentifierIndex['tokens'],
      datesOfBirth: this.maps.dob as IdentifierIndex['datesOfBirth'],
      surnameDob: this.maps.surnameDob as IdentifierIndex['surnameDob'],
      forenameWords: this.sets.forename,
      surnameWords: this.sets.surname,
      phraseWords: { first: this.sets.phraseFirst, second: this.sets.phraseSecond },
      quarantinedRows: head.quarantinedRows,
      records: head.records,
      counts,
    };
  }

  /**
   * Open the index table at `path` (a local file written by writeIndexTable); `source` names it in errors.
   * DuckDB gets `memoryLimit` and spills to the scratch folder.
   */
  static async open(
    path: string,
    source: string,
    scratch?: string,
    opts: { memoryLimit?: string; knownKeysLimit?: number; filter?: KeyFilter } = {},
  ): Promise<IdentifierLookup> {
    const db = await openScratchDuckDb(opts.memoryLimit ?? '1GB', scratch);
    try {
      const rows = (
        await db.conn.runAndReadAll(`SELECT v FROM read_parquet(${literal(path)}) WHERE m = 'head'`)
      ).getRows();
      if (rows.length !== 1 || typeof rows[0]![0] !== 'string')
        throw new Error(
          `privacy scan: identifier index ${source} has ${rows.length === 0 ? 'no' : 'more than one'} head`,
        );
      await db.conn.run('CREATE TABLE want (m VARCHAR, k VARCHAR)');
      return new IdentifierLookup(
        db,
        path,
        JSON.parse(rows[0]![0]) as Head,
        opts.knownKeysLimit ?? KNOWN_KEYS_LIMIT,
        opts.filter ?? null,
      );
    } catch (err) {
      await db.dispose();
      throw err;
    }
  }

  private get known(): number {
    let n = 0;
    for (const m of Object.values(this.maps)) n += m.known;
    for (const s of Object.values(this.sets)) n += s.known;
    return n;
  }

  /**
   * Make `ix` answer every unit of `units` as the whole index does (see the file's comment). `follow`: further units
   * a unit's hits lead to (the record ids a finding quotes are checked too), made exact as well.
   */
  async prepare<H>(units: TextUnit[], check: UnitCheck<H>, follow?: (hits: H[]) => TextUnit[]): Promise<H[][]> {
    this.stats.prepares++;
    if (this.known > this.knownKeysLimit) {
      for (const m of Object.values(this.maps)) m.forget();
      for (const s of Object.values(this.sets)) s.forget();
    }
    // each unit with its place in `units`; -1: a unit a hit led to, made exact and not followed further (a record
    // id may lead back to itself)
    let todo: Array<[TextUnit, number]> = units.map((u, i) => [u, i]);
    const out: H[][] = new Array<H[]>(units.length);
    while (todo.length) {
      const again: Array<[TextUnit, number]> = [];
      for (let i = 0; i < todo.length; i++) {
        const [u, at] = todo[i]!;
        const before = this.misses.n;
        this.stats.checks++;
        const hits = check(this.ix, u);
        if (this.misses.n !== before) again.push(todo[i]!);
        else {
          if (at >= 0) out[at] = hits;
          if (follow && hits.length && at >= 0) for (const f of follow(hits)) todo.push([f, -1]);
        }
      }
      if (this.misses.wanted.size) await this.fetch(this.db.conn);
      todo = again;
    }
    return out;
  }

  /** Every key asked for and not known: its entry from the file, or known absent. */
  private async fetch(conn: DuckDBConnection): Promise<void> {
    this.stats.fetches++;
    const app = await conn.createAppender('want');
    for (const [name, ks] of this.misses.wanted)
      for (const k of ks) {
        app.appendVarchar(name);
        app.appendVarchar(k);
        app.endRow();
        this.stats.keysFetched++;
      }
    app.closeSync();
    const rows = (
      await conn.runAndReadAll(
        `SELECT i.m, i.k, i.v FROM read_parquet(${literal(this.path)}) i SEMI JOIN want w ON i.m = w.m AND i.k = w.k`,
      )
    ).getRows();
    await conn.run('DELETE FROM want');
    for (const [m, k, v] of rows) {
      const name = String(m) as Name;
      const key = String(k);
      if (name in this.maps) this.maps[name as MapName].set(key, JSON.parse(String(v)));
      else Set.prototype.add.call(this.sets[name as SetName], key);
    }
    for (const [name, ks] of this.misses.wanted) {
      const target: LookupMap<unknown> | LookupSet =
        name in this.maps ? this.maps[name as MapName] : this.sets[name as SetName];
      for (const k of ks)
        if (!(target instanceof LookupMap ? Map.prototype.has.call(target, k) : Set.prototype.has.call(target, k)))
          target.absent.add(k);
    }
    this.misses.wanted.clear();
  }

  private closed = false;

  /** Drop what is known and close DuckDB, removing its temp directory (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const m of Object.values(this.maps)) m.forget();
    for (const s of Object.values(this.sets)) s.forget();
    await this.db.dispose();
  }
}
