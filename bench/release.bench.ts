/**
 * `npm run bench:release`: what the gated release adds to a run, on generated families. Runs the whole local
 * pipeline and prints the wall time of publish (writes the set into secure staging, privacy scan, audit) and of
 * finalise (seals the staged set: hashes every file; promotes it), then promotes the same set again both ways on
 * fresh stores: 'link' (local: a rename of the folder link) and 'copy' (the S3 way: copy every file, then the
 * marker, then delete the staging), each as a ratio of the run's total. Also the ref check standardise does first
 * (refs that carry an identifier get keyed pseudonyms), from its log.
 *
 *   BENCH_FAMILIES=20000                  families to generate (default 20,000)
 *   BENCH_DIR=/tmp/locality-bench-release  where the landing data is generated (reused when already there)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { LocalObjectStore } from '../pipelines/io/local-object-store.ts';
import { keys } from '../pipelines/layout.ts';
import { localStores, runLocal } from '../pipelines/local/runner.ts';
import type { Log, LogFields } from '../pipelines/log.ts';
import { promoteRelease, readReleasedSet, type PromotionMode } from '../pipelines/release/promote.ts';

const families = Number(process.env.BENCH_FAMILIES ?? 20_000);
const dir = process.env.BENCH_DIR ?? `/tmp/locality-bench-release-${families}`;
const AS_AT = '2026-03-31';

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
      '--out',
      dir,
    ],
    { from: 'user' },
  );
  return performance.now() - t0;
}

/** Promote a copy of the released set (as a new run's staging) into empty outputs, the given way; its wall time. */
async function promoteAgain(files: Map<string, Buffer>, mode: PromotionMode): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'bench-release-'));
  try {
    const stores = {
      secure: new LocalObjectStore(join(root, 'secure')),
      outputs: new LocalObjectStore(join(root, 'outputs')),
    };
    const runId = `${AS_AT}-bench${mode}`;
    for (const [name, body] of files)
      if (name !== '_CURRENT.json') await stores.secure.put(keys.staged(AS_AT, runId, name), body);
    const t0 = performance.now();
    await promoteRelease(stores, AS_AT, runId, { mode });
    const ms = performance.now() - t0;
    const set = await readReleasedSet(stores.outputs, AS_AT);
    if (set.state !== 'live' || set.files.size !== [...files.keys()].filter((n) => n !== '_CURRENT.json').length)
      throw new Error(`promotion by ${mode}: ${set.state}`);
    return ms;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stderr.write(
    `bench:release: ${families} families, ${availableParallelism()} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const genMs = await generate();
  const out = join(dir, 'out');
  await rm(out, { recursive: true, force: true });
  const stages = new Map<string, { start: number; end?: number }>();
  let refCheck: LogFields | undefined;
  const log: Log = {
    debug() {},
    warn() {},
    error() {},
    info(message, fields) {
      if (message.startsWith('provider refs checked')) refCheck = fields;
    },
  };
  const t0 = performance.now();
  const result = await runLocal({
    landing: join(dir, 'landing'),
    out,
    asAt: AS_AT,
    log,
    onStage: (e) => {
      if (e.item !== undefined) return;
      if (e.state === 'started' && !stages.has(e.stage)) stages.set(e.stage, { start: performance.now() });
      else if (e.state === 'succeeded' || e.state === 'failed') {
        const s = stages.get(e.stage);
        if (s) s.end = performance.now();
      }
    },
  });
  const totalMs = performance.now() - t0;
  if (result.status !== 'ok')
    throw new Error(`run ${result.status}: ${result.error?.stage} ${result.error?.cause.slice(0, 300)}`);
  const names = [...stages.keys()];
  names.forEach((n, i) => {
    stages.get(n)!.end ??= names[i + 1] ? stages.get(names[i + 1]!)!.start : performance.now();
  });
  const set = await readReleasedSet(localStores(join(dir, 'landing'), out).outputs, AS_AT);
  if (set.state !== 'live') throw new Error(`released set: ${set.state}`);
  const bytes = [...set.files.values()].reduce((a, b) => a + b.length, 0);
  const link = await promoteAgain(set.files, 'link');
  const copy = await promoteAgain(set.files, 'copy');

  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const ratio = (ms: number) => (ms / totalMs).toFixed(3);
  const wall = (n: string) => {
    const x = stages.get(n);
    return x?.end ? x.end - x.start : NaN;
  };
  const lines = [
    `families: ${families}   generation: ${genMs ? s(genMs) : 'reused'}   run: ${result.status}   total: ${s(totalMs)}   released set: ${set.files.size} files, ${(bytes / 1024 ** 2).toFixed(1)} MiB`,
    '',
    `  ${'step'.padEnd(46)} ${'wall'.padStart(9)} ${'/ run'.padStart(7)}`,
    ...names.map((n) => `  ${`stage ${n}`.padEnd(46)} ${s(wall(n)).padStart(9)} ${ratio(wall(n)).padStart(7)}`),
    `  ${'promote the set again: link (local rename)'.padEnd(46)} ${s(link).padStart(9)} ${ratio(link).padStart(7)}`,
    `  ${'promote the set again: copy (the S3 way)'.padEnd(46)} ${s(copy).padStart(9)} ${ratio(copy).padStart(7)}`,
    `  ${'ref check in standardise'.padEnd(46)} ${(refCheck ? s(Number(refCheck.ms)) : '?').padStart(9)} ${(refCheck ? ratio(Number(refCheck.ms)) : '?').padStart(7)}   (${refCheck?.refs ?? '?'} distinct refs, ${refCheck?.pseudonymised ?? '?'} pseudonymised)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
