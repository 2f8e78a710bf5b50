/**
 * `npm run bench:sf-outcomes`: what the Supporting Families publish step (`supporting-families`) costs on a finished
 * run, read only: with no family worked with (every run without leads' outcomes), then with N families worked with
 * (the top N families of the run by score, each given a worked_with outcome with a case opened 30 days before the
 * as-at date, written to a scratch secure zone of its own). Prints wall and CPU seconds and peak RSS for each.
 *
 *   BENCH_OUT=<dir>      a finished run's out dir (curated/, outputs/ are READ, never written)
 *                        (default /tmp/locality-bench-pipeline-100000/out)
 *   BENCH_LANDING=<dir>  its landing dir, read only (lookups)
 *   BENCH_WORK=<dir>     the scratch secure zone and staged files (default /tmp/locality-bench-sf-outcomes)
 *   --worked-with <n>    families worked with (default 2000)
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { addDays } from '../models/dates.ts';
import { parseRunConfig } from '../pipelines/config.ts';
import { LocalObjectStore } from '../pipelines/io/local-object-store.ts';
import { silentLog } from '../pipelines/log.ts';
import { readManifest } from '../pipelines/manifest.ts';
import { OUTCOME_IMPORTS_PREFIX } from '../pipelines/outcomes/store.ts';
import { noProgress } from '../pipelines/progress.ts';
import { publishSupportingFamilies } from '../pipelines/reports/supporting-families/publish.ts';
import { localRuntime } from '../pipelines/runtime.ts';
import { readScores } from '../pipelines/tables/scores.ts';

const SRC = process.env.BENCH_OUT ?? '/tmp/locality-bench-pipeline-100000/out';
const LANDING = process.env.BENCH_LANDING ?? '/tmp/locality-bench-pipeline-100000/landing';
const WORK = process.env.BENCH_WORK ?? '/tmp/locality-bench-sf-outcomes';
const args = process.argv.slice(2);
const i = args.indexOf('--worked-with');
const N = Number(i >= 0 ? args[i + 1] : 2000);

async function main(): Promise<void> {
  if (!existsSync(join(SRC, 'outputs'))) throw new Error(`BENCH_OUT ${SRC}: no finished run there`);
  await rm(WORK, { recursive: true, force: true });
  const stores = {
    landing: new LocalObjectStore(LANDING),
    curated: new LocalObjectStore(join(SRC, 'curated')),
    outputs: new LocalObjectStore(join(SRC, 'outputs')),
    secure: new LocalObjectStore(join(WORK, 'secure')),
  };
  const asAt = (await readdir(join(SRC, 'outputs')))
    .map((d) => /^as_at=(\d{4}-\d{2}-\d{2})$/.exec(d)?.[1])
    .filter((x): x is string => !!x)
    .sort()
    .pop()!;
  const manifest = (await readManifest(stores.outputs, asAt))!;
  const ctx = {
    runId: manifest.runId,
    asAt,
    stores,
    config: parseRunConfig(manifest.config.value ?? {}, 'the run manifest'),
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime({ scratchDir: join(WORK, 'scratch') }),
    release: new LocalObjectStore(join(WORK, 'staged')),
  };
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const time = async (label: string) => {
    peak = process.memoryUsage.rss();
    const c0 = cpuNow();
    const t0 = performance.now();
    const counts = await publishSupportingFamilies(ctx);
    const wall = (performance.now() - t0) / 1000;
    const cpu = (cpuNow() - c0) / 1000;
    process.stdout.write(
      `  ${label.padEnd(28)} wall ${wall.toFixed(2).padStart(7)} s  CPU ${cpu.toFixed(2).padStart(7)} s  peak RSS ${(peak / 1024 ** 3).toFixed(2)} GiB  ${JSON.stringify(counts)}\n`,
    );
  };
  process.stdout.write(`supporting-families step on ${SRC} (as at ${asAt})\n`);
  await time('no family worked with');
  const top = (await readScores(stores.curated, asAt))
    .filter((s) => s.tier !== null)
    .sort((a, b) => b.score - a.score || (a.familyId < b.familyId ? -1 : 1))
    .slice(0, N);
  const opened = addDays(asAt, -30);
  // written as an import in the scratch secure zone only (saveOutcomeImport would also index it in the outputs zone)
  await stores.secure.put(
    `${OUTCOME_IMPORTS_PREFIX}bench.json`,
    JSON.stringify({
      file: 'bench.csv',
      fileSha256: 'bench',
      rows: top.map((s) => ({
        familyId: s.familyId,
        date: opened,
        outcome: 'worked_with',
        leadPractitioner: 'bench',
        caseOpened: opened,
        caseClosed: null,
      })),
    }),
  );
  await time(`${top.length} families worked with`);
  clearInterval(sampler);
}

await main();
