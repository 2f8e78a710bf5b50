/**
 * `npm run bench:standardise`: the standardise stage alone on the validated data of a finished run (by default
 * the 100k `bench:pipeline` run), once per way of running it, each in its own child process on its own copy of
 * the validated zone, back to back:
 *   in-process  both pipelines (people; facts) on the main thread, interleaved
 *   worker      the facts pipeline on a worker thread (the local default)
 *   baseline    (only with BENCH_BASELINE_TREE) the standardise stage of another checkout, e.g. an earlier commit
 * Prints wall s, CPU s over all threads, CPU/wall (cores kept busy), peak RSS, wall ratios against the first way (medians
 * over BENCH_ROUNDS rounds, each round running every way in turn, so a busy spell on the machine hits all of them), the
 * stage's counts, and whether every file it wrote is byte-identical across the ways (sha256).
 *
 *   BENCH_OUT=/tmp/locality-bench-pipeline-100000/out   a finished run's out dir (its secure/as_at=D/validated is read)
 *   BENCH_DIR=/tmp/locality-bench-standardise          scratch (each way's copy; removed at the end)
 *   BENCH_WAYS=in-process,worker                        which ways, in this order
 *   BENCH_BASELINE_TREE=/path/to/checkout               adds the way `baseline` (that tree's pipelines/stages/standardise.ts)
 *   BENCH_ROUNDS=1                                      rounds: the ways run in turn in each round (ABAB...); medians are shown
 *   BENCH_KEEP=1                                        keep each way's out dir under BENCH_DIR (to inspect its files)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localRuntime } from '../pipelines/runtime.ts';

const here = fileURLToPath(import.meta.url);
const OUTPUT_FILES = (asAt: string) => [
  `secure/as_at=${asAt}/person-records.parquet`,
  `curated/records/as_at=${asAt}/part-00000.parquet`,
  `curated/facts/as_at=${asAt}/part-00000.parquet`,
  `curated/relationships/as_at=${asAt}/part-00000.parquet`,
];

interface ChildResult {
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  counts: Record<string, number>;
}

/** Child: run the stage once over `out`, print the figures as one JSON line. */
async function child(way: string, impl: string, out: string, asAt: string, runId: string): Promise<void> {
  const { runConfigSchema } = await import('../pipelines/config.ts');
  const { LocalObjectStore } = await import('../pipelines/io/local-object-store.ts');
  const { silentLog } = await import('../pipelines/log.ts');
  const { noProgress } = await import('../pipelines/progress.ts');
  const stores = {
    landing: new LocalObjectStore(join(out, 'landing')),
    secure: new LocalObjectStore(join(out, 'secure')),
    curated: new LocalObjectStore(join(out, 'curated')),
    outputs: new LocalObjectStore(join(out, 'outputs')),
  };
  const ctx = {
    runId,
    asAt,
    stores,
    config: runConfigSchema.parse({}),
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
  const mod = (await import(impl)) as {
    standardiseStage: (c: typeof ctx) => Promise<{ counts: Record<string, number> }>;
    runStandardise?: (c: typeof ctx, o: { inWorker: boolean }) => Promise<{ counts: Record<string, number> }>;
  };
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const c0 = cpu();
  const t0 = performance.now();
  const res =
    way === 'baseline'
      ? await mod.standardiseStage(ctx)
      : await mod.runStandardise!(ctx, { inWorker: way === 'worker' });
  const result: ChildResult = {
    wallMs: performance.now() - t0,
    cpuMs: cpu() - c0,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    counts: res.counts,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const source = resolve(process.env.BENCH_OUT ?? '/tmp/locality-bench-pipeline-100000/out');
  const scratch = resolve(process.env.BENCH_DIR ?? '/tmp/locality-bench-standardise');
  const ways = (process.env.BENCH_WAYS ?? 'in-process,worker').split(',').filter(Boolean);
  const baselineTree = process.env.BENCH_BASELINE_TREE;
  if (baselineTree) ways.unshift('baseline');
  const asAts = (await readdir(join(source, 'secure'))).filter((d) => d.startsWith('as_at=')).sort();
  if (asAts.length === 0)
    throw new Error(
      `bench:standardise: no secure/as_at=* under ${source}: run npm run bench:pipeline first or set BENCH_OUT`,
    );
  const asAt = asAts.at(-1)!.slice('as_at='.length);
  const validated = join(source, 'secure', `as_at=${asAt}`, 'validated');
  const countsFile = execFileSync('find', [validated, '-name', '_counts.json'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)[0];
  if (!countsFile) throw new Error(`bench:standardise: no _counts.json under ${validated}`);
  const runId = (JSON.parse(await readFile(countsFile, 'utf8')) as { runId: string }).runId;
  process.stderr.write(
    `bench:standardise: ${source} as-at ${asAt} run ${runId}, ${availableParallelism()} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );

  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
  const runs = new Map<string, Array<ChildResult & { sha: string[] }>>(ways.map((w) => [w, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const way of ways) {
      const out = join(scratch, way);
      await rm(out, { recursive: true, force: true });
      await mkdir(join(out, 'secure', `as_at=${asAt}`), { recursive: true });
      await cp(validated, join(out, 'secure', `as_at=${asAt}`, 'validated'), { recursive: true });
      const impl =
        way === 'baseline'
          ? resolve(baselineTree!, 'pipelines/stages/standardise.ts')
          : resolve(here, '../../pipelines/stages/standardise.ts');
      const stdout = execFileSync(process.execPath, ['--import', 'tsx', here, 'child', way, impl, out, asAt, runId], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 24,
      });
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
      const sha = await Promise.all(OUTPUT_FILES(asAt).map((f) => sha256(join(out, f))));
      runs.get(way)!.push({ ...r, sha });
      process.stderr.write(
        `  round ${round} ${way}: ${(r.wallMs / 1000).toFixed(1)} s wall, ${(r.cpuMs / 1000).toFixed(1)} s CPU, load ${loadavg()[0]!.toFixed(1)}\n`,
      );
      if (!process.env.BENCH_KEEP) await rm(out, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const all = [...runs.values()].flat();
  const rows = ways.map((way) => {
    const rs = runs.get(way)!;
    return {
      way,
      wallMs: median(rs.map((r) => r.wallMs)),
      cpuMs: median(rs.map((r) => r.cpuMs)),
      peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)),
      counts: rs[0]!.counts,
      sha: rs[0]!.sha,
    };
  });

  const first = rows[0]!;
  console.log(`\n${rounds} round(s), medians\nway          wall s   CPU s  CPU/wall  wall vs first  peak RSS MB`);
  for (const r of rows)
    console.log(
      `${r.way.padEnd(12)} ${(r.wallMs / 1000).toFixed(1).padStart(6)}  ${(r.cpuMs / 1000).toFixed(1).padStart(6)}  ${(r.cpuMs / r.wallMs).toFixed(2).padStart(8)}  ${(r.wallMs / first.wallMs).toFixed(2).padStart(13)}  ${r.peakRssMb.toFixed(0).padStart(11)}`,
    );
  console.log('\noutputs (sha256, first 16 hex)');
  OUTPUT_FILES(asAt).forEach((f, i) => {
    const same = all.every((r) => r.sha[i] === first.sha[i]);
    console.log(
      `  ${f}: ${rows.map((r) => `${r.way}=${r.sha[i]!.slice(0, 16)}`).join(' ')} ${same ? 'identical' : 'DIFFERENT'}`,
    );
  });
  const countsSame = all.every((r) => JSON.stringify(r.counts) === JSON.stringify(first.counts));
  console.log(`counts ${countsSame ? 'identical' : 'DIFFERENT'}: ${JSON.stringify(first.counts)}`);
  for (const r of rows) if (!countsSame) console.log(`  ${r.way}: ${JSON.stringify(r.counts)}`);
  if (!process.env.BENCH_KEEP) await rm(scratch, { recursive: true, force: true });
  if (!countsSame || OUTPUT_FILES(asAt).some((_, i) => all.some((r) => r.sha[i] !== first.sha[i])))
    process.exitCode = 1;
}

if (process.argv[2] === 'child')
  await child(process.argv[3]!, process.argv[4]!, process.argv[5]!, process.argv[6]!, process.argv[7]!);
else await main();
