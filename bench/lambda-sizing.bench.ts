/**
 * `npm run bench:lambda-sizing`: peak memory and /tmp of each Task in the Lambda code path, against the sizes the
 * stack configures (infra/sizing.ts). Each Task runs in its own process as its Lambda would (bench/lambda-sizing/
 * task.ts: the Lambda runtime profile (pipelines/runtime.ts), so no worker threads; S3ObjectStore over an in-process S3 whose objects live
 * in folders here; TMPDIR its own empty folder, standing for /tmp). Validate runs once per feed (the Map's
 * invocations): its row is the largest of them. Every sharded stage (pipelines/stages/names.ts SHARDED_STAGES) runs
 * as the state machine runs it, in three phases (one Lambda per stage, input `phase`): `plan`, then `shard` once per
 * shard the plan returns (the Distributed Map's iterations; the row is the largest shard), then `merge`; the other
 * stages run whole.
 *
 *   BENCH_LANDING=<dir>   a generated landing (`locality generate --families 100000 --extracts 2 --out <dir>`)
 *   BENCH_AS_AT=<date>    the as-at date it was generated for (default 2026-03-31)
 *   BENCH_WORK=<dir>      scratch (buckets, per-task TMPDIR; default /tmp/locality-bench-lambda-sizing)
 *
 * Prints a Markdown table: task, peak RSS, peak /tmp, wall, configured memory / ephemeral storage / timeout, each
 * measure as a share of its configured limit, and whether the Task stays under 50% of all three (issue #12's bar).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { DEFAULT_SIZING, type SizedTask } from '../infra/sizing.ts';
import { isShardedStage, PIPELINE_STAGE_NAMES } from '../pipelines/stages/names.ts';

const LANDING = process.env.BENCH_LANDING ?? '';
const AS_AT = process.env.BENCH_AS_AT ?? '2026-03-31';
const WORK = process.env.BENCH_WORK ?? '/tmp/locality-bench-lambda-sizing';
const TASK_SCRIPT = join(import.meta.dirname, 'lambda-sizing', 'task.ts');

interface Measured {
  task: string;
  peakRssBytes: number;
  peakTmpBytes: number;
  wallMs: number;
  requests: number;
  output: Record<string, unknown>;
  label?: string;
}

/** The largest of several invocations of one task (peak of each measure, the longest wall). */
function largest(ms: Measured[], label: string): Measured {
  return {
    ...ms.reduce((a, b) => ({
      ...a,
      peakRssBytes: Math.max(a.peakRssBytes, b.peakRssBytes),
      peakTmpBytes: Math.max(a.peakTmpBytes, b.peakTmpBytes),
      wallMs: Math.max(a.wallMs, b.wallMs),
    })),
    label,
  };
}

