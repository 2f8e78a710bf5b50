import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import {
  iterateParquet,
  openScratchDuckDb,
  readNumericColumns,
  readParquet,
  rowLinesToParquet,
  writeParquet,
  writeRowLines,
  type ParquetColumn,
} from '../../pipelines/io/parquet.ts';

let root: string;
let store: LocalObjectStore;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'parquet-test-'));
  store = new LocalObjectStore(root);
});
afterAll(async () => rm(root, { recursive: true, force: true }));

const columns: ParquetColumn[] = [
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'n', type: 'INTEGER' },
  { name: 'big', type: 'BIGINT' },
  { name: 'w', type: 'DOUBLE' },
  { name: 'flag', type: 'BOOLEAN' },
  { name: 'd', type: 'DATE' },
  { name: 'alts', type: 'VARCHAR[]' },
];
const rows = [
  {
    record_id: 'health:people:H1',
    n: 1,
    big: 9007199254740991,
    w: -1.5,
    flag: true,
    d: '2024-02-29',
    alts: ['ROBERT', 'BOB'],
  },
  { record_id: "o'neil", n: null, big: 0, w: 0.125, flag: false, d: null, alts: [] },
  { record_id: 'ÉMILIE', n: -7, big: null, w: null, flag: null, d: '1999-12-31', alts: null },
];

