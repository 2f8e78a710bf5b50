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
 *   BENCH_MAX_SHARDS=<n>  run at most n of each stage's shards, spread evenly over them (a 1M landing's match has
 *                         ~180 blocking-key shards of about one size); the row says how many of how many, and the
 *                         bench stops there (the merge refuses a stage whose shards did not all run)
 *   BENCH_SAMPLE_STAGES=<a,b>  the stages BENCH_MAX_SHARDS applies to (default every sharded stage): e.g. `match`
 *                         runs every standardise shard and its merge, then samples match's shards
 *   BENCH_UNTIL=<row>     stop after the row whose label starts with this (e.g. `match shard`: a 1M landing's largest
 *                         shards without the phases after them)
 *   BENCH_FROM=<stage>    start the table at this stage (e.g. `families`) of a finished run instead of preparing one
 *   BENCH_OUT=<dir>       with BENCH_FROM: that finished run's out dir (secure/, curated/, outputs/; BENCH_LANDING its
 *                         landing). Its zones are COPIED into the bench's buckets (the source is never written), the
 *                         stage records of BENCH_FROM and every stage after it are dropped from the copy (so those
 *                         stages run, not reuse), and the stages run under the finished run's id and config: the
 *                         earlier stages (~40 min of standardise and match at 300k) are not run again
 *
 * A Task whose RSS passes its Lambda's configured memory is killed, as Lambda would (polled every 100 ms from
 * /proc): its row says so, and the table of the rows so far is printed (the later Tasks need its output). This also
 * keeps a run at a scale that does not fit from taking the whole machine.
 *
 * Prints a Markdown table: task, peak RSS, peak /tmp, wall, configured memory / ephemeral storage / timeout, each
 * measure as a share of its configured limit, and whether the Task stays under 50% of all three (issue #12's bar).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { lambdaHeapFlag } from '../bin/heap.mjs';
import { DEFAULT_SIZING, type SizedTask } from '../infra/sizing.ts';
import { keys } from '../pipelines/layout.ts';
import { isShardedStage, PIPELINE_STAGE_NAMES, type PipelineStageName } from '../pipelines/stages/names.ts';

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
  /** Killed for passing its configured memory (peakRssBytes is the RSS seen then). */
  overMemory?: boolean;
}

const UNTIL = process.env.BENCH_UNTIL ?? '';
const FROM = process.env.BENCH_FROM ?? '';
const OUT = process.env.BENCH_OUT ?? '';
if (FROM && (!(PIPELINE_STAGE_NAMES as readonly string[]).includes(FROM) || FROM === 'validate'))
  throw new Error(
    `BENCH_FROM: "${FROM}" is not a stage after validate (${PIPELINE_STAGE_NAMES.filter((s) => s !== 'validate').join(', ')})`,
  );
if (FROM && (!OUT || !existsSync(join(OUT, 'outputs'))))
  throw new Error(`BENCH_FROM=${FROM} needs BENCH_OUT=<a finished run's out dir>: no outputs/ in ${OUT || '(unset)'}`);
const MAX_SHARDS = Number(process.env.BENCH_MAX_SHARDS ?? 0);
const SAMPLE_STAGES = (process.env.BENCH_SAMPLE_STAGES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of SAMPLE_STAGES)
  if (!isShardedStage(s))
    throw new Error(`BENCH_SAMPLE_STAGES: "${s}" is not a sharded stage (pipelines/stages/names.ts)`);

/** At most BENCH_MAX_SHARDS of a stage's shards (of the stages BENCH_SAMPLE_STAGES names, or every one), spread evenly over them (first and last included); all without it. */
function sampleShards<T>(stageName: string, all: T[]): T[] {
  if (!MAX_SHARDS || all.length <= MAX_SHARDS) return all;
  if (SAMPLE_STAGES.length > 0 && !SAMPLE_STAGES.includes(stageName)) return all;
  if (MAX_SHARDS === 1) return [all[0]!];
  return Array.from({ length: MAX_SHARDS }, (_, i) => all[Math.round((i * (all.length - 1)) / (MAX_SHARDS - 1))]!);
}

/** A Task stopped for passing its Lambda's memory: the rows so far are printed, then the bench stops. */
class OverMemory extends Error {
  constructor(readonly measured: Measured) {
    super(
      `${measured.task}: killed at ${(measured.peakRssBytes / 1024 ** 3).toFixed(2)} GiB, over its configured memory`,
    );
  }
}

