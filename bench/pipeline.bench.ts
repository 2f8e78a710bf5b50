/**
 * `npm run bench:pipeline`: the whole local pipeline (the run state machine on aws-local-stepfunctions, every
 * stage) on generated families; prints each stage's wall time, its CPU time over all threads (CPU / wall = cores kept busy) and the
 * process's peak RSS during it, the total,
 * and both as ratios of the targets for this 2-core machine at 100,000 families (issue #12: 90 s, 4 GiB) measured in the same run.
 *
 *   BENCH_FAMILIES=100000                  families to generate (default 100,000)
 *   BENCH_COUNCILS=n                        Greater Manchester councils they live in (default: one per 100,000
 *                                           families, at most 10), so places stay as dense as a real council's (one
 *                                           council of 300,000 families puts ~2,400 records with one forename,
 *                                           surname and postcode district in a block)
 *   BENCH_DIR=/tmp/locality-bench-pipeline-<families>[-c<n>]  where the landing data is generated (reused when there)
 *
 * Generation is timed separately and is not part of the pipeline's time. RSS is sampled every 50 ms
 * (worker threads and DuckDB live in this process, so they are included).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Command } from 'commander';
import { relaunchWithHeap } from '../bin/heap.mjs';
import { runLocal } from '../pipelines/local/runner.ts';
import { silentLog } from '../pipelines/log.ts';

const families = Number(process.env.BENCH_FAMILIES ?? 100_000);
const councils = Number(process.env.BENCH_COUNCILS ?? Math.min(10, Math.ceil(families / 100_000)));
// one council: the directory of the runs before BENCH_COUNCILS (the same data)
const dir = process.env.BENCH_DIR ?? `/tmp/locality-bench-pipeline-${families}${councils > 1 ? `-c${councils}` : ''}`;
const AS_AT = '2026-03-31';
/** Issue #12's targets at 100,000 families on 2 cores (were 3 minutes and 6 GiB until 2026-12-07). */
const TARGET_MS = 90_000;
const TARGET_RSS = 4 * 1024 ** 3;
const GiB = 1024 ** 3;

async function generate(): Promise<number> {
  if (existsSync(join(dir, 'landing'))) return 0;
  const t0 = performance.now();
  const { register } = await import('../pipelines/cli/commands/generate.ts');
  const program = new Command('locality').exitOverride();
  register(program);
  await program.parseAsync(
    [
      'generate',
      '--families',
      String(families),
      '--seed',
      'bench',
      '--as-at',
      AS_AT,
      '--extracts',
      '2',
      '--every',
      'month',
      ...(councils > 1 ? ['--councils', String(councils)] : []),
      '--out',
      dir,
    ],
    { from: 'user' },
  );
  return performance.now() - t0;
}