describe('parquet io', () => {
  it('round-trips plain rows with every supported type, in order', async () => {
    expect(await writeParquet(store, 'a/x.parquet', columns, rows)).toBe(3);
    expect(await readParquet(store, 'a/x.parquet')).toEqual(rows);
  });

  it('writes byte-identical files for the same rows (deterministic)', async () => {
    await writeParquet(store, 'a/1.parquet', columns, rows);
    await writeParquet(store, 'a/2.parquet', columns, rows);
    const a = await readFile(join(root, 'a/1.parquet'));
    const b = await readFile(join(root, 'a/2.parquet'));
    expect(a.equals(b)).toBe(true);
  });

  it('streams many rows from an async iterable and reads them back in batches', async () => {
    async function* gen() {
      for (let i = 0; i < 10_000; i++) yield { record_id: `r${String(i).padStart(5, '0')}`, n: i };
    }
    const cols: ParquetColumn[] = [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'n', type: 'INTEGER' },
    ];
    expect(await writeParquet(store, 'b/big.parquet', cols, gen())).toBe(10_000);
    let count = 0;
    let last = -1;
    for await (const batch of iterateParquet<{ record_id: string; n: number }>(store, 'b/big.parquet')) {
      for (const r of batch) {
        expect(r.n).toBe(last + 1);
        last = r.n;
        count++;
      }
    }
    expect(count).toBe(10_000);
  });

  it('writes an empty table with its schema', async () => {
    await writeParquet(store, 'c/empty.parquet', columns, []);
    expect(await readParquet(store, 'c/empty.parquet')).toEqual([]);
  });

  it('rejects a value of the wrong type naming the row and column', async () => {
    await expect(
      writeParquet(store, 'd/bad.parquet', columns, [{ ...rows[0]!, n: 'seven' as unknown as number }]),
    ).rejects.toThrow(/row 1 column "n" \(INTEGER\)/);
    await expect(writeParquet(store, 'd/bad.parquet', columns, [{ ...rows[0]!, d: '2024-2-1' }])).rejects.toThrow(
      /column "d" \(DATE\)/,
    );
  });

  it('keeps awkward text and every double exactly (newlines, quotes, emoji, separators; random doubles)', async () => {
    const cols: ParquetColumn[] = [
      { name: 's', type: 'VARCHAR' },
      { name: 'w', type: 'DOUBLE' },
      { name: 'l', type: 'VARCHAR[]' },
    ];
    let x = 123456789;
    const rand = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 10 ** ((x % 40) - 20);
    const awkward = [
      'line\nbreak\r\n',
      'quote " and \\ backslash',
      'tab\tend',
      '😀 Zoë Ñ',
      '\u2028\u2029',
      '{"json":"looking"}',
      '',
      ' ',
      'null',
    ];
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      s: awkward[i % awkward.length]!,
      w: rand(),
      l: [awkward[(i + 1) % awkward.length]!, ''],
    }));
    await writeParquet(store, 'e/awkward.parquet', cols, rows);
    expect(await readParquet(store, 'e/awkward.parquet')).toEqual(rows);
  });

  it('never quotes the refused value in the error (it may be a clear identifier)', async () => {
    await expect(
      writeParquet(store, 'd/bad.parquet', columns, [{ ...rows[0]!, n: 'JANE SMITH' as unknown as number }]),
    ).rejects.toThrow(/^(?!.*JANE).*cannot hold this string value/);
  });

  it('refuses a date that does not exist', async () => {
    await expect(writeParquet(store, 'd/bad.parquet', columns, [{ ...rows[0]!, d: '2023-02-29' }])).rejects.toThrow(
      /row 1 column "d" \(DATE\)/,
    );
  });

  it('reads a projection or filter given as SQL over {{file}}', async () => {
    await writeParquet(store, 'f/x.parquet', columns, rows);
    const got = [];
    for await (const b of iterateParquet(
      store,
      'f/x.parquet',
      'SELECT record_id, d FROM {{file}} WHERE n IS NOT NULL ORDER BY record_id',
    ))
      got.push(...b);
    expect(got).toEqual([
      { record_id: 'health:people:H1', d: '2024-02-29' },
      { record_id: 'ÉMILIE', d: '1999-12-31' },
    ]);
  });

  it('refuses a filtered, de-duplicated, grouped or joined read without ORDER BY (its row order could change between runs)', async () => {
    await writeParquet(store, 'f/o.parquet', columns, rows);
    const read = async (sql: string) => {
      const got = [];
      for await (const b of iterateParquet(store, 'f/o.parquet', sql)) got.push(...b);
      return got;
    };
    for (const sql of [
      'SELECT record_id FROM {{file}} WHERE n IS NOT NULL',
      'SELECT DISTINCT flag FROM {{file}}',
      'SELECT flag, count(*)::INTEGER AS k FROM {{file}} GROUP BY flag',
      'SELECT a.record_id FROM {{file}} a JOIN {{file}} b ON a.n = b.n',
    ])
      await expect(read(sql), sql).rejects.toThrow(/readParquet f\/o\.parquet: .*different order.*ORDER BY/);
    // Ordered, they are read; plain projections and single-row aggregates keep file order and need none.
    expect(await read('SELECT record_id FROM {{numbered_file}} WHERE n IS NOT NULL ORDER BY file_row_number')).toEqual([
      { record_id: 'health:people:H1' },
      { record_id: 'ÉMILIE' },
    ]);
    expect(await read('SELECT record_id FROM {{file}}')).toEqual(rows.map((r) => ({ record_id: r.record_id })));
    expect(await read('SELECT count(DISTINCT flag)::INTEGER AS k FROM {{file}}')).toEqual([{ k: 2 }]);
  });

  it('a windowed read gives the rows of the whole read, in file order, over several row groups', async () => {
    // 130,000 rows: two row groups of the writer's 122,880; windows of 50,000 (one across the groups) and more than all
    async function* gen() {
      for (let i = 0; i < 130_000; i++)
        yield { record_id: `r${String((i * 7919) % 130_000).padStart(6, '0')}`, n: i, w: i % 3 === 0 ? null : i / 4 };
    }
    const cols: ParquetColumn[] = [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'n', type: 'INTEGER' },
      { name: 'w', type: 'DOUBLE' },
    ];
    await writeParquet(store, 'w/win.parquet', cols, gen());
    const read = async (sql: string | undefined, windowRows?: number) => {
      const got: unknown[] = [];
      for await (const b of iterateParquet(store, 'w/win.parquet', sql, { windowRows })) for (const r of b) got.push(r);
      return got;
    };
    for (const sql of [
      undefined,
      'SELECT record_id, w FROM {{file}}',
      'SELECT * EXCLUDE (file_row_number) FROM {{numbered_file}} WHERE w IS NOT NULL ORDER BY file_row_number',
    ]) {
      const whole = await read(sql);
      expect(whole.length, String(sql)).toBeGreaterThan(80_000);
      for (const windowRows of [50_000, 1_000_000])
        expect(await read(sql, windowRows), `${sql} ${windowRows}`).toEqual(whole);
    }
    // windows of 7 rows over the first 70 (the small table below: every window boundary)
    await writeParquet(
      store,
      'w/small.parquet',
      cols,
      (async function* () {
        for (let i = 0; i < 70; i++) yield { record_id: `s${i}`, n: i, w: i };
      })(),
    );
    const small: unknown[] = [];
    for await (const b of iterateParquet(store, 'w/small.parquet', undefined, { windowRows: 7 })) small.push(...b);
    expect(small).toEqual(Array.from({ length: 70 }, (_, i) => ({ record_id: `s${i}`, n: i, w: i })));
    // an empty table: no rows, and a bad column is still an error
    await writeParquet(store, 'w/empty.parquet', cols, []);
    const none: unknown[] = [];
    for await (const b of iterateParquet(store, 'w/empty.parquet', undefined, { windowRows: 7 })) none.push(...b);
    expect(none).toEqual([]);
    await expect(
      (async () => {
        for await (const b of iterateParquet(store, 'w/empty.parquet', 'SELECT nope FROM {{file}}', { windowRows: 7 }))
          void b;
      })(),
    ).rejects.toThrow(/nope/);
  });

  it('a windowed read refuses a query that windows would change (grouping, DISTINCT, an aggregate)', async () => {
    await writeParquet(store, 'w/o.parquet', columns, rows);
    for (const sql of [
      'SELECT count(DISTINCT flag)::INTEGER AS k FROM {{file}}',
      'SELECT DISTINCT flag FROM {{numbered_file}} ORDER BY file_row_number',
      'SELECT flag, count(*)::INTEGER AS k FROM {{numbered_file}} GROUP BY flag ORDER BY file_row_number',
      'SELECT record_id FROM {{file}} WHERE n IS NOT NULL ORDER BY record_id',
    ])
      await expect(
        (async () => {
          for await (const b of iterateParquet(store, 'w/o.parquet', sql, { windowRows: 2 })) void b;
        })(),
        sql,
      ).rejects.toThrow(/a windowed read takes the whole file/);
  });

  it('names the missing object', async () => {
    await expect(readParquet(store, 'nope/x.parquet')).rejects.toThrow(/no object nope\/x.parquet/);
  });
});