function runTask(task: string, event: unknown, n: number): Promise<Measured> {
  const tmp = join(WORK, 'tmp', `${task}-${n}`);
  return new Promise((resolvePromise, reject) => {
    void mkdir(tmp, { recursive: true }).then(() => {
      const child = spawn(process.execPath, ['--import', 'tsx', TASK_SCRIPT, task, JSON.stringify(event)], {
        env: {
          ...process.env,
          AWS_LAMBDA_FUNCTION_NAME: `bench-${task}`,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(DEFAULT_SIZING[task as SizedTask].memoryMiB),
          TMPDIR: tmp,
          BENCH_PARTS: join(WORK, 'parts'),
          BENCH_BUCKETS: JSON.stringify({
            landing: LANDING,
            secure: join(WORK, 'buckets', 'secure'),
            curated: join(WORK, 'buckets', 'curated'),
            outputs: join(WORK, 'buckets', 'outputs'),
          }),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code) => {
        const line = out.trim().split('\n').pop() ?? '';
        if (code !== 0) reject(new Error(`${task}: exited ${String(code)}`));
        else resolvePromise(JSON.parse(line) as Measured);
      });
    }, reject);
  });
}

const gib = (b: number) => (b / 1024 ** 3).toFixed(2);
const mib = (b: number) => Math.round(b / 1024 ** 2);

async function main(): Promise<void> {
  if (!LANDING || !existsSync(LANDING))
    throw new Error(`BENCH_LANDING=${LANDING || '(unset)'}: no generated landing there (see the file comment)`);
  await rm(WORK, { recursive: true, force: true });
  const rows: Measured[] = [];
  const log = (m: Measured) =>
    process.stderr.write(
      `  ${(m.label ?? m.task).padEnd(18)} peak RSS ${gib(m.peakRssBytes)} GiB, /tmp ${mib(m.peakTmpBytes)} MiB, ${(m.wallMs / 1000).toFixed(1)} s\n`,
    );
  const prepared = await runTask('prepare', { asAt: AS_AT, ranBy: 'bench:lambda-sizing' }, 0);
  log(prepared);
  rows.push(prepared);
  const run = prepared.output as { runId: string; feeds: Array<{ source: string; feed: string }> };
  const feeds: Measured[] = [];
  for (const [i, f] of run.feeds.entries()) {
    const m = await runTask('validate', { runId: run.runId, asAt: AS_AT, input: f }, i);
    feeds.push(m);
  }
  const worst = largest(feeds, `validate (largest of ${feeds.length} feeds)`);
  log(worst);
  rows.push(worst);
  const stage = async (task: string, input: Record<string, unknown>, n = 0, label?: string) => {
    const m = { ...(await runTask(task, { runId: run.runId, asAt: AS_AT, input }, n)), ...(label ? { label } : {}) };
    log(m);
    return m;
  };
  // every stage after validate as the run state machine runs it: a sharded stage (stages/names.ts) as plan -> one
  // invocation per shard (the Distributed Map's iterations; the row is the largest) -> merge; the others whole
  let n = 1;
  for (const task of PIPELINE_STAGE_NAMES.filter((s) => s !== 'validate')) {
    if (!isShardedStage(task)) {
      rows.push(await stage(task, {}, n++));
      continue;
    }
    const plan = await stage(task, { phase: 'plan' }, n++, `${task} plan`);
    rows.push(plan);
    const shards = (plan.output as { shards?: Array<{ shard: number }> }).shards ?? [];
    const shardRuns: Measured[] = [];
    for (const { shard } of shards)
      shardRuns.push(await runTask(task, { runId: run.runId, asAt: AS_AT, input: { phase: 'shard', shard } }, n++));
    const worstShard = largest(shardRuns, `${task} shard (largest of ${shardRuns.length})`);
    log(worstShard);
    rows.push(worstShard);
    rows.push(await stage(task, { phase: 'merge' }, n++, `${task} merge`));
  }
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lines = [
    `Lambda sizing, ${LANDING} (as at ${AS_AT}), one process per Task in the Lambda code path`,
    '',
    '| task | peak RSS | peak /tmp | wall (this machine) | configured memory | configured /tmp | timeout | of memory | of /tmp | of timeout | under 50% of each |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const m of rows) {
    const cfg = DEFAULT_SIZING[m.task as SizedTask];
    const ofMem = m.peakRssBytes / (cfg.memoryMiB * 1024 ** 2);
    const ofTmp = m.peakTmpBytes / (cfg.ephemeralStorageMiB * 1024 ** 2);
    const ofTime = m.wallMs / (cfg.timeoutMinutes * 60_000);
    const within = ofMem < 0.5 && ofTmp < 0.5 && ofTime < 0.5;
    lines.push(
      `| ${m.label ?? m.task} | ${gib(m.peakRssBytes)} GiB | ${mib(m.peakTmpBytes)} MiB | ${(m.wallMs / 1000).toFixed(0)} s | ${cfg.memoryMiB} MB | ${cfg.ephemeralStorageMiB} MB | ${cfg.timeoutMinutes} min | ${pct(ofMem)} | ${pct(ofTmp)} | ${pct(ofTime)} | ${within ? 'yes' : '**no**'} |`,
    );
  }
  lines.push(
    '',
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (wall times on this machine, not a Lambda's)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
