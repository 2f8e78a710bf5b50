/**
 * The families plan over the whole population without holding it in JavaScript: the persons, their secure records and
 * the relationships are joined in a file-backed DuckDB (a memory limit, spilling to the run's secure scratch), persons
 * numbered 0..n-1 in person id order there. Out of it come only numbers: each record's person and address (an id into
 * the distinct addresses as given), the used relationships' ends and groupings, who anchors a family. The components
 * of that graph (personGraphComponents, typed arrays) are packed into shards, and each shard's input (its persons,
 * their records and relationships, as family formation takes them) is read back from DuckDB one shard at a time.
 *
 * Held for the whole population: typed arrays over persons, records and relationships, the distinct addresses (each
 * once) and their clusters. Never a person's records as objects, nor a map keyed by record or person id.
 */
import {
  activeOfType,
  anchorsFamily,
  personGraphComponents,
  rawAddressKey,
  type FamiliesConfig,
  type FamilyComponents,
  type FamilyPerson,
  type FamilyRelationship,
} from '../../matching/families/index.ts';
import { cmp } from '../../models/order.ts';
import { deliveredRows, isCurrentPregnancy } from '../../models/pregnancy.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { scratchOf } from '../io/object-store.ts';
import {
  openLineFile,
  openScratchDuckDb,
  queryRows,
  readNumericColumns,
  sqlString,
  type ParquetRow,
} from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { factsTable, readFacts } from '../tables/facts.ts';
import { personAddressFromRow, personRecordsKey } from '../tables/person-records.ts';
import { need, str, type TableRead } from '../tables/read.ts';
import { relationshipEnds, relationshipFromRow } from '../tables/relationships.ts';
import type { StageContext } from './context.ts';

/** DuckDB's buffer memory in the plan: beyond it, its joins and sorts spill to the run's secure scratch. */
const PLAN_DUCKDB_MEMORY = '1GB';

/** The most held value (ties: the latest extract, then the smaller value); null when there is none. */
export function modeOf(values: Array<{ v: string; date: string }>): string | null {
  // the usual case: every record agrees (or there is one)
  if (values.length === 0) return null;
  const first = values[0]!.v;
  let agree = true;
  for (let i = 1; i < values.length && agree; i++) agree = values[i]!.v === first;
  if (agree) return first;
  const tally = new Map<string, { n: number; latest: string }>();
  for (const { v, date } of values) {
    const t = tally.get(v) ?? { n: 0, latest: '' };
    t.n += 1;
    if (date > t.latest) t.latest = date;
    tally.set(v, t);
  }
  const best = [...tally.entries()].sort(
    (a, b) => b[1].n - a[1].n || cmp(b[1].latest, a[1].latest) || cmp(a[0], b[0]),
  )[0];
  return best ? best[0] : null;
}

/** Mothers with a current pregnancy on the as-at date (models/pregnancy.ts); `personOf`: a fact's record -> person id. */
export async function readExpectantMothers(
  ctx: StageContext,
  facts: TableRead,
  personOf: Pick<Map<string, string>, 'get'>,
): Promise<Set<string>> {
  const read = await readFacts(ctx, personOf, ['maternity_booking', 'birth'], facts);
  const delivered = deliveredRows(read.facts, ctx.asAt);
  const expectant = new Set<string>();
  for (const f of read.facts) if (isCurrentPregnancy(f, ctx.asAt, delivered)) expectant.add(f.personId);
  return expectant;
}

/** One shard's input: its components' persons (person id order), their relationships and address clusters. */
export interface PlannedShardInput {
  persons: FamilyPerson[];
  relationships: FamilyRelationship[];
  addressClusters: Array<[string, string]>;
}

export interface PlannedShards {
  persons: number;
  components: number;
  anchoredComponents: number;
  largestComponent: number;
  relationshipsUnmatched: number;
  recordsWithoutPerson: number;
  expectantMothers: number;
}

type Db = Awaited<ReturnType<typeof openScratchDuckDb>>;
type Lease = { path: string; release: () => Promise<void> };

/** A table's local file (a download for a remote store, deleted on release), or the error saying it is missing. */
async function leaseTable(store: ObjectStore, key: string, what: string): Promise<Lease> {
  if (!(await store.exists(key)))
    throw new Error(`${what}: ${store.location}/${key} is missing: run the earlier stages first`);
  return store.leaseLocalPath
    ? store.leaseLocalPath(key)
    : { path: await store.localPath(key), release: async () => {} };
}

