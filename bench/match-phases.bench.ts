/**
 * `npm run bench:match-phases`: the match stage as the deployed state machine runs it (`Match plan`, one `Match shards`
 * iteration per blocking-key shard, `Match` link), each phase and each shard in its own process in the Lambda code
 * path (bench/lambda-sizing/task.ts: the Lambda runtime profile, S3ObjectStore over the in-process S3, TMPDIR standing
 * for /tmp), on a finished run's standardised records. Prints peak RSS, peak /tmp and wall per phase and per shard,
 * against the match Lambda's configured size (infra/sizing.ts), and the SHA-256 of what the link phase writes.
 *
 *   BENCH_OUT=<dir>      a run's out dir holding secure/as_at=D/person-records.parquet and curated/ (copied, never written;
 *                        default /tmp/locality-bench-pipeline-100000/out: `npm run bench:pipeline` leaves it)
 *   BENCH_LANDING=<dir>  its landing (default /tmp/locality-bench-pipeline-100000/landing)
 *   BENCH_AS_AT=<date>   default 2026-03-31
 *   BENCH_WORK=<dir>     buckets and per-task TMPDIR (default /tmp/locality-bench-match-phases)
 *   BENCH_SHARDS=<list>  only these shards (e.g. `3` or `0,7`; the largest of a bigger run), and no link phase
 *
 *   npm run bench:match-phases            plan, every shard, then link; keeps a copy of the shard files
 *   npm run bench:match-phases -- link    the link phase again over that copy (e.g. in another tree: old vs new code)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SIZING } from '../infra/sizing.ts';

const OUT = process.env.BENCH_OUT ?? '/tmp/locality-bench-pipeline-100000/out';
const LANDING = process.env.BENCH_LANDING ?? '/tmp/locality-bench-pipeline-100000/landing';
const AS_AT = process.env.BENCH_AS_AT ?? '2026-03-31';
const WORK = process.env.BENCH_WORK ?? '/tmp/locality-bench-match-phases';
const TASK_SCRIPT = join(import.meta.dirname, 'lambda-sizing', 'task.ts');
const BUCKETS = {
  landing: LANDING,
  secure: join(WORK, 'buckets', 'secure'),
  curated: join(WORK, 'buckets', 'curated'),
  outputs: join(WORK, 'buckets', 'outputs'),
};
const shardsDir = (runId: string) => join(BUCKETS.secure, `as_at=${AS_AT}`, 'match', 'shards', runId);
const SNAPSHOT = join(WORK, 'shards-snapshot');

interface Measured {
  task: string;
  peakRssBytes: number;
  peakTmpBytes: number;
  wallMs: number;
  output: { counts?: Record<string, number> };
}

function runTask(task: string, event: Record<string, unknown>, label: string): Promise<Measured> {
  const tmp = join(WORK, 'tmp', label);
  return new Promise((resolvePromise, reject) => {
    void rm(tmp, { recursive: true, force: true })
      .then(() => mkdir(tmp, { recursive: true }))
      .then(() => {
        const child = spawn(process.execPath, ['--import', 'tsx', TASK_SCRIPT, task, JSON.stringify(event)], {
          env: {
            ...process.env,
            AWS_LAMBDA_FUNCTION_NAME: 'bench-match',
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(DEFAULT_SIZING.match.memoryMiB),
            TMPDIR: tmp,
            BENCH_PARTS: join(WORK, 'parts'),
            BENCH_BUCKETS: JSON.stringify(BUCKETS),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString('utf8');
        });
        child.on('error', reject);
        child.on('close', (code) => {
          if (code !== 0) reject(new Error(`${task} ${label}: exited ${String(code)}`));
          else resolvePromise(JSON.parse(out.trim().split('\n').pop() ?? '') as Measured);
        });
      }, reject);
  });
}

const gib = (b: number) => (b / 1024 ** 3).toFixed(2);
const mib = (b: number) => Math.round(b / 1024 ** 2);
const cfg = DEFAULT_SIZING.match;
const row = (label: string, m: Measured) => {
  const mem = m.peakRssBytes / (cfg.memoryMiB * 1024 ** 2),
    tmp = m.peakTmpBytes / (cfg.ephemeralStorageMiB * 1024 ** 2),
    time = m.wallMs / (cfg.timeoutMinutes * 60_000);
  return `| ${label} | ${gib(m.peakRssBytes)} GiB | ${mib(m.peakTmpBytes)} MiB | ${(m.wallMs / 1000).toFixed(1)} s | ${(100 * mem).toFixed(0)}% | ${(100 * tmp).toFixed(0)}% | ${(100 * time).toFixed(0)}% |`;
};

/** What the link phase writes, the files whose SHA-256 the bench prints. */
const LINK_OUTPUTS = [
  ['curated', `persons/as_at=${AS_AT}/part-00000.parquet`],
  ['curated', `pairs/as_at=${AS_AT}/part-00000.parquet`],
  ['curated', `links/as_at=${AS_AT}/part-00000.parquet`],
  ['curated', `match/as_at=${AS_AT}/model.json`],
  ['curated', `match/as_at=${AS_AT}/clustering.json`],
  ['secure', `as_at=${AS_AT}/match/review-sample.json`],
] as const;