async function main(): Promise<void> {
  process.stderr.write(
    `bench:pipeline: ${families} families in ${councils} council(s), ${availableParallelism()} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, heap limit ${(getHeapStatistics().heap_size_limit / 1024 ** 3).toFixed(1)} GiB\n`,
  );
  const genMs = await generate();
  const out = join(dir, 'out');
  await rm(out, { recursive: true, force: true });

  const stages = new Map<string, { start: number; end?: number; peak: number; cpu: number; cpuEnd?: number }>();
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let current: string | undefined;
  let overallPeak = 0;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    overallPeak = Math.max(overallPeak, rss);
    if (current) {
      const s = stages.get(current)!;
      s.peak = Math.max(s.peak, rss);
    }
  }, 50);
  const t0 = performance.now();
  const cpu0 = cpuNow();
  const result = await runLocal({
    landing: join(dir, 'landing'),
    out,
    asAt: AS_AT,
    log: silentLog,
    onStage: (e) => {
      if (e.item !== undefined && e.state !== 'started') return;
      if (e.state === 'started' && !stages.has(e.stage)) {
        stages.set(e.stage, { start: performance.now(), peak: process.memoryUsage.rss(), cpu: cpuNow() });
        current = e.stage;
      } else if ((e.state === 'succeeded' || e.state === 'failed') && e.item === undefined) {
        const s = stages.get(e.stage);
        if (s) {
          s.end = performance.now();
          s.cpuEnd = cpuNow();
        }
      }
    },
  });
  const totalMs = performance.now() - t0;
  const totalCpuMs = cpuNow() - cpu0;
  clearInterval(sampler);
  overallPeak = Math.max(overallPeak, process.resourceUsage().maxRSS * 1024);
  // a Map stage's end is the next stage's start
  const names = [...stages.keys()];
  names.forEach((n, i) => {
    const s = stages.get(n)!;
    s.end ??= names[i + 1] ? stages.get(names[i + 1]!)!.start : performance.now();
    s.cpuEnd ??= names[i + 1] ? stages.get(names[i + 1]!)!.cpu : cpu0 + totalCpuMs;
  });

  const lines: string[] = [];
  lines.push(
    `families: ${families}   generation: ${genMs ? `${(genMs / 1000).toFixed(1)} s` : 'reused'}   run: ${result.status}${result.error ? ` (${result.error.stage}: ${result.error.cause.slice(0, 200)})` : ''}`,
  );
  lines.push('');
  // CPU s counts every thread of the process (workers, DuckDB): CPU / wall is how many of the cores a stage kept busy.
  lines.push(
    `  ${'stage'.padEnd(16)} ${'wall s'.padStart(8)} ${'CPU s'.padStart(8)} ${'CPU/wall'.padStart(9)} ${'peak RSS GiB'.padStart(13)}`,
  );
  const row = (name: string, wallMs: number, cpuMs: number, peak: number) =>
    `  ${name.padEnd(16)} ${(wallMs / 1000).toFixed(1).padStart(8)} ${(cpuMs / 1000).toFixed(1).padStart(8)} ${(cpuMs / wallMs).toFixed(2).padStart(9)} ${(peak / GiB).toFixed(2).padStart(13)}`;
  for (const n of names) {
    const s = stages.get(n)!;
    lines.push(row(n, s.end! - s.start, s.cpuEnd! - s.cpu, s.peak));
  }
  lines.push(row('total', totalMs, totalCpuMs, overallPeak));
  lines.push('');
  lines.push(
    `  time / target (90 s):  ${(totalMs / TARGET_MS).toFixed(2)}  ${totalMs <= TARGET_MS ? 'within target' : 'OVER target'}`,
  );
  lines.push(
    `  peak RSS / target (4 GiB): ${(overallPeak / TARGET_RSS).toFixed(2)}  ${overallPeak <= TARGET_RSS ? 'within target' : 'OVER target'}`,
  );
  if (result.manifest) {
    const counts = Object.fromEntries(result.manifest.stages.map((s) => [s.name, s.counts]));
    lines.push(
      `  records: ${counts.standardise?.personRecords ?? '?'}   persons: ${counts.match?.persons ?? '?'}   families: ${counts.families?.families ?? '?'}`,
    );
    // a fast run that leaks is no result: say what the privacy scan found
    const findings = counts.publish?.audit_privacy_findings;
    const unreadable = counts.publish?.audit_unreadable_files;
    const publishRan = result.manifest.stages.some((s) => s.name === 'publish' && s.status === 'ok');
    const scan = !publishRan
      ? 'not run (the run stopped before publish finished)'
      : findings === 0 && unreadable === 0
        ? 'pass'
        : `FAIL (${findings ?? '?'} findings, ${unreadable ?? '?'} unreadable files)`;
    lines.push(`  privacy scan: ${scan}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (result.status !== 'ok') process.exitCode = 1;
}

// as `locality run` does (bin/heap.mjs): the run's heap sized to the machine, not V8's default ~4 GiB
relaunchWithHeap();
await main();
