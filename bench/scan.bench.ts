/**
 * bench:scan — the privacy scan of a run's published objects, Parquet tables checked cell by cell (the old
 * path) against distinct values in DuckDB (the new path), same data, same run. Checks both ScanResults are
 * deep-equal and prints both times and their ratio, Parquet files alone and all files.
 *
 *   npm run bench:scan -- --out <run output dir with secure/ curated/ outputs/> [--as-at 2026-03-31] [--only new|old]
 *
 * e.g. `nice npm run bench:scan -- --out /tmp/scan-fixture-100k`
 */
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalObjectStore } from '../pipelines/io/local-object-store.ts';
import { iterateParquet } from '../pipelines/io/parquet.ts';
import { keys } from '../pipelines/layout.ts';
import { loadIdentifierIndex, type IdentifierIndex } from '../pipelines/privacy/identifiers.ts';
import { publishedObjects, ScanCollector, type ParquetScanMode, type ScanResult } from '../pipelines/privacy/scan.ts';
import { configurationVocabulary } from '../pipelines/privacy/vocabulary.ts';

const { values } = parseArgs({
  options: { out: { type: 'string' }, 'as-at': { type: 'string', default: '2026-03-31' }, only: { type: 'string' } },
});
if (!values.out) throw new Error('bench:scan needs --out <run output dir> (with secure/, curated/ and outputs/)');
const asAt = values['as-at']!;
const stores = {
  secure: new LocalObjectStore(join(values.out, 'secure')),
  curated: new LocalObjectStore(join(values.out, 'curated')),
  outputs: new LocalObjectStore(join(values.out, 'outputs')),
};

const localities = new Set<string>();
const familiesKey = keys.curated('families', asAt);
if (await stores.curated.exists(familiesKey)) {
  for await (const b of iterateParquet(
    stores.curated,
    familiesKey,
    'SELECT DISTINCT locality FROM {{file}} ORDER BY locality',
  ))
    for (const r of b) if (typeof r.locality === 'string') localities.add(r.locality);
}
const vocabulary = configurationVocabulary(localities);
// As the publish stage runs it: the match audit's own outputs are scanned separately, before they are written.
const exclude = (zone: string, key: string) => zone === 'outputs' && key.startsWith(`as_at=${asAt}/match-audit/`);
const ix = await loadIdentifierIndex(stores.secure, asAt);

interface Run {
  result: ScanResult;
  totalMs: number;
  parquetMs: number;
  peakRss: number;
  collector: ScanCollector;
}

/** scanPublished, with each object timed. */
async function scan(index: IdentifierIndex, mode: ParquetScanMode): Promise<Run> {
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  const collector = new ScanCollector(index, undefined, vocabulary, { parquet: mode });
  let parquetMs = 0;
  try {
    for (const t of await publishedObjects(stores, asAt, exclude)) {
      const t1 = performance.now();
      await collector.scanObject(t);
      if (t.key.endsWith('.parquet')) parquetMs += performance.now() - t1;
    }
  } finally {
    await collector.close();
  }
  const result = collector.result(asAt);
  clearInterval(sample);
  return { result, totalMs: performance.now() - t0, parquetMs, peakRss, collector };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;
const runs: Partial<Record<ParquetScanMode, Run>> = {};
if (values.only !== 'new') runs['per-cell'] = await scan(ix, 'per-cell');
if (values.only !== 'old') runs.distinct = await scan(ix, 'distinct');

const any = (runs.distinct ?? runs['per-cell'])!;
const parquetFiles = any.result.files.filter((f) => f.format === 'parquet');
const lines = [
  `bench:scan  as-at ${asAt}, ${ix.records} secure person records, ${any.result.files.length} published objects (${parquetFiles.length} Parquet, ${parquetFiles.reduce((s, f) => s + f.units, 0)} Parquet text cells), status ${any.result.status}, ${any.result.findingsTotal} findings`,
];
for (const [mode, r] of Object.entries(runs)) {
  lines.push(
    `  ${mode.padEnd(9)} Parquet ${fmt(r.parquetMs).padStart(9)}   all files ${fmt(r.totalMs).padStart(9)}   peak RSS ${mib(r.peakRss)}`,
  );
}
if (runs.distinct) {
  const s = runs.distinct.collector.parquet.stats;
  lines.push(
    `  distinct: ${s.filesSettled} Parquet files settled from distinct values, ${s.filesHandedBack} scanned cell by cell, ${s.valuesChecked} distinct values checked`,
  );
}
if (runs.distinct && runs['per-cell']) {
  const old = runs['per-cell'];
  const fresh = runs.distinct;
  lines.push(
    `  per-cell / distinct: Parquet ${(old.parquetMs / fresh.parquetMs).toFixed(2)}x, all files ${(old.totalMs / fresh.totalMs).toFixed(2)}x`,
  );
  const same = isDeepStrictEqual(old.result, fresh.result);
  lines.push(`  ScanResults deep-equal: ${same ? 'yes' : 'NO'}`);
  if (!same) process.exitCode = 1;
}
console.log(lines.join('\n'));
