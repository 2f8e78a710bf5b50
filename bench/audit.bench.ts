/**
 * bench:audit — the cost of the publish stage's privacy scan and match audit report, against the floor of
 * merely reading every published object (same run, same machine).
 *
 *   npm run bench:audit [-- --families 1500] [-- --out <existing run output dir> --as-at D]
 *
 * Without --out it generates --families families (seeded) into a temp directory and runs the pipeline once.
 * Prints wall times, values checked per second, the ratio scan / read-only, and peak RSS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from '../fixtures/generator/generate.ts';
import { localStores, runLocal } from '../pipelines/local/runner.ts';
import { silentLog } from '../pipelines/log.ts';
import { iterateParquet } from '../pipelines/io/parquet.ts';
import { loadIdentifierIndex } from '../pipelines/privacy/identifiers.ts';
import { publishedObjects, scanPublished } from '../pipelines/privacy/scan.ts';
import { configurationVocabulary } from '../pipelines/privacy/vocabulary.ts';
import { computeAudit } from '../pipelines/reports/match-audit/compute.ts';
import { loadAuditData } from '../pipelines/reports/match-audit/load.ts';
import { renderAuditHtml } from '../pipelines/reports/match-audit/render.ts';

const { values } = parseArgs({
  options: {
    families: { type: 'string', default: '1500' },
    out: { type: 'string' },
    'as-at': { type: 'string', default: '2026-03-31' },
  },
});
const asAt = values['as-at']!;
let out = values.out;
let tmp: string | undefined;
if (!out) {
  tmp = await mkdtemp(join(tmpdir(), 'bench-audit-'));
  const families = Number(values.families);
  process.stderr.write(`generating ${families} families and running the pipeline once...\n`);
  generate({ families, seed: 'bench-audit', asAt, out: tmp, extracts: 2 });
  const res = await runLocal({
    landing: join(tmp, 'landing'),
    out: join(tmp, 'out'),
    asAt,
    log: silentLog,
    retryDelayMs: 0,
  });
  if (res.status !== 'ok') throw new Error(`pipeline run failed: ${JSON.stringify(res.error)}`);
  out = join(tmp, 'out');
}
const stores = localStores(join(out, '..', 'landing'), out);
let peak = process.memoryUsage().rss;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
};

// Baseline: read every object the scan reads (Parquet rows decoded, other files read whole), checking nothing.
const targets = await publishedObjects(
  stores,
  asAt,
  (zone, key) => zone === 'outputs' && key.startsWith(`as_at=${asAt}/match-audit/`),
);
const [readValues, readMs] = await time(async () => {
  let n = 0;
  for (const t of targets) {
    if (t.key.endsWith('.parquet')) for await (const b of iterateParquet(t.store, t.key)) n += b.length;
    else n += (await t.store.get(t.key)).length > 0 ? 1 : 0;
  }
  return n;
});
const [ix, indexMs] = await time(() => loadIdentifierIndex(stores.secure, asAt));
const [data, loadMs] = await time(() => loadAuditData(stores, asAt, 'bench'));
const [scan, scanMs] = await time(() =>
  scanPublished(ix, stores, asAt, {
    vocabulary: configurationVocabulary(data.data.localityOfFamily?.values() ?? []),
    exclude: (zone, key) => zone === 'outputs' && key.startsWith(`as_at=${asAt}/match-audit/`),
  }),
);
const [, computeMs] = await time(async () =>
  renderAuditHtml({ ...computeAudit(data.data), privacy: scan.result, manifest: data.manifest, review: data.review }),
);
clearInterval(sample);
const units = scan.result.files.reduce((s, f) => s + f.units, 0);
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(
  [
    `bench:audit  as-at ${asAt}, ${ix.records} secure person records, ${targets.length} published objects (${readValues} Parquet rows + files)`,
    `  read every published object (floor)   ${fmt(readMs)}`,
    `  identifier index from secure zone     ${fmt(indexMs)}`,
    `  privacy scan (read + check)           ${fmt(scanMs)}   ${units} values, ${Math.round(units / (scanMs / 1000))} values/s, ${scan.result.status}`,
    `  scan / read-only ratio                ${(scanMs / readMs).toFixed(2)}x`,
    `  audit load (curated + secure)         ${fmt(loadMs)}`,
    `  audit compute + render                ${fmt(computeMs)}`,
    `  peak RSS                              ${Math.round(peak / 1024 / 1024)} MiB`,
  ].join('\n'),
);
if (tmp) await rm(tmp, { recursive: true, force: true });
