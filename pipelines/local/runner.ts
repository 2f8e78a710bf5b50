/**
 * The local executor: renders THE run definition (pipelines/definition.ts) to ASL and runs it with
 * aws-local-stepfunctions. Each Task state is mapped to the same function its Lambda calls
 * (control tasks -> pipelines/manifest.ts, stages -> pipelines/stages/invoke.ts), so Retry, Catch, Map and
 * data passing behave as deployed. Ports: a directory per zone (LocalObjectStore) and DuckDB.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { shardPool } from '../../matching/parallel.ts';
import type { RunConfig } from '../config.ts';
import { NOTIFY_STATE, PIPELINE_PLAN, RETRY, renderRunDefinition, stateNameOf, type PlannedStage } from '../definition.ts';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { ObjectStore } from '../io/object-store.ts';
import type { QueryEngine } from '../io/query-engine.ts';
import { keys, type Zone } from '../layout.ts';
import { jsonLog, type Log } from '../log.ts';
import { finaliseRun, prepareRun, readLatestRunManifest, recordRunFailure, whoRan, type ControlDeps, type Manifest } from '../manifest.ts';
import { noProgress, type Progress } from '../progress.ts';
import { hasStage, type StageEntry } from '../stages/index.ts';
import { invokeStage, type StageDeps } from '../stages/invoke.ts';
import { openLocalQueryEngine } from './query-engine.ts';

export interface LocalRunOptions {
  landing: string;
  out: string;
  asAt: string;
  config?: RunConfig;
  force?: boolean;
  log?: Log;
  progress?: Progress;
  /** Told when a stage starts and ends (the CLI draws a line per stage). */
  onStage?: (event: { stage: string; state: 'started' | 'succeeded' | 'failed' | 'retrying'; item?: number; items?: number }) => void;
  /** Default: the pipeline's stages that have landed in the registry. */
  plan?: readonly PlannedStage[];
  /** Default: the registry. Tests pass fake stages here. */
  loadStage?: StageDeps['loadStage'];
  /** Milliseconds between retries (default: the definition's backoff; tests make it 0). */
  retryDelayMs?: number;
  mapConcurrency?: number;
  /** Worker threads for the match shards (the shard Map's concurrency); default one per core, at most 4; 0 = in-process. */
  shardWorkers?: number;
}

export interface LocalRunResult {
  runId: string;
  asAt: string;
  status: 'ok' | 'failed' | 'skipped';
  manifest: Manifest | undefined;
  manifestPath: string;
  outRoot: string;
  /** Stages of the pipeline not yet registered (left out of this run). */
  missingStages: string[];
  error?: { stage: string; error: string; cause: string };
  notifications: unknown[];
}

export function localStores(landing: string, out: string): Record<Zone, LocalObjectStore> {
  const o = resolve(out);
  return {
    landing: new LocalObjectStore(resolve(landing)),
    secure: new LocalObjectStore(join(o, 'secure')),
    curated: new LocalObjectStore(join(o, 'curated')),
    outputs: new LocalObjectStore(join(o, 'outputs')),
  };
}

/** The plan of stages that exist: the real pipeline minus stages not registered yet. */
export function availablePlan(): { plan: PlannedStage[]; missing: string[] } {
  const plan = PIPELINE_PLAN.filter((s) => hasStage(s.name));
  return { plan, missing: PIPELINE_PLAN.filter((s) => !hasStage(s.name)).map((s) => s.name) };
}

