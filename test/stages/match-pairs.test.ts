import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { openPairTable, sortCuts, writePairTable } from '../../pipelines/stages/match-pairs.ts';

let root: string;
let store: LocalObjectStore;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'match-pairs-'));
  store = new LocalObjectStore(root);
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('match pair tables', () => {
  // records in stage order, and their ids (one with a quote and a comma, to test the id join)
  const ids = ['s:f:3', 's:f:1,\'x"', 's:f:2', 's:f:0'];
  const order = ids.map((_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));
  const rank = new Int32Array(ids.length);
  order.forEach((i, k) => {
    rank[i] = k;
  });
  const l = [0, 2, 3, 1, 0];
  const r = [2, 1, 0, 3, 1];
  const weight = [1.25, -3.5, 12.000000000001, 0.1 + 0.2, -20];
  const probability = weight.map((w) => 1 / (1 + 2 ** -w));

  it('orders pairs by (smaller id, larger id), in any order and runs given, and writes ids, exact numbers and rule names', async () => {
    const byIds = (p: number) => [ids[l[p]!]!, ids[r[p]!]!].sort();
    const expected = [0, 1, 2, 3, 4].sort((a, b) => (byIds(a).join('\u0000') < byIds(b).join('\u0000') ? -1 : 1));
    const run = (idx: number[]) => ({
      count: idx.length,
      lo: (k: number) => rank[l[idx[k]!]!]!,
      hi: (k: number) => rank[r[idx[k]!]!]!,
      weight: (k: number) => weight[idx[k]!]!,
      probability: (k: number) => probability[idx[k]!]!,
      rule: (k: number) => idx[k]! % 2,
    });
    const names = { idsByRank: order.map((i) => ids[i]!), ruleNames: ['rule a', "rule 'b'"] };
    const n = await writePairTable(store, 'pairs/x.parquet', { ...names, ...run([3, 0, 4, 1, 2]) });
    expect(n).toBe(5);
    const rows = await readParquet(store, 'pairs/x.parquet');
    expect(rows).toEqual(
      expected.map((p) => ({
        record_id_l: byIds(p)[0],
        record_id_r: byIds(p)[1],
        match_weight: weight[p],
        match_probability: probability[p],
        match_key: p % 2 ? "rule 'b'" : 'rule a',
      })),
    );
    // the same pairs give the same bytes, given in another order and in runs (the link phase's shards)
    const table = await openPairTable(store, 'pairs/y.parquet', names, { memoryLimit: '256MB' });
    for (const idx of [[2], [], [4, 0], [1, 3]]) await table.add(run(idx));
    expect(await table.finish()).toBe(5);
    expect((await readFile(join(root, 'pairs/x.parquet'))).equals(await readFile(join(root, 'pairs/y.parquet')))).toBe(
      true,
    );
    await expect(table.add(run([0]))).rejects.toThrow(/pairs added after the table was written/);
  });

  it('sorts range by range, cut at multiples of 2048 rows, into the bytes of one sort (row groups of 122,880 rows)', async () => {
    // 1,200,000 pairs (ten Parquet row groups; each sort more than one), 500 to each smaller record, shuffled, in runs
    const n = 2900;
    const ids = Array.from({ length: n }, (_, i) => `s:f:${String(i).padStart(5, '0')}`);
    const lo: number[] = [];
    const hi: number[] = [];
    for (let i = 0; i < 2400; i++)
      for (let j = i + 1; j <= i + 500; j++) {
        lo.push(i);
        hi.push(j);
      }
    const perm = Array.from({ length: lo.length }, (_, k) => (k * 7919) % lo.length);
    const run = (from: number, to: number) => ({
      count: to - from,
      lo: (k: number) => hi[perm[from + k]!]!,
      hi: (k: number) => lo[perm[from + k]!]!,
      weight: (k: number) => ((perm[from + k]! % 977) - 400) / 16,
      probability: (k: number) => (perm[from + k]! % 1000) / 1000,
      rule: (k: number) => perm[from + k]! % 3,
    });
    const names = { idsByRank: ids, ruleNames: ['a', 'b', 'c'] };
    const bytes: Buffer[] = [];
    for (const rowsPerSort of [undefined, 300_000]) {
      const key = `pairs/big-${rowsPerSort ?? 'one'}.parquet`;
      const table = await openPairTable(store, key, names, rowsPerSort ? { rowsPerSort } : {});
      for (const [from, to] of [
        [0, 400_000],
        [400_000, 400_001],
        [400_001, 1_200_000],
      ] as const)
        await table.add(run(from, to));
      expect(await table.finish()).toBe(1_200_000);
      bytes.push(await readFile(join(root, key)));
    }
    const rows = await readParquet(store, 'pairs/big-300000.parquet');
    expect(rows.length).toBe(1_200_000);
    expect(rows[49_152]).toMatchObject({ record_id_l: ids[98], record_id_r: ids[98 + 153] });
    expect(bytes[1]!.equals(bytes[0]!), '299,008 rows a sort').toBe(true);
  }, 120_000);

  it('cuts the sort at every multiple of its step, as (smaller rank, place among its rows)', () => {
    expect(sortCuts(Int32Array.from([3000, 0, 1000, 2200]), 2048)).toEqual([
      { rank: 0, offset: 2048 },
      { rank: 3, offset: 96 },
      { rank: 3, offset: 2144 },
    ]);
    expect(sortCuts(Int32Array.from([2048]), 2048)).toEqual([]);
    expect(() => sortCuts(Int32Array.from([1]), 1000)).toThrow(/not a positive multiple of 2048/);
  });

  it('refuses a rank with no record rather than dropping the pair', async () => {
    await expect(
      writePairTable(store, 'pairs/bad.parquet', {
        idsByRank: ['a', 'b'],
        ruleNames: ['r'],
        count: 1,
        lo: () => 0,
        hi: () => 7,
        weight: () => 1,
        probability: () => 0.5,
        rule: () => 0,
      }),
    ).rejects.toThrow(/1 pairs given but 0 written/);
    await expect(
      writePairTable(store, 'pairs/bad.parquet', {
        idsByRank: ['a', 'b'],
        ruleNames: ['r'],
        count: 2,
        lo: () => 0,
        hi: () => 1,
        weight: (k) => (k === 1 ? NaN : 1),
        probability: () => 0.5,
        rule: () => 0,
      }),
    ).rejects.toThrow(/pair 2 has no finite weight or probability/);
    expect(await store.exists('pairs/bad.parquet')).toBe(false);
  });
});
