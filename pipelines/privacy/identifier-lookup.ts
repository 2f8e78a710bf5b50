/**
 * The privacy scan's identifier index kept on disk, looked up as the scan goes (issue #12: a publish shard or merge
 * at a million families cannot hold the whole index, ~3 GiB of maps, beside its DuckDB).
 *
 * The publish plan writes the index once as a Parquet table of entries (`m`: the map, `k`: its key, `v`: the entry as
 * JSON; writeIndexTable). A phase opens it as an IdentifierLookup: `lookup.ix` is an IdentifierIndex whose maps and
 * sets hold only the entries fetched so far and remember every key asked for that they do not know yet.
 * `prepare(units)` makes the index answer those units exactly as the whole index would: it checks each unit against
 * what is known, fetches every key a check asked for and did not know (one DuckDB join for all of them), and checks
 * again the units that asked, until no check asks for an unknown key. A check reads the index only through these
 * look-ups (scan.ts checkUnit; the phrase word sets come from the file too, `ix.phraseWords`), so once none is
 * unknown its hits are the whole index's, byte for byte. After `prepare`, checkUnit(lookup.ix, unit) gives them.
 *
 * Memory: the entries known are dropped (at the start of a prepare, never between a prepare and the checks it
 * serves) once they pass KNOWN_KEYS_LIMIT; DuckDB reads the file with its own memory limit.
 * The file holds the secure zone's clear values: it lives in the secure zone (the stage's shard folder) and in the
 * run's scratch folder only, and no value is ever logged.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openScratchDuckDb, sqlString as literal } from '../io/parquet.ts';
import type { ObjectStore } from '../io/object-store.ts';
import type { TextUnit } from './extract.ts';
import { IDENTIFIER_KINDS, type IdentifierIndex, type IdentifierKind } from './identifiers.ts';

/** The maps and sets of the index, by the name each has in the file's `m` column. */
const MAPS = ['whole', 'phrases', 'postcode', 'token', 'dob', 'surnameDob'] as const;
const SETS = ['forename', 'surname', 'phraseFirst', 'phraseSecond'] as const;
type MapName = (typeof MAPS)[number];
type SetName = (typeof SETS)[number];
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
 * The first and second words of the phrases are written as sets of their own (scan.ts phraseWords).
 */
export async function writeIndexTable(ix: IdentifierIndex, path: string, scratch?: string): Promise<void> {
  const db = await openScratchDuckDb('1GB', scratch);
  try {
    await db.conn.run('CREATE TABLE ix (m VARCHAR, k VARCHAR, v VARCHAR)');
    const app = await db.conn.createAppender('ix');
    const row = (m: Name | 'head', k: string, v: unknown) => {
      app.appendVarchar(m);
      app.appendVarchar(k);
      if (v === null) app.appendNull();
      else app.appendVarchar(JSON.stringify(v));
      app.endRow();
    };
    row('head', '', { quarantinedRows: ix.quarantinedRows, records: ix.records, counts: ix.counts } satisfies Head);
    for (const [k, v] of ix.wholeValues) row('whole', k, v);
    for (const [k, v] of ix.phrases) row('phrases', k, v);
    for (const [k, v] of ix.postcodes) row('postcode', k, v);
    for (const [k, v] of ix.tokens) row('token', k, v);
    for (const [k, v] of ix.datesOfBirth) row('dob', k, v);
    for (const [k, v] of ix.surnameDob) row('surnameDob', k, v);
    for (const w of ix.forenameWords) row('forename', w, null);
    for (const w of ix.surnameWords) row('surname', w, null);
    const first = new Set<string>();
    const second = new Set<string>();
    for (const list of ix.phrases.values())
      for (const p of list) {
        first.add(p.words[0]!);
        second.add(p.words[1]!);
      }
    for (const w of first) row('phraseFirst', w, null);
    for (const w of second) row('phraseSecond', w, null);
    app.closeSync();
    await db.conn.run(`COPY ix TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    await db.dispose();
  }
}

/** writeIndexTable into an object store (the scratch file is removed once stored). */
export async function putIndexTable(
  ix: IdentifierIndex,
  store: ObjectStore,
  key: string,
  scratchDir: string,
): Promise<void> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const dir = await mkdtemp(join(scratchDir, 'locality-identifier-index-'));
  try {
    const path = join(dir, 'identifier-index.parquet');
    await writeIndexTable(ix, path, scratchDir);
    await store.put(key, createReadStream(path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

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
  ) {
    super();
  }
  override get(k: string): V | undefined {
    const v = super.get(k);
    if (v === undefined && !this.absent.has(k)) this.misses.ask(this.name, k);
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
  ) {
    super();
  }
  override has(k: string): boolean {
    if (super.has(k)) return true;
    if (!this.absent.has(k)) this.misses.ask(this.name, k);
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
  ) {
    const m = <V>(name: MapName) => new LookupMap<V>(name, this.misses);
    const s = (name: SetName) => new LookupSet(name, this.misses);
    this.maps = {
      whole: m('whole'),
      phrases: m('phrases'),
      postcode: m('postcode'),
      token: m('token'),
      dob: m('dob'),
      surnameDob: m('surnameDob'),
    };
    this.sets = { forename: s('forename'), surname: s('surname'), phraseFirst: s('phraseFirst'), phraseSecond: s('phraseSecond') };
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
    opts: { memoryLimit?: string; knownKeysLimit?: number } = {},
  ): Promise<IdentifierLookup> {
    const db = await openScratchDuckDb(opts.memoryLimit ?? '1GB', scratch);
    try {
      const rows = (
        await db.conn.runAndReadAll(`SELECT v FROM read_parquet(${literal(path)}) WHERE m = 'head'`)
      ).getRows();
      if (rows.length !== 1 || typeof rows[0]![0] !== 'string')
        throw new Error(`privacy scan: identifier index ${source} has ${rows.length === 0 ? 'no' : 'more than one'} head`);
      await db.conn.run('CREATE TABLE want (m VARCHAR, k VARCHAR)');
      return new IdentifierLookup(db, path, JSON.parse(rows[0]![0]) as Head, opts.knownKeysLimit ?? KNOWN_KEYS_LIMIT);
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
  async prepare<H>(units: TextUnit[], check: UnitCheck<H>, follow?: (hits: H[]) => TextUnit[]): Promise<void> {
    this.stats.prepares++;
    if (this.known > this.knownKeysLimit) {
      for (const m of Object.values(this.maps)) m.forget();
      for (const s of Object.values(this.sets)) s.forget();
    }
    let todo = [...units];
    // a unit a hit led to is made exact, and not followed further (a record id may lead back to itself)
    const followed = new WeakSet<TextUnit>();
    while (todo.length) {
      const again: TextUnit[] = [];
      for (let i = 0; i < todo.length; i++) {
        const u = todo[i]!;
        const before = this.misses.n;
        this.stats.checks++;
        const hits = check(this.ix, u);
        if (this.misses.n !== before) again.push(u);
        else if (follow && hits.length && !followed.has(u))
          for (const f of follow(hits)) {
            followed.add(f);
            todo.push(f);
          }
      }
      if (this.misses.wanted.size) await this.fetch(this.db.conn);
      todo = again;
    }
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
