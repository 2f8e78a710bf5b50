import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { openScratchDuckDb, writeParquet, type ParquetColumn, type ParquetRow } from '../../pipelines/io/parquet.ts';
import { jsonLog } from '../../pipelines/log.ts';
import { loadIdentifierIndex, type IdentifierIndex } from '../../pipelines/privacy/identifiers.ts';
import {
  MAX_FINDINGS_LISTED,
  scanPublished,
  type ParquetScanMode,
  type ScanCollector,
} from '../../pipelines/privacy/scan.ts';

const AS_AT = '2026-03-31';

const PEOPLE = [
  {
    record_id: 'health:people:H1',
    forename: 'ZEBEDEE',
    surname: 'QUILLFEATHER',
    date_of_birth: '2019-04-07',
    postcode: 'M14 5RB',
    address_line1: '12 ACACIA AVENUE',
  },
  {
    record_id: 'schools:pupils:S9',
    forename: 'MARGOT',
    surname: 'WARDROBE',
    date_of_birth: '2015-11-30',
    postcode: 'M20 2AB',
    address_line1: 'FLAT 3 ORCHARD COURT',
  },
];

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'privacy-distinct-'));
  roots.push(root);
  const stores = {
    secure: new LocalObjectStore(join(root, 'secure')),
    curated: new LocalObjectStore(join(root, 'curated')),
    outputs: new LocalObjectStore(join(root, 'outputs')),
  };
  await writeParquet(
    stores.secure,
    `as_at=${AS_AT}/person-records.parquet`,
    [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'forename', type: 'VARCHAR' },
      { name: 'surname', type: 'VARCHAR' },
      { name: 'date_of_birth', type: 'DATE' },
      { name: 'postcode', type: 'VARCHAR' },
      { name: 'address_line1', type: 'VARCHAR' },
    ],
    PEOPLE,
  );
  return { root, stores, ix: await loadIdentifierIndex(stores.secure, AS_AT) };
}

