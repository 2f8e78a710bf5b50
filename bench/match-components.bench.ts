/**
 * The connected components a match link phase by component would shard on, from a finished run's curated tables
 * (BENCH_OUT, default /work/bench-100k/out; its latest as-at date): the records (persons), the pairs at or above the
 * lowest threshold-sensitivity weight (pairs: vetoed ones included, so the components printed are at most coarser
 * than clustering needs) and the parent-like relationships (the age-order pairs, component edges). Prints the
 * records, pairs, components, the largest components and, for 4, 8, 16 and 32 link shards (matching/components.ts
 * packComponents), the largest shard's records and pairs as a share of all.
 *
 *   BENCH_OUT=/work/bench-100k/out npm run bench:match-components
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { componentSizes, linkComponents, packComponents } from '../matching/components.ts';
import { PARENT_LIKE_RELATIONSHIPS } from '../matching/records.ts';
import { SENSITIVITY_OFFSETS } from '../pipelines/stages/match-config.ts';

const out = process.env.BENCH_OUT ?? '/work/bench-100k/out';
const curated = join(out, 'curated');
const asAts = (await readdir(join(curated, 'persons'))).filter((d) => d.startsWith('as_at=')).sort();
const asAt = asAts.at(-1);
if (!asAt) throw new Error(`${curated}/persons: no as_at= folder (run the pipeline first)`);
const model = JSON.parse(
  (await import('node:fs')).readFileSync(join(curated, 'match', asAt, 'model.json'), 'utf8'),
) as { threshold: { weight: number } };
const lowest = model.threshold.weight + Math.min(...SENSITIVITY_OFFSETS);
const t0 = performance.now();
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const col = async (sql: string): Promise<unknown[][]> => (await conn.runAndReadAll(sql)).getRows();
const ids = (await col(`SELECT record_id FROM '${join(curated, 'persons', asAt)}/*.parquet' ORDER BY record_id`)).map(
  (r) => String(r[0]),
);
const index = new Map(ids.map((id, i) => [id, i]));
const edgesOf = (rows: unknown[][]) => {
  const l = new Int32Array(rows.length);
  const r = new Int32Array(rows.length);
  let count = 0;
  for (const [a, b] of rows) {
    const x = index.get(String(a));
    const y = index.get(String(b));
    if (x === undefined || y === undefined) continue;
    l[count] = x;
    r[count++] = y;
  }
  return { count, l, r };
};
const pairs = edgesOf(
  await col(
    `SELECT record_id_l, record_id_r FROM '${join(curated, 'pairs', asAt)}/*.parquet' WHERE match_weight >= ${lowest}`,
  ),
);
const parentLike = [...PARENT_LIKE_RELATIONSHIPS].map((r) => `'${r}'`).join(', ');
const age = edgesOf(
  await col(
    `SELECT from_record_id, to_record_id FROM '${join(curated, 'relationships', asAt)}/*.parquet' WHERE relationship IN (${parentLike})`,
  ),
);
conn.closeSync();
db.closeSync();
const t1 = performance.now();
const component = linkComponents(ids.length, [pairs, age]);
const sizes = componentSizes(component);
const t2 = performance.now();
const pairsOfComponent = new Map<number, number>();
for (let k = 0; k < pairs.count; k++) {
  const c = component[pairs.l[k]!]!;
  pairsOfComponent.set(c, (pairsOfComponent.get(c) ?? 0) + 1);
}
console.log(
  `${out} ${asAt}: ${ids.length} records, ${pairs.count} pairs at weight >= ${lowest}, ${age.count} age-order pairs`,
);
console.log(
  `components: ${sizes.length} (${sizes.filter(([, s]) => s === 1).length} single records); largest: ${sizes
    .slice(0, 5)
    .map(([c, s]) => `${s} records / ${pairsOfComponent.get(c) ?? 0} pairs`)
    .join(', ')}`,
);
console.log(`read ${((t1 - t0) / 1000).toFixed(1)} s, components ${((t2 - t1) / 1000).toFixed(2)} s`);
// where the graph percolates: the largest component at each sensitivity weight, with and without the age-order pairs
const weights = (
  await (async () => {
    const d = await DuckDBInstance.create(':memory:');
    const c = await d.connect();
    const rows = (
      await c.runAndReadAll(
        `SELECT record_id_l, record_id_r, match_weight FROM '${join(curated, 'pairs', asAt)}/*.parquet' WHERE match_weight >= ${lowest}`,
      )
    ).getRows();
    c.closeSync();
    d.closeSync();
    return rows;
  })()
).map((r) => Number(r[2]));
let atThreshold: { component: Int32Array; pairs: typeof pairs } | undefined;
console.log('| offset | pairs at or above | largest component, pairs only | with the age-order pairs |');
console.log('|---:|---:|---:|---:|');
for (const offset of SENSITIVITY_OFFSETS) {
  const w = model.threshold.weight + offset;
  const keep = { count: 0, l: new Int32Array(pairs.count), r: new Int32Array(pairs.count) };
  for (let k = 0; k < pairs.count; k++)
    if (weights[k]! >= w) {
      keep.l[keep.count] = pairs.l[k]!;
      keep.r[keep.count++] = pairs.r[k]!;
    }
  const alone = componentSizes(linkComponents(ids.length, [keep]))[0]![1];
  const atOffset = linkComponents(ids.length, [keep, age]);
  console.log(`| ${offset} | ${keep.count} | ${alone} | ${componentSizes(atOffset)[0]![1]} |`);
  if (offset === 0) atThreshold = { component: atOffset, pairs: keep };
}
printPacking('the run threshold', atThreshold!.component, atThreshold!.pairs);
printPacking('the lowest sensitivity weight', component, pairs);

/** For 4..32 link shards of whole components (packComponents): the largest shard's records and pairs. */
function printPacking(at: string, comp: Int32Array, edges: typeof pairs): void {
  console.log(`link shards of whole components at ${at}:`);
  console.log('| link shards | largest shard: records | share | pairs | share |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const parts of [4, 8, 16, 32]) {
    const partOf = packComponents(comp, parts);
    const records = new Float64Array(parts);
    const partPairs = new Float64Array(parts);
    for (let i = 0; i < ids.length; i++) records[partOf[i]!]!++;
    for (let k = 0; k < edges.count; k++) partPairs[partOf[edges.l[k]!]!]!++;
    const big = Math.max(...records);
    const share = (x: number, all: number) => `${((100 * x) / all).toFixed(1)}%`;
    console.log(
      `| ${parts} | ${big} | ${share(big, ids.length)} | ${Math.max(...partPairs)} | ${share(Math.max(...partPairs), edges.count)} |`,
    );
  }
}