const parquetOf = (path: string) =>
  `read_parquet(${sqlString(path)}, hive_partitioning = false, file_row_number = true)`;

/** "<what> <file> row <n>" for errors on rows DuckDB returns with their file_row_number (as a table read names them). */
function originAt(what: string, file: string): { from: TableRead; at: (row: ParquetRow) => void } {
  const from = { what, file, at: { row: null, n: 0 } } as unknown as TableRead;
  return {
    from,
    at: (row) => {
      from.at.row = row;
      from.at.n = Number(row.file_row_number) + 1;
    },
  };
}

/** The first row of `table` missing a required column, refused as the read of the table in file order refuses it. */
async function refuseMissing(db: Db, table: string, what: string, file: string, columns: string[]): Promise<void> {
  const missing = columns.map((c) => `${c} IS NULL OR CAST(${c} AS VARCHAR) = ''`).join(' OR ');
  const q = `SELECT ${columns.join(', ')}, file_row_number FROM ${table} WHERE ${missing} ORDER BY file_row_number LIMIT 1`;
  for await (const r of rowsOfQuery(db, q, what)) {
    const o = originAt(what, file);
    o.at(r);
    for (const c of columns) need(r, o.from, c); // throws, naming file, row and field
  }
}

/** Rows of a query, one at a time. */
async function* rowsOfQuery(db: Db, q: string, what: string): AsyncGenerator<ParquetRow> {
  for await (const batch of queryRows(db, q, what)) yield* batch;
}

/** An INTEGER count. */
async function countOf(db: Db, q: string): Promise<number> {
  return (await readNumericColumns(db.conn, `SELECT (${q})::INTEGER AS n`, { n: 'INTEGER' })).n[0] ?? 0;
}

/**
 * Reads the tables into DuckDB, finds the components, packs them into `shards` (pack: component sizes -> each
 * component's shard) and calls `writeInput` for each shard in turn with its input; returns the plan's counts.
 */
