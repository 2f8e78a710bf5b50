/**
 * `npm run bench:stages -- families|stratify|publish [...]`: runs single stages (through invokeStage, as the local runner
 * does) against a copy of a finished run's output directory, and prints each stage's wall time, CPU time over all
 * threads (process.cpuUsage), CPU / wall (cores kept busy) and peak RSS (sampled every 50 ms), and the SHA-256 of
 * every file the stage writes. `validate` runs once per feed the finished run validated (its stage records), two
 * feeds at a time; its files (validated Parquet, quarantine, counts) are hashed as one digest of every file.
 *
 *   BENCH_OUT=<dir>      a finished run's out dir (secure/, curated/, outputs/); it is COPIED, never written (the
 *                        copy's stage records of the stages benched are removed, else a run made by this same commit
 *                        would have every stage reused, not run)
 *                        (default /tmp/locality-bench-pipeline-100000/out)
 *   BENCH_LANDING=<dir>  its landing dir, read only (lookups) (default /tmp/locality-bench-pipeline-100000/landing)
 *   BENCH_WORK=<dir>     the scratch copy the stages write into (default /tmp/locality-bench-stages)
 *   BENCH_REPEAT=<n>     run the stage list n times (default 1)
 *   BENCH_FAN_OUT=<n>    a sharded stage (SHARDED_STAGES) fanned out as the local runner runs it: plan, its shards on
 *                        n worker threads (the stage pool; in-process when the plan makes one shard), merge.
 *                        Unset: the stage run whole (no phase), in-process
 *   BENCH_SHARDS=<n>     with BENCH_FAN_OUT: the plan makes exactly n shards (the run config's sharding section)
 *
 * Compare old vs new code in the same session: the machine is shared, so report ratios, not absolutes.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { localStores } from '../pipelines/local/runner.ts';
import { readManifest } from '../pipelines/manifest.ts';
import { silentLog } from '../pipelines/log.ts';
import { noProgress } from '../pipelines/progress.ts';
import { localRuntime } from '../pipelines/runtime.ts';
import { invokeStage } from '../pipelines/stages/invoke.ts';
import { keys } from '../pipelines/layout.ts';
import type { ObjectStore } from '../pipelines/io/object-store.ts';
import { readStageRecords, stageRecordKey } from '../pipelines/stage-records.ts';
import { configForRun } from '../pipelines/manifest.ts';
import { stagePool, type StagePool } from '../pipelines/local/stage-pool.ts';
import { isShardedStage } from '../pipelines/stages/names.ts';

const SRC = process.env.BENCH_OUT ?? '/tmp/locality-bench-pipeline-100000/out';
const LANDING = process.env.BENCH_LANDING ?? '/tmp/locality-bench-pipeline-100000/landing';
const WORK = process.env.BENCH_WORK ?? '/tmp/locality-bench-stages';
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const FAN_OUT = Number(process.env.BENCH_FAN_OUT ?? 0);
const SHARDS = process.env.BENCH_SHARDS ? Number(process.env.BENCH_SHARDS) : undefined;
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const stageNames = names.length > 0 ? names : ['families', 'stratify'];

/** The files each stage writes (zone, key) for the as-at date. */
function writtenBy(stage: string, asAt: string): Array<[string, string]> {
  if (stage === 'families')
    return [
      ['curated', keys.curated('families', asAt)],
      ['curated', keys.curated('family_members', asAt)],
      ['secure', keys.secure(asAt, 'families/person-dobs.parquet')],
    ];
  if (stage === 'stratify') return [['curated', keys.curated('scores', asAt)]];
  if (stage === 'standardise')
    return [
      ['secure', keys.secure(asAt, 'person-records.parquet')],
      ['secure', keys.secure(asAt, 'ref-pseudonyms.jsonl')],
      ['curated', keys.curated('records', asAt)],
      ['curated', keys.curated('facts', asAt)],
      ['curated', keys.curated('relationships', asAt)],
    ];
  return [];
}

/** Folders a stage writes many files in (zone, prefix): hashed together, one digest of every file's path and SHA-256. */
function foldersWrittenBy(stage: string, asAt: string): Array<[string, string]> {
  if (stage === 'validate')
    return [
      ['secure', keys.secure(asAt, 'validated/')],
      ['secure', keys.secure(asAt, 'quarantine/')],
    ];
  return [];
}