/** The resident set of a process, from /proc (Linux); 0 once it has gone. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
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

function runTask(task: string, event: unknown, n: number, label?: string): Promise<Measured> {
  const tmp = join(WORK, 'tmp', `${task}-${n}`);
  return new Promise((resolvePromise, reject) => {
    void mkdir(tmp, { recursive: true }).then(() => {
      const child = spawn(process.execPath, ['--import', 'tsx', TASK_SCRIPT, task, JSON.stringify(event)], {
        env: {
          ...process.env,
          AWS_LAMBDA_FUNCTION_NAME: `bench-${task}`,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(DEFAULT_SIZING[task as SizedTask].memoryMiB),
          // the heap flag the deployed function's NODE_OPTIONS carries (infra/secure-defaults/functions.ts)
          NODE_OPTIONS: [process.env.NODE_OPTIONS, lambdaHeapFlag(DEFAULT_SIZING[task as SizedTask].memoryMiB)]
            .filter(Boolean)
            .join(' '),
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
      const limit = DEFAULT_SIZING[task as SizedTask].memoryMiB * 1024 ** 2;
      const started = Date.now();
      let killedAt = 0;
      const watch = setInterval(() => {
        const rss = child.pid ? rssOf(child.pid) : 0;
        if (rss > limit && !killedAt) {
          killedAt = rss;
          child.kill('SIGKILL');
        }
      }, 100);
      child.on('error', reject);
      child.on('close', (code) => {
        clearInterval(watch);
        const line = out.trim().split('\n').pop() ?? '';
        if (killedAt)
          reject(
            new OverMemory({
              task,
              peakRssBytes: killedAt,
              peakTmpBytes: 0,
              wallMs: Date.now() - started,
              requests: 0,
              output: {},
              overMemory: true,
              ...(label ? { label } : {}),
            }),
          );
        else if (code !== 0) reject(new Error(`${task}: exited ${String(code)}`));
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
  try {
    await runAll(rows, log);
  } catch (e) {
    if (!(e instanceof OverMemory)) throw e;
    log(e.measured);
    rows.push(e.measured);
  }
  printTable(rows);
}

/** Stops the run after the row BENCH_UNTIL names. */
class Until extends Error {}

async function runAll(rows: Measured[], log: (m: Measured) => void): Promise<void> {
  const keep = (m: Measured) => {
    rows.push(m);
    if (UNTIL && (m.label ?? m.task).startsWith(UNTIL)) throw new Until();
  };
  try {
    await runStages(keep, log);
  } catch (e) {
    if (!(e instanceof Until)) throw e;
  }
}

/**
 * BENCH_FROM: the bench's buckets seeded with a copy of the finished run in BENCH_OUT, without the stage records of
 * BENCH_FROM and the stages after it (they run again rather than being reused); the run's id is the finished run's.
 */
async function seedFromFinishedRun(): Promise<{ runId: string }> {
  const buckets = join(WORK, 'buckets');
  for (const zone of ['secure', 'curated', 'outputs'])
    if (existsSync(join(OUT, zone))) await cp(join(OUT, zone), join(buckets, zone), { recursive: true });
  const lastRun = join(buckets, 'outputs', keys.lastRun(AS_AT));
  if (!existsSync(lastRun)) throw new Error(`BENCH_OUT=${OUT}: no run for as-at ${AS_AT} (${keys.lastRun(AS_AT)})`);
  const { runId } = JSON.parse(await readFile(lastRun, 'utf8')) as { runId: string };
  const stages = PIPELINE_STAGE_NAMES.slice(PIPELINE_STAGE_NAMES.indexOf(FROM as PipelineStageName));
  for (const s of stages)
    await rm(join(buckets, 'outputs', keys.runManifest(AS_AT, runId).replace(/manifest\.json$/, `stages/${s}`)), {
      recursive: true,
      force: true,
    });
  process.stderr.write(`  from ${OUT} (run ${runId}): ${stages.join(', ')} run again, the stages before reused\n`);
  return { runId };
}

