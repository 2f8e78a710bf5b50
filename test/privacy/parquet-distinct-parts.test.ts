import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openScratchDuckDb } from '../../pipelines/io/parquet.ts';
import { mergeHitUnits, ParquetDistinctScanner } from '../../pipelines/privacy/parquet-distinct.ts';

// Publish shards (issue #12): shard k checks the distinct values whose hash falls in k. The parts of a file must
// together give exactly the whole scan: every value checked once, the same hit values, the same first hit units.

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** Two tables of synthetic values: every 97th value (and some list elements, and a DOB column) "holds an identifier". */
async function tables(): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), 'privacy-parts-'));
  roots.push(root);
  const db = await openScratchDuckDb();
  const paths = [join(root, 'a.parquet'), join(root, 'b.parquet')];
  try {
    await db.conn.run(
      `COPY (SELECT CASE WHEN i % 97 = 0 THEN 'LEAK' || i ELSE 'v' || (i % 5000) END AS name,
                    ['e' || (i % 300), CASE WHEN i % 401 = 0 THEN 'LEAKL' || i ELSE 'f' END] AS tags,
                    DATE '2015-01-01' + CAST(i % 700 AS INTEGER) AS date_of_birth,
                    i AS n
             FROM range(20000) t(i)) TO '${paths[0]}' (FORMAT parquet)`,
    );
    // overlaps the first file's values: a value checked clean or hit in one file is not checked again
    await db.conn.run(
      `COPY (SELECT CASE WHEN i % 89 = 0 THEN 'LEAK' || (i * 3) ELSE 'v' || (i % 7000) END AS name FROM range(9000) t(i)) TO '${paths[1]}' (FORMAT parquet)`,
    );
  } finally {
    await db.dispose();
  }
  return paths;
}

const check = (text: string, dob: boolean): string[] => {
  const hits: string[] = [];
  if (text.startsWith('LEAK')) hits.push('name');
  if (dob && text.endsWith('-07')) hits.push('dob');
  return hits;
};
const isDob = (c: string) => c === 'date_of_birth';

async function scanAll(paths: string[], part?: { index: number; count: number }) {
  const s = new ParquetDistinctScanner<string>(check, isDob, '1GB', undefined, part);
  try {
    const files = [];
    for (const p of paths) {
      const r = (await s.scan(p))!;
      files.push({
        units: r.units,
        hitValues: r.hitValues.map((h) => JSON.stringify(h)),
        first: await r.firstHitUnits(1_000_000),
      });
    }
    return { files, stats: { ...s.stats } };
  } finally {
    await s.dispose();
  }
}

describe('privacy scan by distinct value, in parts (publish shards)', () => {
  for (const count of [1, 3, 7]) {
    it(`${count} part(s) together check each value once and give the whole scan's hit values and first hit units`, async () => {
      const paths = await tables();
      const whole = await scanAll(paths);
      expect(whole.stats.valuesHit).toBeGreaterThan(100); // the planted values are found at all
      const parts = [];
      for (let index = 0; index < count; index++) parts.push(await scanAll(paths, { index, count }));
      expect(parts.reduce((n, p) => n + p.stats.valuesChecked, 0)).toBe(whole.stats.valuesChecked);
      expect(parts.reduce((n, p) => n + p.stats.valuesHit, 0)).toBe(whole.stats.valuesHit);
      for (const [f, w] of whole.files.entries()) {
        for (const p of parts) expect(p.files[f]!.units).toBe(w.units); // every part counts every cell
        expect(parts.flatMap((p) => p.files[f]!.hitValues).sort()).toEqual([...w.hitValues].sort());
        const merged = mergeHitUnits(
          parts.map((p) => p.files[f]!.first),
          1_000_000,
        );
        // a quota smaller than the hits: each part's own first units, merged, are the whole scan's first units
        const quota = 37;
        expect(
          mergeHitUnits(
            parts.map((p) => p.files[f]!.first.slice(0, quota)),
            quota,
          ).map((u) => u.location),
        ).toEqual(w.first.slice(0, quota).map((u) => u.location));
        expect(merged.map((u) => u.location)).toEqual(w.first.map((u) => u.location));
        expect(merged).toEqual(w.first);
      }
      if (count > 1) for (const p of parts) expect(p.stats.valuesChecked).toBeLessThan(whole.stats.valuesChecked);
    });
  }

  it('refuses a part that is not one', () => {
    expect(() => new ParquetDistinctScanner<string>(check, isDob, '1GB', undefined, { index: 3, count: 3 })).toThrow(
      /part 3 of 3 is not a part/,
    );
  });
});
