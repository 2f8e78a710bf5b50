/**
 * End to end over a small generated partnership (A's generator): validate every feed, then standardise,
 * for two as-at dates; counts reconcile, the snapshot/incremental rule holds, every person record is in the
 * ground truth, curated tables hold no clear identifier, and two runs give byte-identical files.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { PEOPLE_FEEDS } from '../../pipelines/feeds/catalogue.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys } from '../../pipelines/layout.ts';
import { personRecordFromRow, standardiseStage } from '../../pipelines/stages/standardise.ts';
import { discoverFeeds, validateStage, type FileCounts } from '../../pipelines/stages/validate.ts';
import { clearValuesOf, testTree, type TestTree } from './validate-support.ts';

let t: TestTree;
let t2: TestTree;
let extractDates: string[] = [];
beforeAll(async () => {
  t = await testTree();
  t2 = await testTree();
  extractDates = generate({
    families: 80,
    seed: 'engineer-b-e2e',
    asAt: '2026-06-30',
    extracts: 3,
    every: 'month',
    out: t.root,
    force: true,
  }).extractDates;
  generate({
    families: 80,
    seed: 'engineer-b-e2e',
    asAt: '2026-06-30',
    extracts: 3,
    every: 'month',
    out: t2.root,
    force: true,
  });
});
afterAll(async () => {
  await t.dispose();
  await t2.dispose();
});

async function runBoth(
  tree: TestTree,
  asAt: string,
): Promise<{ files: Array<FileCounts & { feed: string }>; counts: Record<string, number> }> {
  const ctx = tree.ctx(asAt);
  const files: Array<FileCounts & { feed: string }> = [];
  for (const f of await discoverFeeds(ctx))
    for (const file of (await validateStage(ctx, f)).files) files.push({ ...file, feed: `${f.source}/${f.feed}` });
  return { files, counts: (await standardiseStage(ctx)).counts };
}

describe('validate + standardise on a generated landing', () => {
  for (const asAt of ['2026-06-15', '2026-06-30']) {
    it(`as-at ${asAt}: files selected by the snapshot/incremental rule, counts reconcile, records match the truth`, async () => {
      const { files, counts } = await runBoth(t, asAt);
      expect(files.filter((f) => f.status === 'rejected')).toEqual([]);
      for (const f of files) {
        expect(f.rows, f.key).toBe(f.accepted + f.quarantined);
        expect(f.extractDate <= asAt).toBe(true);
      }
      const upTo = extractDates.filter((d) => d <= asAt);
      expect(upTo.length).toBeGreaterThanOrEqual(2);
      const people = new Set(PEOPLE_FEEDS.map((d) => `${d.source}/${d.feed}`));
      for (const f of files) {
        if (people.has(f.feed) || f.feed === 'social_care/relationships')
          expect(f.extractDate, `${f.key} is the latest snapshot`).toBe(upTo[upTo.length - 1]);
      }
      expect(files.filter((f) => f.feed === 'police/incidents').map((f) => f.extractDate)).toEqual(upTo);
      const quarantined = files.reduce((a, f) => a + f.quarantined, 0);
      const rows = files.reduce((a, f) => a + f.rows, 0);
      expect(rows).toBeGreaterThan(1000);
      expect(quarantined / rows).toBeLessThan(0.01);

      const acceptedPeople = files.filter((f) => people.has(f.feed)).reduce((a, f) => a + f.accepted, 0);
      expect(counts.personRecords).toBe(acceptedPeople - counts.peopleRowsSuperseded!);
      const records = (await readParquet(t.stores.secure, keys.secure(asAt, 'person-records.parquet'))).map(
        personRecordFromRow,
      );
      expect(records.length).toBe(counts.personRecords);
      const truth = new Set(
        (await readFile(join(t.root, 'truth', 'records.csv'), 'utf8'))
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',').slice(0, 3).join(':')),
      );
      for (const r of records) expect(truth.has(r.recordId), r.recordId).toBe(true);
      expect(records.filter((r) => r.postcode !== null).length / records.length).toBeGreaterThan(0.8);
      expect(counts.facts).toBeGreaterThan(100);
      expect(counts.relationships).toBeGreaterThan(50);

      const clear = clearValuesOf(records);
      for (const table of ['records', 'facts', 'relationships'] as const) {
        for (const row of await readParquet(t.stores.curated, keys.curated(table, asAt))) {
          for (const [col, v] of Object.entries(row)) {
            const values = col === 'detail' ? Object.values(JSON.parse(v as string) as Record<string, string>) : [v];
            for (const x of values)
              if (typeof x === 'string') expect(clear.has(x.toUpperCase()), `${table}.${col}`).toBe(false);
          }
        }
      }
    });
  }

  it('two runs over the same generated inputs give byte-identical secure and curated files', async () => {
    await runBoth(t2, '2026-06-30');
    const asAt = '2026-06-30';
    for (const [store, key] of [
      ['secure', keys.secure(asAt, 'person-records.parquet')],
      ['curated', keys.curated('records', asAt)],
      ['curated', keys.curated('facts', asAt)],
      ['curated', keys.curated('relationships', asAt)],
      ['secure', keys.secure(asAt, 'validated/health/people/_counts.json')],
      ['secure', keys.secure(asAt, 'validated/health/people/dt=2026-06-30/people.parquet')],
      // small files of a feed are validated in batches sharing one Parquet (stages/validate.ts validateBatch)
      ['secure', keys.secure(asAt, 'validated/schools/attendance/batches/batch-00000.parquet')],
    ] as const) {
      const a = await t.stores[store].get(key);
      const b = await t2.stores[store].get(key);
      expect(a.equals(b), key).toBe(true);
    }
  });
});
