/**
 * `npm run bench:cli`: how fast the `locality` CLI starts, the bundled bin against the TypeScript-through-tsx paths,
 * in the same run (the machine is shared: read the ratios).
 *
 * Ways, each a child process timed from spawn to exit, taking turns in every round (medians printed):
 *   bundle       node bin/locality.mjs ...               (the prebuilt bundle in dist/cli; built first if stale)
 *   tsx          node --import tsx pipelines/cli/main.ts  (this tree's source, transpiled on the fly)
 *   baseline     node --import tsx <baseline>/pipelines/cli/main.ts: the CLI as it was before the bundle and the lazy
 *                command loading (commit BENCH_BASELINE_COMMIT, default 273710f, exported with `git archive` into a
 *                temporary directory beside this checkout's node_modules); skipped when the commit is not in the clone
 * Calls: `--help`, `run --help` (a heavy command's module: aws-cdk-lib, DuckDB, the local executor, lazily), and
 * `feeds docs --check` (a cheap command doing its work: renders the 29 provider-reference files and compares).
 *
 *   BENCH_ROUNDS=<n>              rounds (default 5)
 *   BENCH_BASELINE_COMMIT=<rev>   the baseline commit (default 273710f)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildCli, freshBundle } from '../bin/build-cli.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BASELINE = process.env.BENCH_BASELINE_COMMIT ?? '273710f';

interface Way {
  name: string;
  argv: (args: string[]) => string[];
  cwd: string;
}

function baselineTree(): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'locality-bench-cli-'));
  try {
    const tar = execFileSync(
      'git',
      ['archive', '--format=tar', BASELINE, 'package.json', 'pipelines', 'matching', 'models', 'fixtures', 'docs'],
      { cwd: ROOT, maxBuffer: 1 << 30 },
    );
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    return dir;
  } catch (err) {
    process.stderr.write(
      `baseline ${BASELINE} not available (${(err as Error).message.split('\n')[0]}): measuring bundle and tsx only\n`,
    );
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

function timeOnce(way: Way, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, way.argv(args), {
    cwd: way.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${way.name} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (!freshBundle()) await buildCli();
  const base = baselineTree();
  const ways: Way[] = [
    { name: 'bundle', cwd: ROOT, argv: (a) => [join(ROOT, 'bin', 'locality.mjs'), ...a] },
    { name: 'tsx', cwd: ROOT, argv: (a) => ['--import', 'tsx', join(ROOT, 'pipelines', 'cli', 'main.ts'), ...a] },
  ];
  if (base)
    ways.push({
      name: `baseline ${BASELINE}`,
      cwd: base,
      argv: (a) => ['--import', 'tsx', join(base, 'pipelines', 'cli', 'main.ts'), ...a],
    });
  const calls: Array<{ label: string; args: (w: Way) => string[] }> = [
    { label: '--help', args: () => ['--help'] },
    { label: 'run --help', args: () => ['run', '--help'] },
    { label: 'feeds docs --check', args: (w) => ['feeds', 'docs', '--check', '--root', w.cwd] },
  ];
  const loadStart = loadavg()[0]!;
  const times = new Map<string, number[]>();
  try {
    for (const w of ways) timeOnce(w, ['--help']); // warm the file cache and tsx's transform cache
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of calls) {
        for (const w of ways) {
          const k = `${c.label}\0${w.name}`;
          times.set(k, [...(times.get(k) ?? []), timeOnce(w, c.args(w))]);
        }
      }
    }
  } finally {
    if (base) rmSync(base, { recursive: true, force: true });
  }
  const loadEnd = loadavg()[0]!;
  const slowest = ways.at(-1)!.name;
  const header = ['call', ...ways.map((w) => `${w.name} s`), `bundle / ${slowest}`, 'targets (bundle)'];
  const rows = calls.map((c) => {
    const m = ways.map((w) => median(times.get(`${c.label}\0${w.name}`)!));
    const target = c.label === '--help' ? 1 : 1.5;
    return [
      `\`${c.label}\``,
      ...m.map((x) => x.toFixed(2)),
      `${(m[0]! / m.at(-1)!).toFixed(3)} (${(m.at(-1)! / m[0]!).toFixed(1)}x faster)`,
      `${m[0]! <= target ? 'met' : 'MISSED'} (<= ${target} s)`,
    ];
  });
  process.stdout.write(
    `\nbench:cli: median of ${ROUNDS} rounds, ${new Date().toISOString().slice(0, 16)} UTC, load average ${loadStart.toFixed(1)} -> ${loadEnd.toFixed(1)}\n\n`,
  );
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
}

await main();