async function folderDigest(root: string): Promise<{ files: number; sha256: string }> {
  if (!existsSync(root)) return { files: 0, sha256: '-' };
  const files = (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.slice(root.length)} ${await sha256(f)}\n`);
  return { files: files.length, sha256: h.digest('hex') };
}

/** The inputs a stage runs with: validate once per feed the finished run validated, every other stage once ({}). */
async function inputsOf(stage: string, outputs: ObjectStore, asAt: string, runId: string): Promise<unknown[]> {
  if (stage !== 'validate') return [{}];
  const records = (await readStageRecords(outputs, asAt, runId)).filter((r) => r.stage === 'validate');
  return records
    .map((r) => r.result.__input as { source: string; feed: string })
    .sort((a, b) => (`${a.source}/${a.feed}` < `${b.source}/${b.feed}` ? -1 : 1));
}

function sumCounts(all: Array<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c)) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function main(): Promise<void> {
  if (!existsSync(join(SRC, 'outputs'))) throw new Error(`BENCH_OUT ${SRC}: no finished run there (outputs/ missing)`);
  await rm(WORK, { recursive: true, force: true });
  await cp(SRC, WORK, { recursive: true });
  const stores = localStores(LANDING, WORK);
  // the run's as-at date and id from its manifest (one as-at folder per run dir)
  const asAt = (await readdir(join(WORK, 'outputs')))
    .map((d) => /^as_at=(\d{4}-\d{2}-\d{2})$/.exec(d)?.[1])
    .filter((x): x is string => !!x)
    .sort()[0];
  if (!asAt) throw new Error(`${WORK}/outputs: no as_at=<date> folder`);
  const manifest = await readManifest(stores.outputs, asAt);
  if (!manifest) throw new Error(`${WORK}: no manifest for ${asAt}`);
  // The copy's stage records of the stages run here are removed: a record of the same code version (the run was made
  // by this commit) would be reused (invokeStage) and the stage would not run at all. validate's are kept: they name
  // its inputs (inputsOf), and a validate of the same commit is reused, so bench it from another tree's run.
  for (const name of stageNames.filter((n) => n !== 'validate'))
    await rm(join(WORK, 'outputs', dirname(stageRecordKey(asAt, manifest.runId, name, 'x'))), {
      recursive: true,
      force: true,
    });
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const lines: string[] = [
    `  ${'stage'.padEnd(10)} ${'wall s'.padStart(8)} ${'CPU s'.padStart(8)} ${'CPU/wall'.padStart(9)} ${'peak RSS GiB'.padStart(13)}`,
  ];
  let peak = 0;
  let mainHeap = 0; // this thread's V8 heap (the worker threads' heaps are their own)
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    mainHeap = Math.max(mainHeap, process.memoryUsage().heapTotal);
  }, 50);
  for (let rep = 0; rep < REPEAT; rep++) {
    for (const name of stageNames) {
      // what the process holds as the stage starts (carried from the stages before it in this process)
      const m = process.memoryUsage();
      const gib = (x: number) => (x / 1024 ** 3).toFixed(2);
      process.stderr.write(
        `  ${name}: at start RSS ${gib(m.rss)} GiB (V8 heap ${gib(m.heapTotal)}, used ${gib(m.heapUsed)}; external ${gib(m.external)}, array buffers ${gib(m.arrayBuffers)})\n`,
      );
      peak = m.rss;
      let stagePeak = 0;
      const c0 = cpuNow();
      const t0 = performance.now();
      const inputs = await inputsOf(name, stores.outputs, asAt, manifest.runId);
      const results: Array<{ counts: Record<string, number> }> = [];
      const config =
        SHARDS === undefined
          ? undefined
          : { ...(await configForRun(stores.outputs, asAt, manifest.runId)), sharding: { [name]: { shards: SHARDS } } };
      const run = (input: unknown) =>
        invokeStage(
          name,
          { runId: manifest.runId, asAt, input },
          {
            stores,
            log: silentLog,
            progress: noProgress,
            runtime: localRuntime(),
            ...(config ? { config } : {}),
          },
        );
      if (FAN_OUT > 0 && isShardedStage(name)) {
        // each phase's own peak (the sampler's peak is reset at each phase start)
        const phasePeaks: string[] = [];
        let phaseCpu = cpuNow();
        let phaseWall = performance.now();
        const phaseDone = (phase: string) => {
          // and each phase's CPU s (over all threads) and wall s
          const [cpuAt, wallAt] = [cpuNow(), performance.now()];
          phasePeaks.push(
            `${phase} ${(peak / 1024 ** 3).toFixed(2)} (main thread's heap ${(mainHeap / 1024 ** 3).toFixed(2)}; ${((cpuAt - phaseCpu) / 1000).toFixed(1)} CPU s, ${((wallAt - phaseWall) / 1000).toFixed(1)} s wall)`,
          );
          [phaseCpu, phaseWall] = [cpuAt, wallAt];
          stagePeak = Math.max(stagePeak, peak);
          peak = process.memoryUsage.rss();
          mainHeap = process.memoryUsage().heapTotal;
        };
        const planned = (await run({ phase: 'plan' })) as unknown as {
          shards: Array<{ shard: number }>;
          counts: object;
        };
        phaseDone('plan');
        const pool: StagePool | undefined =
          FAN_OUT > 1 && planned.shards.length > 1
            ? stagePool(
                FAN_OUT,
                { landing: LANDING, out: WORK, scratch: stores.secure.scratch!, runtime: localRuntime() },
                silentLog,
              )
            : undefined;
        try {
          const shardEvent = (shard: number) => ({ runId: manifest.runId, asAt, input: { phase: 'shard', shard } });
          if (pool) await Promise.all(planned.shards.map(({ shard }) => pool.run(name, shardEvent(shard))));
          else for (const { shard } of planned.shards) await run({ phase: 'shard', shard });
        } finally {
          await pool?.close();
        }
        phaseDone('shards');
        process.stderr.write(`  ${name}: ${planned.shards.length} shards ${JSON.stringify(planned.counts)}\n`);
        results.push(await run({ phase: 'merge' }));
        phaseDone('merge');
        process.stderr.write(`  ${name}: peak RSS GiB by phase: ${phasePeaks.join(', ')}\n`);
      } else
        // two at a time (the runner's feeds Map on this machine's cores), results in input order
        for (let i = 0; i < inputs.length; i += 2)
          results.push(...(await Promise.all(inputs.slice(i, i + 2).map(run))));
      const out =
        results.length === 1
          ? results[0]!
          : { counts: { invocations: results.length, ...sumCounts(results.map((r) => r.counts)) } };
      const wall = performance.now() - t0;
      const cpu = cpuNow() - c0;
      peak = Math.max(peak, stagePeak);
      lines.push(
        `  ${name.padEnd(10)} ${(wall / 1000).toFixed(1).padStart(8)} ${(cpu / 1000).toFixed(1).padStart(8)} ${(cpu / wall).toFixed(2).padStart(9)} ${(peak / 1024 ** 3).toFixed(2).padStart(13)}`,
      );
      process.stderr.write(`${lines.at(-1)}\n`);
      for (const [zone, key] of writtenBy(name, asAt))
        lines.push(`    ${(await sha256(join(WORK, zone, key))).slice(0, 16)}  ${zone}/${key}`);
      for (const [zone, prefix] of foldersWrittenBy(name, asAt)) {
        const d = await folderDigest(join(WORK, zone, prefix));
        lines.push(`    ${d.sha256.slice(0, 16)}  ${zone}/${prefix} (${d.files} files)`);
      }
      // publish writes the run's staged set (released by Finalise run): every file of it (the match audit report
      // carries the code version, so it differs between two trees)
      if (name === 'publish')
        for (const o of await stores.secure.list(keys.stagingPrefix(asAt, manifest.runId)))
          lines.push(`    ${(await sha256(join(WORK, 'secure', o.key))).slice(0, 16)}  secure/${o.key}`);
      lines.push(
        `    counts ${createHash('sha256').update(JSON.stringify(out.counts)).digest('hex').slice(0, 16)}  ${JSON.stringify(out.counts).length} chars`,
      );
    }
  }
  clearInterval(sampler);
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