export async function planShardInputs(
  ctx: StageContext,
  cfg: FamiliesConfig,
  shards: number,
  pack: (sizes: readonly number[], shards: number) => Int32Array,
  writeInput: (shard: number, input: PlannedShardInput) => Promise<void>,
): Promise<PlannedShards> {
  const asAt = ctx.asAt;
  const { curated, secure } = ctx.stores;
  const db = await openScratchDuckDb(PLAN_DUCKDB_MEMORY, scratchOf(secure), { onDisk: true });
  const leases: Lease[] = [];
  try {
    const personsKey = keys.curated('persons', asAt);
    const recordsKey = personRecordsKey(asAt);
    const relsKey = keys.curated('relationships', asAt);
    const factsKey = keys.curated('facts', asAt);
    const files = {
      persons: `${curated.location}/${personsKey}`,
      records: `${secure.location}/${recordsKey}`,
      rels: `${curated.location}/${relsKey}`,
    };
    const lease = async (store: ObjectStore, key: string, what: string) => {
      const l = await leaseTable(store, key, what);
      leases.push(l);
      return l.path;
    };
    const run = (q: string) => db.conn.run(q);
    ctx.progress.start('families: reading persons');
    // persons: numbered in person id order; each record's person is the last row of it (as a map filled in file order)
    await run(`CREATE TABLE persons AS SELECT * FROM ${parquetOf(await lease(curated, personsKey, 'persons'))}`);
    await refuseMissing(db, 'persons', 'persons', files.persons, ['record_id', 'person_id']);
    await run(
      `CREATE TABLE pidx AS SELECT person_id, (row_number() OVER (ORDER BY person_id) - 1)::INTEGER AS i FROM (SELECT DISTINCT person_id FROM persons)`,
    );
    await run(
      `CREATE TABLE recidx AS SELECT p.record_id, x.i FROM (SELECT record_id, arg_max(person_id, file_row_number) AS person_id FROM persons GROUP BY record_id) p JOIN pidx x USING (person_id)`,
    );
    await run('DROP TABLE persons');
    const n = await countOf(db, 'SELECT count(*) FROM pidx');
    await checkPersonOrder(db, n);
    // secure records: each one's person and its address as given (an id into the distinct addresses)
    await run(
      `CREATE TABLE records AS SELECT record_id, extract_date, date_of_birth, postcode, address_line_1, file_row_number FROM ${parquetOf(await lease(secure, recordsKey, 'secure person records'))}`,
    );
    await refuseMissing(db, 'records', 'secure person records', files.records, ['record_id']);
    await run(
      `CREATE TABLE addr AS SELECT (row_number() OVER (ORDER BY postcode, address_line_1) - 1)::INTEGER AS a, postcode, address_line_1 FROM (SELECT DISTINCT coalesce(postcode, '') AS postcode, coalesce(address_line_1, '') AS address_line_1 FROM records)`,
    );
    await run(
      `CREATE TABLE recs AS SELECT x.i, ad.a, r.record_id, r.extract_date, r.date_of_birth, r.postcode, r.address_line_1, r.file_row_number AS frn FROM records r JOIN recidx x USING (record_id) JOIN addr ad ON ad.postcode = coalesce(r.postcode, '') AND ad.address_line_1 = coalesce(r.address_line_1, '')`,
    );
    const recordsWithoutPerson = await countOf(
      db,
      'SELECT (SELECT count(*) FROM records) - (SELECT count(*) FROM recs)',
    );
    await run('DROP TABLE records');
    // expectant mothers: the facts' records' persons only
    await run(
      `CREATE TABLE factrec AS SELECT DISTINCT f.record_id, x.i, p.person_id FROM (SELECT record_id FROM read_parquet(${sqlString(await lease(curated, factsKey, 'facts'))}, hive_partitioning = false) WHERE "type" IN ('maternity_booking', 'birth')) f JOIN recidx x USING (record_id) JOIN pidx p USING (i)`,
    );
    const personOfFact = new Map<string, string>();
    const indexOfMother = new Map<string, number>();
    for await (const r of rowsOfQuery(db, 'SELECT record_id, i, person_id FROM factrec ORDER BY record_id', 'facts')) {
      personOfFact.set(String(r.record_id), String(r.person_id));
      indexOfMother.set(String(r.person_id), Number(r.i));
    }
    const expectant = new Uint8Array(n);
    const mothers = await readExpectantMothers(ctx, factsTable(ctx, ['maternity_booking', 'birth']), personOfFact);
    for (const id of mothers) expectant[indexOfMother.get(id)!] = 1;
    personOfFact.clear();
    indexOfMother.clear();
    // the graph: addresses (raw keys, counted), who lives where, relationships, anchors
    const { rawKeys, rawCount, rawOfAddr } = await rawAddressKeys(db);
    const pairs = await readNumericColumns(db.conn, 'SELECT i, a FROM recs', { i: 'INTEGER', a: 'INTEGER' });
    const addrRaw = pairs.a.map((a) => rawOfAddr[a]!);
    const anchor = await anchorsOf(db, n, expectant, asAt, cfg);
    const rels = await usedRelationships(db, await lease(curated, relsKey, 'relationships'), files.rels, asAt, cfg);
    ctx.progress.stop();
    const comps: Omit<FamilyComponents, 'people'> = personGraphComponents({
      n,
      anchor,
      rawKeys,
      rawCount,
      addrPerson: pairs.i,
      addrRaw,
      relFrom: rels.relFrom,
      relTo: rels.relTo,
      relGroup: rels.relGroup,
    });
    const shardOfComponent = pack(comps.sizes, shards);
    // each person's shard, into DuckDB
    const shardFile = `${db.dir}/shard-of-person.csv`;
    const lines = openLineFile(shardFile);
    for (let i = 0; i < n; i++) {
      const wait = lines.add(`${i},${shardOfComponent[comps.componentOf[i]!]!}\n`);
      if (wait) await wait;
    }
    await lines.close();
    await run(
      `CREATE TABLE pshard AS SELECT x.i, x.person_id, s.shard FROM pidx x JOIN read_csv(${sqlString(shardFile)}, header = false, columns = {'i': 'INTEGER', 'shard': 'INTEGER'}) s USING (i)`,
    );
    for (let shard = 0; shard < shards; shard++) {
      ctx.progress.start(`families: shard ${shard} input`);
      const input = await shardInput(db, shard, expectant, comps.canonical, files.rels);
      await writeInput(shard, input);
      ctx.progress.stop();
    }
    return {
      persons: n,
      components: comps.sizes.length,
      anchoredComponents: comps.withAnchor,
      largestComponent: comps.sizes.reduce((a, b) => Math.max(a, b), 0),
      relationshipsUnmatched: rels.unmatched,
      recordsWithoutPerson,
      expectantMothers: mothers.size,
    };
  } finally {
    await db.dispose();
    for (const l of leases) await l.release();
  }
}