type Json = Parameters<StateMachine['run']>[0];

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const log = opts.log ?? jsonLog();
  const progress = opts.progress ?? noProgress;
  const local = localStores(opts.landing, opts.out);
  const stores: Record<Zone, ObjectStore> = local;
  const { plan, missing } = opts.plan ? { plan: [...opts.plan], missing: [] } : availablePlan();
  const workers = opts.shardWorkers ?? Math.min(4, availableParallelism());
  const { asl, taskStates } = renderRunDefinition({ plan, mapConcurrency: opts.mapConcurrency ?? 2, shardConcurrency: Math.max(1, workers) });
  // the run owns its shard worker threads (started on first use, closed when the run ends)
  const shards = workers > 1 ? shardPool(workers) : undefined;
  const stageOrder = plan.map((s) => s.name);

  let engine: QueryEngine | undefined;
  const queryEngine = async (): Promise<QueryEngine> => (engine ??= await openLocalQueryEngine(local.curated));
  const control: ControlDeps = {
    stores, log, ...(opts.config ? { config: opts.config } : {}),
  };
  const stageDeps: StageDeps = { stores, queryEngine, log, progress, ...(shards ? { shardPool: shards } : {}), ...(opts.loadStage ? { loadStage: opts.loadStage } : {}) };
  const notifications: unknown[] = [];

  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [stateName, task] of Object.entries(taskStates)) {
    handlers[stateName] = async (input: Json) => {
      switch (task) {
        case 'prepare': return (await prepareRun(control, withForce(input, opts.force))) as unknown as Json;
        case 'finalise': return (await finaliseRun(control, input, stageOrder)) as unknown as Json;
        case 'record-failure': return (await recordRunFailure(control, input, stageOrder)) as unknown as Json;
        default: return (await invokeStage(task, input, stageDeps)) as unknown as Json;
      }
    };
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
  if (opts.retryDelayMs !== undefined) for (const s of [...Object.keys(taskStates), NOTIFY_STATE]) retryOverrides[s] = opts.retryDelayMs;

  const machine = new StateMachine(asl as unknown as StateMachineDefinition, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run({ asAt: opts.asAt, ranBy: whoRan(), ...(opts.force ? { force: true } : {}) }, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retryOverrides },
    context: { Execution: { Id: `local:${opts.asAt}`, StartTime: new Date().toISOString() } },
  });
  const failedStates = new Set<string>();
  // Map states (validate over feeds) are reported as their stage too, with the number of items
  const mapStates = Object.fromEntries(plan.filter((p) => p.kind === 'map').map((p) => [`${stateNameOf(p.name)} feeds`, p.name]));
  const follow = (async () => {
    for await (const ev of execution.eventLogs) {
      if (!opts.onStage || !('state' in ev)) continue;
      const mapStage = mapStates[ev.state.name];
      if (mapStage) {
        if (ev.type === 'StateEntered') {
          const feeds = (ev.state.input as { run?: { feeds?: unknown[] } } | null)?.run?.feeds;
          opts.onStage({ stage: mapStage, state: 'started', ...(Array.isArray(feeds) ? { items: feeds.length } : {}) });
        } else if (ev.type === 'StateExited' && !failedStates.has(ev.state.name)) opts.onStage({ stage: mapStage, state: 'succeeded' });
        else if (ev.type === 'StateFailed') {
          failedStates.add(ev.state.name);
          opts.onStage({ stage: mapStage, state: 'failed' });
        }
        continue;
      }
      const task = taskStates[ev.state.name];
      if (!task) continue;
      const item = ev.index;
      if (ev.type === 'StateEntered') opts.onStage({ stage: task, state: 'started', ...(item !== undefined ? { item } : {}) });
      else if (ev.type === 'StateExited' && !failedStates.has(`${ev.state.name}#${item ?? ''}`)) opts.onStage({ stage: task, state: 'succeeded', ...(item !== undefined ? { item } : {}) });
      else if (ev.type === 'StateFailed') {
        failedStates.add(`${ev.state.name}#${item ?? ''}`);
        opts.onStage({ stage: task, state: 'failed', ...(item !== undefined ? { item } : {}) });
      } else if (ev.type === 'StateRetried') failedStates.delete(`${ev.state.name}#${item ?? ''}`);
      if (ev.type === 'StateRetried') opts.onStage({ stage: task, state: 'retrying', ...(item !== undefined ? { item } : {}) });
    }
  })();

  let output: { run?: { runId: string; skip?: boolean } } | undefined;
  let failure: unknown;
  try {
    output = (await execution.result) as typeof output;
  } catch (err) {
    failure = err;
  } finally {
    await follow.catch(() => undefined);
    if (engine) await engine.close();
    await shards?.close();
  }
  // the manifest of the run just made (released or not: a failed run's manifest says why, and is not published)
  const manifest = await readLatestRunManifest(stores.outputs, opts.asAt).catch(() => undefined);
  const released = manifest === undefined || manifest.release === undefined || manifest.release.state === 'released';
  const manifestPath = join(resolve(opts.out), 'outputs', released ? keys.manifest(opts.asAt) : keys.runManifest(opts.asAt, manifest.runId));
  const base = { asAt: opts.asAt, manifestPath, outRoot: resolve(opts.out), missingStages: missing, notifications };
  if (failure !== undefined) {
    if (!(failure instanceof ExecutionError)) throw failure;
    const err = manifest?.status === 'failed' && manifest.error ? manifest.error : { stage: 'unknown', error: failure.name, cause: failure.message };
    return { ...base, runId: manifest?.runId ?? '', status: 'failed', manifest, error: err };
  }
  const skipped = output?.run?.skip === true;
  return { ...base, runId: output?.run?.runId ?? manifest?.runId ?? '', status: skipped ? 'skipped' : 'ok', manifest };
}

function withForce(input: Json, force: boolean | undefined): Json {
  return force && input && typeof input === 'object' && !Array.isArray(input) ? { ...input, force: true } : input;
}

/** Fake stages for tests and examples: re-exported so callers need not reach into the registry. */
export type { StageEntry };
export const DEFAULT_RETRY_SECONDS = RETRY.intervalSeconds;
