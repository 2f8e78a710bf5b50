/**
 * The local executor: renders THE run definition (pipelines/definition.ts) to ASL and runs it with
 * aws-local-stepfunctions. Each Task state is mapped to the same function its Lambda calls
 * (control tasks -> pipelines/manifest.ts, stages -> pipelines/stages/invoke.ts), so Retry, Catch, Map and
 * data passing behave as deployed. Ports: a directory per zone (LocalObjectStore) and DuckDB.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Duration } from 'aws-cdk-lib';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { RunConfig } from '../config.ts';
import {
  NOTIFY_STATE,
  PIPELINE_PLAN,
  RETRY,
  renderRunDefinition,
  stateNameOf,
  type PlannedStage,
} from '../definition.ts';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { DEFAULT_LOCK_STALE_HOURS } from './lock-message.ts';
import {
  currentRunLock,
  localHolderAlive,
  RUN_LOCKED_ERROR,
  type RunLock,
  type RunLockOptions,
} from '../io/run-lock.ts';
import { localScratchRoot, processScratch, removeScratch, sweepScratch } from '../io/scratch.ts';
import { keys, type Zone } from '../layout.ts';
import { jsonLog, type Log } from '../log.ts';
import {
  finaliseRun,
  prepareRun,
  readLatestRunManifest,
  recordRunFailure,
  whoRan,
  type ControlDeps,
  type HashCache,
  type Manifest,
} from '../manifest.ts';
import { localRuntime, type RuntimeProfile } from '../runtime.ts';
import { noProgress, type Progress } from '../progress.ts';
import { hasStage, type StageEntry } from '../stages/index.ts';
import { invokeStage, type StageDeps } from '../stages/invoke.ts';
import { stagePool, type StagePool } from './stage-pool.ts';

export interface LocalRunOptions {
  landing: string;
  out: string;
  asAt: string;
  config?: RunConfig;
  force?: boolean;
  log?: Log;
  progress?: Progress;
  /** Told when a stage starts and ends (the CLI draws a line per stage). */
  onStage?: (event: {
    stage: string;
    state: 'started' | 'succeeded' | 'failed' | 'retrying';
    item?: number;
    items?: number;
  }) => void;
  /** Default: the pipeline's stages that have landed in the registry. */
  plan?: readonly PlannedStage[];
  /** Default: the registry. Tests pass fake stages here. */
  loadStage?: StageDeps['loadStage'];
  /** Milliseconds between retries (default: the definition's backoff; tests make it 0). */
  retryDelayMs?: number;
  mapConcurrency?: number;
  /**
   * Worker threads for the shards of every sharded stage (the shard Maps' concurrency; pipelines/local/stage-pool.ts);
   * default the runtime's maxWorkers (one per core, at most 4), used when a plan has more than one shard and does not
   * say `threads: false` (a small input); given, the threads run every plan of two or more shards. 0 or 1 = in-process.
   * Fake stages (loadStage) and per-Task stores (storesFor) run their shards in-process too.
   */
  shardWorkers?: number;
  /** A run lock older than this is stale even if its process may live (default 12 h); a dead local holder is stale at once. */
  lockStaleHours?: number;
  /**
   * How long one Task may take on this machine before the run fails with States.Timeout (default: the run lock's
   * stale time, 12 h). Not Lambda's 15 minutes: that limit is the deployed function's, measured by
   * bench:lambda-sizing; a 1M-family merge on a loaded laptop can take longer and must still finish.
   */
  taskTimeoutSeconds?: number;
  /** Where the stages run (default: this machine, `localRuntime()`). */
  runtime?: RuntimeProfile;
  /** Input hashes shared across runs of one job (a backfill); default: a cache of this run only. */
  hashCache?: HashCache;
  /**
   * The stores one Task invocation uses (default: the run's directories, shared by every Task). Each invocation
   * gets its own, disposed when it ends, as each Lambda builds its own ports: tests replay a run's requests per Task
   * through this (test/infra/policy-replay.test.ts).
   */
  storesFor?: (task: string) => TaskStores;
}

export interface TaskStores {
  stores: Record<Zone, ObjectStore>;
  dispose(): Promise<void>;
}