describe('readNumericColumns', () => {
  it('reads INTEGER and DOUBLE columns into typed arrays across chunks, exactly and in order', async () => {
    const db = await openScratchDuckDb();
    try {
      // 5,000 rows: more than one DuckDB chunk (2,048 rows)
      const r = await readNumericColumns(
        db.conn,
        `SELECT (i * 7 % 5000)::INTEGER AS a, (i / 3.0 - 1e6)::DOUBLE AS w FROM range(5000) t(i) ORDER BY i`,
        { a: 'INTEGER', w: 'DOUBLE' },
      );
      expect(r.count).toBe(5000);
      expect(r.a).toBeInstanceOf(Int32Array);
      expect(r.w).toBeInstanceOf(Float64Array);
      for (const i of [0, 1, 2047, 2048, 4999]) {
        expect(r.a[i]).toBe((i * 7) % 5000);
        expect(r.w[i]).toBe(i / 3.0 - 1e6);
      }
    } finally {
      await db.dispose();
    }
  });

  it('refuses a column of another type or a NULL, naming the query and column', async () => {
    const db = await openScratchDuckDb();
    try {
      await expect(
        readNumericColumns(db.conn, 'SELECT 1::BIGINT AS a', { a: 'INTEGER' }, 'pairs of x'),
      ).rejects.toThrow('pairs of x: column a is BIGINT, expected INTEGER');
      await expect(
        readNumericColumns(db.conn, 'SELECT 1::INTEGER AS b', { a: 'INTEGER' }, 'pairs of x'),
      ).rejects.toThrow('pairs of x: expected columns a, got b');
      await expect(
        readNumericColumns(db.conn, 'SELECT * FROM (VALUES (1), (NULL)) t(a)', { a: 'INTEGER' }, 'pairs of x'),
      ).rejects.toThrow('pairs of x: row 2, column a: no value');
    } finally {
      await db.dispose();
    }
  });
});

describe('reading a value with no JSON form', () => {
  it('names the file and row, and never quotes the text around it (it may be a clear identifier)', async () => {
    const db = await openScratchDuckDb();
    try {
      await db.conn.run(
        `COPY (SELECT 'ZEBEDEE QUILLFEATHER' AS name, 'NaN'::DOUBLE AS w) TO '${join(root, 'nan.parquet')}' (FORMAT parquet)`,
      );
    } finally {
      await db.dispose();
    }
    const read = async () => {
      for await (const batch of iterateParquet(store, 'nan.parquet')) void batch;
    };
    const err = await read().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/nan\.parquet.*row 1 cannot be read/);
    expect(err?.message).not.toMatch(/ZEBEDEE|QUILLFEATHER/);
  });
});

describe('writeRowLines + rowLinesToParquet (a sharded stage writing parts)', () => {
  it('parts of row lines joined byte for byte write the bytes of writeParquet over all the rows (several row groups)', async () => {
    const cols: ParquetColumn[] = [
      { name: 'id', type: 'VARCHAR' },
      { name: 'n', type: 'INTEGER' },
    ];
    // over two row groups of 122,880 (the row groups follow the JSON reader's chunks: Parquet parts cannot be joined)
    const rows = Array.from({ length: 300_000 }, (_, i) => ({ id: `r${String(i).padStart(7, '0')}`, n: i % 977 }));
    await writeParquet(store, 'whole.parquet', cols, rows);
    const db = await openScratchDuckDb(undefined, root);
    try {
      const cuts = [0, 1, 70_000, 200_001, 300_000];
      const texts: Buffer[] = [];
      for (let p = 0; p + 1 < cuts.length; p++) {
        const f = join(db.dir, `part-${p}.ndjson`);
        expect(await writeRowLines(f, 'parts', cols, rows.slice(cuts[p], cuts[p + 1]))).toBe(cuts[p + 1]! - cuts[p]!);
        texts.push(await readFile(f));
      }
      const joined = join(db.dir, 'joined.ndjson');
      await writeFile(joined, Buffer.concat(texts));
      await rowLinesToParquet(db, joined, store, 'joined.parquet', cols);
    } finally {
      await db.dispose();
    }
    const [a, b] = [await store.get('whole.parquet'), await store.get('joined.parquet')];
    expect(a.length).toBeGreaterThan(0);
    expect(b.equals(a)).toBe(true);
  }, 120_000);
});