/** DuckDB's person id order is the order of every sort of ids here (code units): checked, not assumed. */
async function checkPersonOrder(db: Db, n: number): Promise<void> {
  let prev: string | null = null;
  let seen = 0;
  for await (const r of rowsOfQuery(db, 'SELECT person_id FROM pidx ORDER BY i', 'persons')) {
    const id = String(r.person_id);
    if (prev !== null && !(prev < id))
      throw new Error('families plan: person ids do not sort the same in DuckDB and in code-unit order');
    prev = id;
    seen += 1;
  }
  if (seen !== n) throw new Error(`families plan: ${seen} person ids numbered, ${n} counted`);
}

/** The distinct addresses as given -> raw address keys (rawAddressKey; -1: blank), each raw key with the records holding it. */
async function rawAddressKeys(db: Db): Promise<{ rawKeys: string[]; rawCount: number[]; rawOfAddr: Int32Array }> {
  const total = await countOf(db, 'SELECT count(*) FROM addr');
  const rawOfAddr = new Int32Array(total).fill(-1);
  const rawIdOf = new Map<string, number>();
  const rawKeys: string[] = [];
  const rawCount: number[] = [];
  for await (const r of rowsOfQuery(db, 'SELECT a, postcode, address_line_1 FROM addr ORDER BY a', 'addresses')) {
    const raw = rawAddressKey({ postcode: str(r, 'postcode'), addressLine1: str(r, 'address_line_1') });
    if (raw === null) continue;
    let id = rawIdOf.get(raw);
    if (id === undefined) {
      id = rawKeys.length;
      rawIdOf.set(raw, id);
      rawKeys.push(raw);
      rawCount.push(0);
    }
    rawOfAddr[Number(r.a)] = id;
  }
  const held = await readNumericColumns(db.conn, 'SELECT a, count(*)::INTEGER AS n FROM recs GROUP BY a', {
    a: 'INTEGER',
    n: 'INTEGER',
  });
  for (let x = 0; x < held.count; x++) {
    const id = rawOfAddr[held.a[x]!]!;
    if (id >= 0) rawCount[id]! += held.n[x]!;
  }
  return { rawKeys, rawCount, rawOfAddr };
}

/** Each person's date of birth (the most held of their records'), and so who anchors a family. */
async function anchorsOf(
  db: Db,
  n: number,
  expectant: Uint8Array,
  asAt: string,
  cfg: FamiliesConfig,
): Promise<Uint8Array> {
  const anchor = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (anchorsFamily(null, expectant[i] === 1, asAt, cfg)) anchor[i] = 1;
  let at = -1;
  let values: Array<{ v: string; date: string }> = [];
  const done = () => {
    if (at >= 0 && anchorsFamily(modeOf(values), expectant[at] === 1, asAt, cfg)) anchor[at] = 1;
  };
  const q = 'SELECT i, date_of_birth, extract_date FROM recs WHERE date_of_birth IS NOT NULL ORDER BY i, frn';
  for await (const r of rowsOfQuery(db, q, 'secure person records')) {
    const i = Number(r.i);
    if (i !== at) {
      done();
      at = i;
      values = [];
    }
    const v = str(r, 'date_of_birth');
    if (v) values.push({ v, date: str(r, 'extract_date') ?? '' });
  }
  done();
  return anchor;
}

/**
 * The relationships with their ends' persons (DuckDB table `relx`), every row checked in file order; the used ones
 * (active, of a configured type, between two persons) as numbers: ends and groupings. Unmatched: an end in no person.
 */