export interface LocalRunResult {
  runId: string;
  asAt: string;
  /** locked: another run of this out dir and as-at date holds the run lock; this one did nothing. */
  status: 'ok' | 'failed' | 'skipped' | 'locked';
  /** For status locked: who holds the lock. */
  lockedBy?: RunLock;
  manifest: Manifest | undefined;
  manifestPath: string;
  outRoot: string;
  /** Stages of the pipeline not yet registered (left out of this run). */
  missingStages: string[];
  error?: { stage: string; error: string; cause: string };
  notifications: unknown[];
}

/** The four zones under an output root; `scratch` is where their temporary files go (see openLocalStores). */
export function localStores(landing: string, out: string, scratch?: string): Record<Zone, LocalObjectStore> {
  const o = resolve(out);
  const opts = scratch ? { scratch } : {};
  return {
    landing: new LocalObjectStore(resolve(landing)),
    secure: new LocalObjectStore(join(o, 'secure'), opts),
    curated: new LocalObjectStore(join(o, 'curated'), opts),
    outputs: new LocalObjectStore(join(o, 'outputs'), opts),
  };
}

/**
 * The zones with this process's own scratch folder in the secure zone (`<out>/secure/_scratch/<host>-<pid>-<id>/`),
 * after sweeping the folders of processes that are gone (a killed run's DuckDB spill, exports, writes in progress).
 * `close` removes the folder: call it on success and failure.
 */
export async function openLocalStores(
  landing: string,
  out: string,
): Promise<{ stores: Record<Zone, LocalObjectStore>; scratch: string; swept: string[]; close: () => Promise<void> }> {
  const root = localScratchRoot(resolve(out));
  const swept = await sweepScratch(root);
  const scratch = processScratch(root);
  return { stores: localStores(landing, out, scratch), scratch, swept, close: () => removeScratch(scratch) };
}

/** The plan of stages that exist: the real pipeline minus stages not registered yet. */
export function availablePlan(): { plan: PlannedStage[]; missing: string[] } {
  const plan = PIPELINE_PLAN.filter((s) => hasStage(s.name));
  return { plan, missing: PIPELINE_PLAN.filter((s) => !hasStage(s.name)).map((s) => s.name) };
}

type Json = Parameters<StateMachine['run']>[0];

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const log = opts.log ?? jsonLog();
  const opened = await openLocalStores(opts.landing, opts.out);
  try {
    if (opened.swept.length > 0)
      log.warn('removed scratch folders left by runs that stopped', { folders: opened.swept.length });
    return await runWithStores(opts, log, opened.stores);
  } finally {
    await opened.close();
  }
}