async function runStages(keep: (m: Measured) => void, log: (m: Measured) => void): Promise<void> {
  const run = FROM ? await seedFromFinishedRun() : await prepareAndValidate(keep, log);
  const stage = async (task: string, input: Record<string, unknown>, n = 0, label?: string) => {
    const m = {
      ...(await runTask(task, { runId: run.runId, asAt: AS_AT, input }, n, label)),
      ...(label ? { label } : {}),
    };
    log(m);
    return m;
  };
  // every stage after validate as the run state machine runs it: a sharded stage (stages/names.ts) as plan -> one
  // invocation per shard (the Distributed Map's iterations; the row is the largest) -> merge; the others whole
  let n = 1;
  const after = FROM ? PIPELINE_STAGE_NAMES.indexOf(FROM as PipelineStageName) : 1;
  for (const task of PIPELINE_STAGE_NAMES.slice(after)) {
    if (!isShardedStage(task)) {
      keep(await stage(task, {}, n++));
      continue;
    }
    const plan = await stage(task, { phase: 'plan' }, n++, `${task} plan`);
    keep(plan);
    const all = (plan.output as { shards?: Array<{ shard: number }> }).shards ?? [];
    const shards = sampleShards(task, all);
    const shardRuns: Measured[] = [];
    for (const { shard } of shards)
      shardRuns.push(
        await runTask(
          task,
          { runId: run.runId, asAt: AS_AT, input: { phase: 'shard', shard } },
          n++,
          `${task} shard ${shard}`,
        ),
      );
    const of = shards.length < all.length ? ` run, spread over all ${all.length}` : '';
    const worstShard = largest(shardRuns, `${task} shard (largest of ${shardRuns.length}${of})`);
    log(worstShard);
    keep(worstShard);
    // the merge refuses a run whose shards did not all run (as it should): a sampled stage ends the bench here
    if (shards.length < all.length) throw new Until();
    keep(await stage(task, { phase: 'merge' }, n++, `${task} merge`));
  }
}

/** The run prepared as the state machine's first Task does, then validate once per feed (the row is the largest). */
async function prepareAndValidate(keep: (m: Measured) => void, log: (m: Measured) => void): Promise<{ runId: string }> {
  const prepared = await runTask('prepare', { asAt: AS_AT, ranBy: 'bench:lambda-sizing' }, 0);
  log(prepared);
  keep(prepared);
  const run = prepared.output as { runId: string; feeds: Array<{ source: string; feed: string }> };
  const feeds: Measured[] = [];
  for (const [i, f] of run.feeds.entries()) {
    const m = await runTask(
      'validate',
      { runId: run.runId, asAt: AS_AT, input: f },
      i,
      `validate ${f.source}/${f.feed}`,
    );
    feeds.push(m);
  }
  const worst = largest(feeds, `validate (largest of ${feeds.length} feeds)`);
  log(worst);
  keep(worst);
  return run;
}

function printTable(rows: Measured[]): void {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const lines = [
    `Lambda sizing, ${LANDING} (as at ${AS_AT}${FROM ? `; from ${FROM} of the finished run in ${OUT}` : ''}), one process per Task in the Lambda code path`,
    '',
    '| task | peak RSS | peak /tmp | wall (this machine) | configured memory | configured /tmp | timeout | of memory | of /tmp | of timeout | under 50% of each |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const m of rows) {
    const cfg = DEFAULT_SIZING[m.task as SizedTask];
    const ofMem = m.peakRssBytes / (cfg.memoryMiB * 1024 ** 2);
    const ofTmp = m.peakTmpBytes / (cfg.ephemeralStorageMiB * 1024 ** 2);
    const ofTime = m.wallMs / (cfg.timeoutMinutes * 60_000);
    const within = !m.overMemory && ofMem < 0.5 && ofTmp < 0.5 && ofTime < 0.5;
    const rss = m.overMemory
      ? `**killed at ${gib(m.peakRssBytes)} GiB (over its memory)**`
      : `${gib(m.peakRssBytes)} GiB`;
    lines.push(
      `| ${m.label ?? m.task} | ${rss} | ${m.overMemory ? '-' : `${mib(m.peakTmpBytes)} MiB`} | ${(m.wallMs / 1000).toFixed(0)} s | ${cfg.memoryMiB} MB | ${cfg.ephemeralStorageMiB} MB | ${cfg.timeoutMinutes} min | ${m.overMemory ? 'over 100%' : pct(ofMem)} | ${m.overMemory ? '-' : pct(ofTmp)} | ${pct(ofTime)} | ${within ? 'yes' : '**no**'} |`,
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