async function usedRelationships(
  db: Db,
  path: string,
  file: string,
  asAt: string,
  cfg: FamiliesConfig,
): Promise<{ relFrom: Int32Array; relTo: Int32Array; relGroup: Int32Array; unmatched: number }> {
  await db.conn.run(
    `CREATE TABLE relx AS SELECT r.*, fx.i AS _from_i, tx.i AS _to_i FROM ${parquetOf(path)} r LEFT JOIN recidx fx ON fx.record_id = r.from_record_id LEFT JOIN recidx tx ON tx.record_id = r.to_record_id`,
  );
  const types = new Set<string>(cfg.relationshipTypes);
  const from: number[] = [];
  const to: number[] = [];
  const group: number[] = [];
  const groupOf = new Map<string, number>();
  let unmatched = 0;
  const o = originAt('relationships', file);
  for await (const r of rowsOfQuery(db, 'SELECT * FROM relx ORDER BY file_row_number', 'relationships')) {
    o.at(r);
    const ends = relationshipEnds(r, o.from);
    if (r._from_i === null || r._to_i === null) {
      unmatched += 1;
      continue;
    }
    const rel = relationshipFromRow(r, ends, o.from);
    const f = Number(r._from_i);
    const t = Number(r._to_i);
    if (f === t || !activeOfType(rel, asAt, types)) continue;
    from.push(f);
    to.push(t);
    let g = -1;
    if (rel.groupRef) {
      const key = `${rel.source}:${rel.groupRef}`;
      g = groupOf.get(key) ?? groupOf.size;
      groupOf.set(key, g);
    }
    group.push(g);
  }
  return { relFrom: Int32Array.from(from), relTo: Int32Array.from(to), relGroup: Int32Array.from(group), unmatched };
}

/** One shard's persons (person id order) with their records, their relationships and their addresses' clusters. */
async function shardInput(
  db: Db,
  shard: number,
  expectant: Uint8Array,
  canonical: ReadonlyMap<string, string>,
  relsFile: string,
): Promise<PlannedShardInput> {
  const persons: FamilyPerson[] = [];
  const indexOf: number[] = [];
  for await (const r of rowsOfQuery(
    db,
    `SELECT i, person_id FROM pshard WHERE shard = ${shard} ORDER BY i`,
    'persons',
  )) {
    persons.push({
      personId: String(r.person_id),
      dateOfBirth: null,
      addresses: [],
      expectant: expectant[Number(r.i)] === 1,
    });
    indexOf.push(Number(r.i));
  }
  const dobs: Array<Array<{ v: string; date: string }>> = persons.map(() => []);
  const q = `SELECT r.i, r.record_id, r.extract_date, r.date_of_birth, r.postcode, r.address_line_1 FROM recs r JOIN pshard s USING (i) WHERE s.shard = ${shard} ORDER BY r.i, r.frn`;
  let p = 0;
  for await (const r of rowsOfQuery(db, q, 'secure person records')) {
    const i = Number(r.i);
    while (indexOf[p] !== i) p += 1;
    const a = personAddressFromRow(r);
    if (a.dateOfBirth) dobs[p]!.push({ v: a.dateOfBirth, date: a.extractDate });
    persons[p]!.addresses.push({
      recordId: a.recordId,
      extractDate: a.extractDate,
      postcode: a.postcode,
      addressLine1: a.addressLine1,
    });
  }
  const addressClusters = new Map<string, string>();
  for (let x = 0; x < persons.length; x++) {
    const person = persons[x]!;
    person.dateOfBirth = modeOf(dobs[x]!);
    person.addresses.sort((a, b) => cmp(a.recordId, b.recordId));
    for (const a of person.addresses) {
      const raw = rawAddressKey(a);
      const c = raw === null ? undefined : canonical.get(raw);
      if (c !== undefined) addressClusters.set(raw!, c);
    }
  }
  const relationships: FamilyRelationship[] = [];
  const o = originAt('relationships', relsFile);
  const rq = `SELECT r.*, pf.person_id AS _from_person, pt.person_id AS _to_person FROM relx r JOIN pshard pf ON pf.i = r._from_i JOIN pidx pt ON pt.i = r._to_i WHERE pf.shard = ${shard} ORDER BY r.file_row_number`;
  for await (const r of rowsOfQuery(db, rq, 'relationships')) {
    o.at(r);
    const rel = relationshipFromRow(r, undefined, o.from);
    relationships.push({
      relationshipId: rel.relationshipId,
      source: rel.source,
      feed: rel.feed,
      recordRef: rel.recordRef,
      fromPersonId: String(r._from_person),
      toPersonId: String(r._to_person),
      relationship: rel.relationship,
      groupRef: rel.groupRef,
      startDate: rel.startDate,
      endDate: rel.endDate,
    });
  }
  return { persons, relationships, addressClusters: [...addressClusters] };
}