/** A Parquet file written by DuckDB straight from SQL (for values and types writeParquet does not produce). */
async function writeRaw(root: string, key: string, select: string): Promise<void> {
  const db = await openScratchDuckDb();
  try {
    const path = join(root, 'curated', ...key.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await db.conn.run(`COPY (${select}) TO '${path}' (FORMAT parquet)`);
  } finally {
    await db.dispose();
  }
}

type Stores = Awaited<ReturnType<typeof setup>>['stores'];

/** The scan in both Parquet modes, with the log lines each wrote. */
async function bothModes(ix: IdentifierIndex, stores: Stores) {
  const out = {} as Record<
    ParquetScanMode,
    { result: Awaited<ReturnType<typeof scanPublished>>['result']; logs: string[]; collector: ScanCollector }
  >;
  for (const mode of ['per-cell', 'distinct'] as const) {
    const logs: string[] = [];
    const { result, collector } = await scanPublished(ix, stores, AS_AT, {
      parquet: mode,
      log: jsonLog('debug', (l) => logs.push(l.replace(/"(time|timestamp|ts)":"[^"]*",?/g, ''))),
    });
    out[mode] = { result, logs, collector };
  }
  return out;
}

const LEAK_COLUMNS: ParquetColumn[] = [
  { name: 'family_id', type: 'VARCHAR' },
  { name: 'child_dob', type: 'DATE' },
  { name: 'latest_event_date', type: 'DATE' },
  { name: 'names', type: 'VARCHAR[]' },
  { name: 'note', type: 'VARCHAR' },
  { name: 'score', type: 'DOUBLE' },
  { name: 'members', type: 'INTEGER' },
  { name: 'open', type: 'BOOLEAN' },
];

const LEAK_ROWS: ParquetRow[] = [
  // An event date equal to a birthday in a column that is not a DOB field: not a finding, but a unit.
  {
    family_id: 'F1',
    child_dob: null,
    latest_event_date: '2019-04-07',
    names: ['North', 'Quillfeather', ''],
    note: 'seen at m14 5rb',
    score: 1.5,
    members: 3,
    open: true,
  },
  {
    family_id: 'F2',
    child_dob: '2015-11-30',
    latest_event_date: '2026-01-02',
    names: [],
    note: '',
    score: 2,
    members: 1,
    open: false,
  },
  {
    family_id: 'F3',
    child_dob: '2020-01-01',
    latest_event_date: null,
    names: null,
    note: null,
    score: null,
    members: null,
    open: null,
  },
  {
    family_id: 'F4',
    child_dob: '2015-11-30',
    latest_event_date: '2019-04-07',
    names: ['Quillfeather'],
    note: 'Margot Wardrobe, M14 5RB',
    score: 0,
    members: 2,
    open: true,
  },
];

describe('privacy scan of Parquet by distinct value', () => {
  it('finds a leaked DOB (DOB column), surname (list column) and postcode exactly as the per-cell scan does, ignoring a DOB in an event-date column', async () => {
    const { stores, ix } = await setup();
    const key = `scores/as_at=${AS_AT}/part-00000.parquet`;
    await writeParquet(stores.curated, key, LEAK_COLUMNS, LEAK_ROWS);
    const { 'per-cell': exact, distinct } = await bothModes(ix, stores);
    expect(distinct.result).toEqual(exact.result);
    expect(distinct.logs).toEqual(exact.logs);
    expect(distinct.collector.parquet.stats.filesSettled).toBe(1);
    expect(distinct.collector.parquet.stats.filesHandedBack).toBe(0);
    expect(distinct.result.findings.map((f) => `${f.location} | ${f.kind} | ${f.recordIds.join(',')}`)).toEqual([
      'row 1, column names[1] | surname | health:people:H1',
      'row 1, column note | postcode | health:people:H1',
      'row 2, column child_dob | date_of_birth | schools:pupils:S9',
      'row 4, column child_dob | date_of_birth | schools:pupils:S9',
      'row 4, column names[0] | surname | health:people:H1',
      'row 4, column note | full_name | schools:pupils:S9',
      'row 4, column note | postcode | health:people:H1',
    ]);
    // Units: family_id 4, child_dob 3, latest_event_date 3, names 3 (empty strings and nulls not counted), note 2.
    expect(distinct.result.files).toEqual([{ zone: 'curated', key, format: 'parquet', units: 15, findings: 7 }]);
    expect(distinct.result.findingsByKind).toMatchObject({ surname: 2, postcode: 2, date_of_birth: 2, full_name: 1 });
    expect(distinct.result.status).toBe('fail');
  });

  it('passes a clean table, counting non-empty text cells and list elements only', async () => {
    const { root, stores, ix } = await setup();
    // Units: F1, 2001-02-03 (a DOB column, but nobody's), 2019-04-07 (nobody's DOB column), North; a null list element and empty strings are not units.
    await writeRaw(
      root,
      `families/as_at=${AS_AT}/part-00000.parquet`,
      `SELECT * FROM (VALUES
      ('F1', DATE '2001-02-03', DATE '2019-04-07', ['North', NULL, ''], '', 1.0::DOUBLE, 1, true),
      ('', NULL, NULL, NULL, NULL, NULL, NULL, NULL)) t(family_id, child_dob, latest_event_date, names, note, score, members, open)`,
    );
    const { 'per-cell': exact, distinct } = await bothModes(ix, stores);
    expect(distinct.result).toEqual(exact.result);
    expect(distinct.result.status).toBe('pass');
    expect(distinct.result.files[0]!.units).toBe(4);
    expect(distinct.collector.parquet.stats).toMatchObject({ filesSettled: 1, valuesChecked: 4 });
  });

  it("checks a value once per scan across columns and files, and still reports each file's findings", async () => {
    const { stores, ix } = await setup();
    const rows = (prefix: string): ParquetRow[] => [
      { record_id_l: `${prefix}:1`, record_id_r: 'shared:9', match_key: 'exact', note: 'Quillfeather' },
      { record_id_l: 'shared:9', record_id_r: `${prefix}:1`, match_key: 'exact', note: 'ok' },
    ];
    const cols: ParquetColumn[] = [
      { name: 'record_id_l', type: 'VARCHAR' },
      { name: 'record_id_r', type: 'VARCHAR' },
      { name: 'match_key', type: 'VARCHAR' },
      { name: 'note', type: 'VARCHAR' },
    ];
    await writeParquet(stores.curated, `links/as_at=${AS_AT}/part-00000.parquet`, cols, rows('a'));
    await writeParquet(stores.curated, `pairs/as_at=${AS_AT}/part-00000.parquet`, cols, rows('a'));
    await writeParquet(stores.curated, `persons/as_at=${AS_AT}/part-00000.parquet`, cols, rows('b'));
    const { 'per-cell': exact, distinct } = await bothModes(ix, stores);
    expect(distinct.result).toEqual(exact.result);
    expect(distinct.result.files.map((f) => [f.key.split('/')[0], f.units, f.findings])).toEqual([
      ['links', 8, 1],
      ['pairs', 8, 1],
      ['persons', 8, 1],
    ]);
    // links: a:1, shared:9, exact, Quillfeather, ok; pairs: nothing new; persons: b:1.
    expect(distinct.collector.parquet.stats).toMatchObject({ filesSettled: 3, valuesChecked: 6, valuesHit: 1 });
  });

  it('lists the first findings and counts the rest exactly as the per-cell scan, across files', async () => {
    const { stores, ix } = await setup();
    const many = (n: number): ParquetRow[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `R${i}`,
        who: i % 3 === 0 ? 'Zebedee' : 'Quillfeather',
        tags: i % 2 ? ['x', 'M20 2AB'] : [],
      }));
    const cols: ParquetColumn[] = [
      { name: 'id', type: 'VARCHAR' },
      { name: 'who', type: 'VARCHAR' },
      { name: 'tags', type: 'VARCHAR[]' },
    ];
    await writeParquet(stores.curated, `facts/as_at=${AS_AT}/part-00000.parquet`, cols, many(300));
    await writeParquet(stores.curated, `records/as_at=${AS_AT}/part-00000.parquet`, cols, many(400));
    const { 'per-cell': exact, distinct } = await bothModes(ix, stores);
    expect(distinct.result).toEqual(exact.result);
    expect(distinct.logs).toEqual(exact.logs);
    expect(distinct.result.findings).toHaveLength(MAX_FINDINGS_LISTED);
    expect(distinct.result.findingsTotal).toBe(300 + 150 + 400 + 200);
    expect(distinct.result.findings.filter((f) => f.key.startsWith('records/')).length).toBe(MAX_FINDINGS_LISTED - 450);
  });

  it('hands files it does not model (other column types, unreadable files) to the per-cell scan, with the same result', async () => {
    const { root, stores, ix } = await setup();
    await writeRaw(
      root,
      `relationships/as_at=${AS_AT}/part-00000.parquet`,
      `SELECT 'F1' AS family_id, TIMESTAMP '2019-04-07 10:00:00' AS seen_at, 'Zebedee' AS who`,
    );
    await stores.curated.put(`facts/as_at=${AS_AT}/part-00000.parquet`, 'not a parquet file');
    const { 'per-cell': exact, distinct } = await bothModes(ix, stores);
    expect(distinct.result).toEqual(exact.result);
    expect(distinct.result.unreadableFiles).toBe(1);
    expect(distinct.result.files.find((f) => f.key.startsWith('facts/'))!.error).toBeTruthy();
    expect(distinct.result.findings.map((f) => `${f.key.split('/')[0]} ${f.location} ${f.kind}`)).toEqual([
      'relationships row 1, column who forename',
    ]);
    expect(distinct.collector.parquet.stats.filesSettled).toBe(0);
    expect(distinct.collector.parquet.stats.filesHandedBack).toBe(2);
  });
});