async function linkOutputs(): Promise<string[]> {
  const out: string[] = [];
  for (const [zone, rel] of LINK_OUTPUTS) {
    const path = join(BUCKETS[zone], rel);
    out.push(
      `${
        existsSync(path)
          ? createHash('sha256')
              .update(await readFile(path))
              .digest('hex')
              .slice(0, 16)
          : 'missing'.padEnd(16)
      }  ${zone}/${rel}`,
    );
  }
  return out;
}

let runId = '';
const runMatch = (input: Record<string, unknown>, label: string) =>
  runTask('match', { runId, asAt: AS_AT, input }, label);

async function main(): Promise<void> {
  const linkOnly = process.argv.includes('link');
  const lines = [
    `match phases in the Lambda code path, ${OUT} (as at ${AS_AT}); load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start, ${cpus().length} cores`,
    '',
    `| phase | peak RSS | peak /tmp | wall (this machine) | of ${cfg.memoryMiB} MB | of ${cfg.ephemeralStorageMiB} MB /tmp | of ${cfg.timeoutMinutes} min |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  if (!linkOnly) {
    if (!existsSync(join(OUT, 'secure', `as_at=${AS_AT}`, 'person-records.parquet')))
      throw new Error(`BENCH_OUT ${OUT}: no standardised person records for ${AS_AT}`);
    await rm(WORK, { recursive: true, force: true });
    await cp(join(OUT, 'secure'), BUCKETS.secure, {
      recursive: true,
      filter: (src) => !src.includes('/match/') && !src.includes('/_scratch'),
    });
    await cp(join(OUT, 'curated'), BUCKETS.curated, {
      recursive: true,
      filter: (src) =>
        !/\/(persons|pairs|links|match|families|family_members|scores)(\/|$)/.test(src.slice(OUT.length)),
    });
    await mkdir(BUCKETS.outputs, { recursive: true });
    runId = (
      (await runTask('prepare', { asAt: AS_AT, ranBy: 'bench:match-phases' }, 'prepare')).output as unknown as {
        runId: string;
      }
    ).runId;
    await writeFile(join(WORK, 'run-id'), runId);
    const plan = await runMatch({ phase: 'plan' }, 'plan');
    process.stderr.write(`  plan ${(plan.wallMs / 1000).toFixed(1)} s ${JSON.stringify(plan.output.counts)}\n`);
    lines.push(row('plan', plan));
    const shards: Array<{ shard: number; m: Measured }> = [];
    const shardCount = plan.output.counts?.shards ?? 0;
    const only = process.env.BENCH_SHARDS?.split(',').map(Number);
    for (let s = 0; s < shardCount; s++) {
      if (only && !only.includes(s)) continue;
      const m = await runMatch({ phase: 'shard', shard: s }, `shard-${s}`);
      process.stderr.write(
        `  shard ${s}: ${(m.wallMs / 1000).toFixed(1)} s, ${m.output.counts?.pairs} pairs, peak RSS ${gib(m.peakRssBytes)} GiB\n`,
      );
      shards.push({ shard: s, m });
      lines.push(row(`shard ${s} of ${shardCount} (${m.output.counts?.pairs} pairs)`, m));
    }
    const largest = shards.reduce((a, b) => (b.m.peakRssBytes > a.m.peakRssBytes ? b : a));
    const slowest = shards.reduce((a, b) => (b.m.wallMs > a.m.wallMs ? b : a));
    lines.push(
      row(
        `shard (largest RSS of ${shards.length}: shard ${largest.shard}, ${largest.m.output.counts?.pairs} pairs)`,
        largest.m,
      ),
    );
    lines.push(row(`shard (slowest: shard ${slowest.shard})`, slowest.m));
    if (only) {
      process.stdout.write(
        `${lines.join('\n')}\nload at end ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}\n`,
      );
      return;
    }
    await rm(SNAPSHOT, { recursive: true, force: true });
    await cp(shardsDir(runId), SNAPSHOT, { recursive: true });
  } else {
    if (!existsSync(SNAPSHOT))
      throw new Error(`${SNAPSHOT}: run the plan and shards first (npm run bench:match-phases)`);
    runId = (await readFile(join(WORK, 'run-id'), 'utf8')).trim();
    await rm(shardsDir(runId), { recursive: true, force: true });
    await cp(SNAPSHOT, shardsDir(runId), { recursive: true });
    // the earlier link's stage record would make the task return its recorded result without linking again
    const records = join(BUCKETS.outputs, '_runs', `as_at=${AS_AT}`, runId, 'stages', 'match');
    for (const f of existsSync(records) ? await readdir(records) : []) {
      const rec = JSON.parse(await readFile(join(records, f), 'utf8')) as { result?: { __input?: { phase?: string } } };
      if (['link', 'merge'].includes(rec.result?.__input?.phase ?? '')) await rm(join(records, f));
    }
    for (const [zone, rel] of LINK_OUTPUTS) await rm(join(BUCKETS[zone], rel), { force: true });
  }
  const link = await runMatch({ phase: 'link' }, 'link');
  lines.push(row('link', link));
  lines.push('', `link counts ${JSON.stringify(link.output.counts)}`, ...(await linkOutputs()));
  process.stdout.write(
    `${lines.join('\n')}\nload at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
}

await main();