async function runWithStores(
  opts: LocalRunOptions,
  log: Log,
  local: Record<Zone, LocalObjectStore>,
): Promise<LocalRunResult> {
  const progress = opts.progress ?? noProgress;
  const stores: Record<Zone, ObjectStore> = local;
  const { plan, missing } = opts.plan ? { plan: [...opts.plan], missing: [] } : availablePlan();
  const runtime = opts.runtime ?? localRuntime({ scratchDir: localScratchRoot(resolve(opts.out)) });
  const workers = opts.shardWorkers ?? (runtime.workerThreads ? runtime.maxWorkers : 0);
  const { asl, taskStates } = renderRunDefinition({
    plan,
    mapConcurrency: opts.mapConcurrency ?? 2,
    shardConcurrency: Math.max(1, workers),
    taskTimeout: Duration.seconds(opts.taskTimeoutSeconds ?? (opts.lockStaleHours ?? DEFAULT_LOCK_STALE_HOURS) * 3600),
  });
  const stageOrder = plan.map((s) => s.name);
  // what this process may use: a population run needs a heap sized to the machine (bin/heap.mjs), V8's default is ~4 GiB
  log.info('run starting', {
    stages: stageOrder.length,
    shardWorkers: workers,
    memoryMiB: runtime.memoryMiB,
    heapLimitMiB: Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20),
  });

  // One run per out dir and as-at date: the run lock (io/run-lock.ts) in <out>/outputs/_locks/, taken by Prepare.
  const runLock: RunLockOptions = {
    staleAfterMs: (opts.lockStaleHours ?? DEFAULT_LOCK_STALE_HOURS) * 3_600_000,
    isHolderAlive: localHolderAlive,
  };
  const control: ControlDeps = {
    stores,
    log,
    runLock,
    hashCache: opts.hashCache ?? new Map(),
    ...(opts.config ? { config: opts.config } : {}),
    ...(runtime.principal ? { principal: runtime.principal } : {}),
  };
  const stageDeps: StageDeps = {
    stores,
    log,
    progress,
    runtime,
    ...(opts.loadStage ? { loadStage: opts.loadStage } : {}),
  };
  // the run owns its stage worker threads (started on the first shard that needs them, closed when the run ends)
  const scratch = local.secure.scratch;
  const pool: StagePool | undefined =
    workers > 1 && !opts.loadStage && !opts.storesFor && scratch
      ? stagePool(
          workers,
          { landing: resolve(opts.landing), out: resolve(opts.out), scratch, runtime: { ...runtime } },
          log,
        )
      : undefined;
  const shardStates = new Map<string, string>(); // "<Stage> shard" -> stage
  const planStates = new Map<string, string>(); // "<Stage> plan" -> stage
  const mergeStates = new Set<string>(); // "<Stage>": the merge task, after the shard Map
  for (const p of plan)
    if (p.kind === 'sharded') {
      shardStates.set(`${stateNameOf(p.name)} shard`, p.name);
      planStates.set(`${stateNameOf(p.name)} plan`, p.name);
      mergeStates.add(stateNameOf(p.name));
    }
  /** Shards each sharded stage's latest plan made (0: the plan said threads: false); one shard runs in-process. */
  const plannedShards = new Map<string, number>();
  const notifications: unknown[] = [];

  const runTask = async (task: string, input: Json, c: ControlDeps, s: StageDeps): Promise<Json> => {
    switch (task) {
      case 'prepare':
        return (await prepareRun(c, withForce(input, opts.force))) as unknown as Json;
      case 'finalise':
        return (await finaliseRun(c, input, stageOrder)) as unknown as Json;
      case 'record-failure':
        return (await recordRunFailure(c, input, stageOrder)) as unknown as Json;
      default:
        return (await invokeStage(task, input, s)) as unknown as Json;
    }
  };
  // Every task invocation still running. A failed Map iteration (one feed's validate) ends the execution while its
  // sibling iterations are still writing; the run waits for them before it reports, so nothing is being written in
  // its scratch folder or its zones when the scratch is removed and the failure is recorded.
  const inFlight = new Set<Promise<unknown>>();
  const tracked = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    work.then(
      () => inFlight.delete(work),
      () => inFlight.delete(work),
    );
    return work;
  };
  const runHere = async (task: string, input: Json): Promise<Json> => {
    if (!opts.storesFor) return runTask(task, input, control, stageDeps);
    const own = opts.storesFor(task);
    try {
      return await runTask(task, input, { ...control, stores: own.stores }, { ...stageDeps, stores: own.stores });
    } finally {
      await own.dispose();
    }
  };
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [stateName, task] of Object.entries(taskStates)) {
    handlers[stateName] = (input: Json) =>
      tracked(
        (async () => {
          const sharded = shardStates.get(stateName);
          if (pool && sharded && (plannedShards.get(sharded) ?? 0) > 1) return (await pool.run(task, input)) as Json;
          // the shards are done: their threads end before the merge (what they hold is not carried into it or into
          // the next stages; the next shard Map starts fresh threads)
          if (pool && mergeStates.has(stateName)) await pool.recycle();
          const out = await runHere(task, input);
          if (planStates.has(stateName)) {
            const planned = out as { shards?: unknown; threads?: unknown } | null;
            const count = Array.isArray(planned?.shards) ? planned.shards.length : 0;
            // shardWorkers given: the caller asked for threads, whatever the plan's hint
            plannedShards.set(task, planned?.threads === false && opts.shardWorkers === undefined ? 0 : count);
          }
          return out;
        })(),
      );
  }
  // The SNS notification of the deployed machine: locally, a warning on stderr and the run result.
  handlers[NOTIFY_STATE] = async (input: Json) => {
    // the SNS Publish parameters: { TopicArn, Message: { stage, error, execution }, Subject }
    const message = (input as { Message?: { stage?: string; error?: string } } | null)?.Message ?? {};
    notifications.push(message);
    log.warn('run failed: notification', { stage: String(message.stage ?? ''), error: String(message.error ?? '') });
    return {};
  };

  const retryOverrides: Record<string, number> = {};
  if (opts.retryDelayMs !== undefined)
    for (const s of [...Object.keys(taskStates), NOTIFY_STATE]) retryOverrides[s] = opts.retryDelayMs;

  const machine = new StateMachine(asl as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(
    { asAt: opts.asAt, ranBy: whoRan(), ...(opts.force ? { force: true } : {}) },
    {
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryOverrides },
      context: {
        Execution: {
          Id: `local:${opts.asAt}:${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
          StartTime: new Date().toISOString(),
        },
      },
    },
  );
  const failedStates = new Set<string>();
  // Map states (validate over feeds) are reported as their stage too, with the number of items
  const mapStates = Object.fromEntries(
    plan.filter((p) => p.kind === 'map').map((p) => [`${stateNameOf(p.name)} feeds`, p.name]),
  );
  const follow = (async () => {
    for await (const ev of execution.eventLogs) {
      if (!opts.onStage || !('state' in ev)) continue;
      const mapStage = mapStates[ev.state.name];
      if (mapStage) {
        if (ev.type === 'StateEntered') {
          const feeds = (ev.state.input as { run?: { feeds?: unknown[] } } | null)?.run?.feeds;
          opts.onStage({ stage: mapStage, state: 'started', ...(Array.isArray(feeds) ? { items: feeds.length } : {}) });
        } else if (ev.type === 'StateExited' && !failedStates.has(ev.state.name))
          opts.onStage({ stage: mapStage, state: 'succeeded' });
        else if (ev.type === 'StateFailed') {
          failedStates.add(ev.state.name);
          opts.onStage({ stage: mapStage, state: 'failed' });
        }
        continue;
      }
      const task = taskStates[ev.state.name];
      if (!task) continue;
      const item = ev.index;
      if (ev.type === 'StateEntered')
        opts.onStage({ stage: task, state: 'started', ...(item !== undefined ? { item } : {}) });
      else if (ev.type === 'StateExited' && !failedStates.has(`${ev.state.name}#${item ?? ''}`))
        opts.onStage({ stage: task, state: 'succeeded', ...(item !== undefined ? { item } : {}) });
      else if (ev.type === 'StateFailed') {
        failedStates.add(`${ev.state.name}#${item ?? ''}`);
        opts.onStage({ stage: task, state: 'failed', ...(item !== undefined ? { item } : {}) });
      } else if (ev.type === 'StateRetried') failedStates.delete(`${ev.state.name}#${item ?? ''}`);
      if (ev.type === 'StateRetried')
        opts.onStage({ stage: task, state: 'retrying', ...(item !== undefined ? { item } : {}) });
    }
  })();

  let output: { run?: { runId: string; skip?: boolean } } | undefined;
  let failure: unknown;
  try {
    output = (await execution.result) as typeof output;
  } catch (err) {
    failure = err;
  } finally {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    await follow.catch(() => undefined);
    await pool?.close();
  }
  // the manifest of the run just made (released or not: a failed run's manifest says why, and is not published)
  const manifest = await readLatestRunManifest(stores.outputs, opts.asAt).catch(() => undefined);
  const released = manifest === undefined || manifest.release === undefined || manifest.release.state === 'released';
  const manifestPath = join(
    resolve(opts.out),
    'outputs',
    released ? keys.manifest(opts.asAt) : keys.runManifest(opts.asAt, manifest.runId),
  );
  const base = { asAt: opts.asAt, manifestPath, outRoot: resolve(opts.out), missingStages: missing, notifications };
  if (failure !== undefined) {
    if (!(failure instanceof ExecutionError)) throw failure;
    if (isRunLocked(failure)) {
      const holder = await currentRunLock(stores.outputs, opts.asAt).catch(() => undefined);
      return { ...base, runId: '', status: 'locked', manifest, ...(holder ? { lockedBy: holder } : {}) };
    }
    const err =
      manifest?.status === 'failed' && manifest.error
        ? manifest.error
        : { stage: 'unknown', error: failure.name, cause: failure.message };
    return { ...base, runId: manifest?.runId ?? '', status: 'failed', manifest, error: err };
  }
  const skipped = output?.run?.skip === true;
  return { ...base, runId: output?.run?.runId ?? manifest?.runId ?? '', status: skipped ? 'skipped' : 'ok', manifest };
}

function isRunLocked(err: ExecutionError): boolean {
  const cause = (err as { cause?: { name?: string } }).cause;
  return cause?.name === RUN_LOCKED_ERROR || err.message.includes(RUN_LOCKED_ERROR);
}

function withForce(input: Json, force: boolean | undefined): Json {
  return force && input && typeof input === 'object' && !Array.isArray(input) ? { ...input, force: true } : input;
}

/** Fake stages for tests and examples: re-exported so callers need not reach into the registry. */
export type { StageEntry };
export const DEFAULT_RETRY_SECONDS = RETRY.intervalSeconds;
