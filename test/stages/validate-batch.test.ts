/**
 * Small files are validated in batches (one DuckDB instance, a few statements and one Parquet per batch): each file's
 * counts, quarantine and accepted rows are exactly what validating it alone gives, whatever else is in the batch
 * (duplicates within a file only, a file rejected part way leaves no row behind), and standardise reads a file's
 * rows from its batch.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contractFor } from '../../pipelines/feeds/index.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import {
  batchesOf,
  SMALL_FILE_BYTES,
  validateBatch,
  validateFile,
  validateStage,
  type FileCounts,
} from '../../pipelines/stages/validate.ts';
import { testTree, type TestTree } from './validate-support.ts';

let t: TestTree;
beforeEach(async () => {
  t = await testTree();
});
afterEach(async () => t.dispose());

const HEADER = 'record_ref,incident_ref,person_ref,incident_date,incident_type,role,postcode';
const good = (i: number) =>
  `PIR${10_000_000 + i},INC${20_000_000 + i},NOM${30_000_000 + (i % 7)},2026-08-0${1 + (i % 9)},domestic_abuse,victim,M14 1XJ`;

/** Files of every kind a batch meets: plain, a duplicate inside one file, the same row in two files, bad rows, bad files. */
const FILES: Array<[string, string]> = [
  ['a.csv', `${HEADER}\n${good(1)}\n`],
  ['b.csv', `${HEADER}\n${good(2)}\n${good(2)}\n${good(3)}\n`], // line 3 duplicates line 2
  ['c.csv', `${HEADER}\n${good(2)}\n`], // the same row as b's: not a duplicate (another file)
  ['d.csv', `${HEADER}\n${good(4)}\nPIR1,INC1,NOM1,2026-13-01,domestic_abuse,victim,M14 1XJ\n`], // an invalid date
  ['e.csv', `${HEADER}\n${good(5)}\n"unclosed,quote\n`], // rejected part way: nothing of it is kept
  ['f.csv', `${HEADER}\n`], // a header only
  ['g.csv', 'not,the,header\n1,2,3\n'], // missing columns
  ['h.csv', `${HEADER}\nPIR9,INC9,NOM9,2026-13-01,domestic_abuse,victim,M14 1XJ\n`], // every row quarantined
  ['i.csv', `${HEADER}\r\n${good(6)}\r\n`], // CRLF
];

const asAt = '2026-10-31';
const dt = '2026-09-01';

async function landed(): Promise<Array<{ key: string; extractDate: string; name: string; size: number }>> {
  const out = [];
  for (const [name, body] of FILES) {
    const key = `police/incidents/dt=${dt}/${name}`;
    await t.put(key, body);
    out.push({ key, extractDate: dt, name, size: Buffer.byteLength(body) });
  }
  return out;
}

const rowsOf = async (c: FileCounts) => {
  if (!c.acceptedKey) return [];
  const rows = await readParquet(t.stores.secure, c.acceptedKey);
  return rows
    .filter((r) => c.acceptedPart === undefined || Number(r._file) === c.acceptedPart)
    .map(({ _file: _f, ...r }) => r);
};

describe('validate: small files in batches', () => {
  it('each file of a batch gets the counts, quarantine and accepted rows it gets alone', async () => {
    const files = await landed();
    const contract = contractFor('police', 'incidents')!;
    for (const mode of ['quarantine', 'keep'] as const) {
      const ctx = t.ctx(asAt, { validate: { exactDuplicates: mode } } as never);
      const alone: FileCounts[] = [];
      const aloneRows: unknown[] = [];
      const aloneQuarantine: string[] = [];
      for (const f of files) {
        const c = await validateFile(ctx, contract, f);
        alone.push(c);
        aloneRows.push(await rowsOf(c));
        aloneQuarantine.push(c.quarantineKey ? (await t.stores.secure.get(c.quarantineKey)).toString('utf8') : '');
      }
      const batched = await validateBatch(ctx, contract, files, 0);
      expect(
        batched.map(({ acceptedKey: _k, acceptedPart: _p, ...c }) => c),
        mode,
      ).toEqual(alone.map(({ acceptedKey: _k, ...c }) => c));
      for (const [i, c] of batched.entries()) {
        expect(await rowsOf(c), `${files[i]!.name} ${mode}`).toEqual(aloneRows[i]);
        expect(
          c.quarantineKey ? (await t.stores.secure.get(c.quarantineKey)).toString('utf8') : '',
          `${files[i]!.name} ${mode}`,
        ).toBe(aloneQuarantine[i]);
      }
      // the cases meant: a duplicate counted in b only, e rejected with nothing accepted, h all quarantined
      const by = Object.fromEntries(batched.map((c, i) => [files[i]!.name, c]));
      expect(by['b.csv']).toMatchObject(
        mode === 'quarantine' ? { accepted: 2, quarantined: 1 } : { accepted: 3, duplicatesKept: 1 },
      );
      expect(by['c.csv']).toMatchObject({ accepted: 1, quarantined: 0 });
      expect(by['e.csv']).toMatchObject({ status: 'rejected', reason: 'bad_quoting', accepted: 0 });
      expect(by['e.csv']!.acceptedKey).toBeUndefined();
      expect(by['h.csv']).toMatchObject({ accepted: 0, quarantined: 1 });
    }
  });

  it('the stage batches small files, leaves large ones alone, and standardise reads every row', async () => {
    expect(batchesOf([{ size: 10 }, { size: 10 }, { size: SMALL_FILE_BYTES + 1 }, { size: 10 }])).toEqual([
      { one: { size: SMALL_FILE_BYTES + 1 } },
      { batch: [{ size: 10 }, { size: 10 }, { size: 10 }] },
    ]);
    const n = 300;
    for (let i = 0; i < n; i++)
      await t.put(
        `police/incidents/dt=2026-09-${String(1 + (i % 20)).padStart(2, '0')}/i-${i}.csv`,
        `${HEADER}\n${good(i)}\n`,
      );
    const res = await validateStage(t.ctx(asAt), { source: 'police', feed: 'incidents' });
    expect(res.counts).toMatchObject({ files: n, filesRejected: 0, rows: n, accepted: n });
    expect(new Set(res.files.map((f) => f.acceptedKey)).size).toBe(1);
    expect(new Set(res.files.map((f) => f.acceptedPart)).size).toBe(n);
  });
});
