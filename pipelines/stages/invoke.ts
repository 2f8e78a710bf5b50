/**
 * Runs one stage for one Task event, the same way in a Lambda (functions/<stage>.ts) and in the local runner:
 * parse the event, read the run's config from its manifest, look the stage up in the registry, parse its input,
 * run it, and return its output with timings. Transient failures (throttling, timeouts, dropped connections)
 * are renamed to `Locality.Transient` so the state machine's Retry matches them; everything else is caught
 * by the stage's Catch.
 */
import { z } from 'zod';
import type { RunConfig } from '../config.ts';
import type { ObjectStore } from '../io/object-store.ts';
import type { Zone } from '../layout.ts';
import type { Log } from '../log.ts';
import { codeVersion, configForRun, isoDate, readRunManifest } from '../manifest.ts';
import {
  decideReuse,
  invocationId,
  phaseRankOf,
  readStageRecords,
  resultOf,
  watchedStores,
  writeStageRecord,
} from '../stage-records.ts';
import type { Progress } from '../progress.ts';
import type { RuntimeProfile } from '../runtime.ts';
import type { StageContext } from './context.ts';
import { loadStage } from './index.ts';
import type { StageEntry, StageOutput } from './stage.ts';
import { issuesText } from '../../models/zod-issues.ts';

export const TRANSIENT_ERROR_NAME = 'Locality.Transient';

export const stageEventSchema = z.object({
  runId: z.string().min(1),
  asAt: isoDate,
  input: z.unknown().default({}),
});
export type StageEvent = z.infer<typeof stageEventSchema>;

export interface StageDeps {
  stores: Record<Zone, ObjectStore>;
  log: Log;
  progress: Progress;
  runtime: RuntimeProfile;
  /** Skip reading the config from the manifest (tests of a stage in isolation). */
  config?: RunConfig;
  /** Where stage functions come from: the registry by default; tests pass fake stages. */
  loadStage?: (name: string) => Promise<StageEntry<unknown>>;
  /**
   * Stage records (pipelines/stage-records.ts): each finished invocation records its outputs' SHA-256, and an
   * invocation whose record still holds is reused instead of run again (resume). Default on; false: always run.
   */
  stageRecords?: boolean;
}

/** Whether the invocation ran or its record from an earlier execution of the run was reused, and why. */
export interface ResumeNote {
  reused: boolean;
  why: string;
}

export interface StageResult extends StageOutput {
  stage: string;
  timing: { startedAt: string; finishedAt: string; durationMs: number };
  /** Set when an earlier execution of the run had recorded this invocation (reused, or run again and why). */
  resume?: ResumeNote;
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalError',
  'InternalServerError',
  'ProvisionedThroughputExceededException',
  'TimeoutError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNREFUSED', 'EBUSY', 'EMFILE']);

export function isTransient(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.name === TRANSIENT_ERROR_NAME) return true;
  if (e.$retryable) return true;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || status === 503;
}

/** Error names reach Step Functions as the state's Error; keep them short and meaningful. */
function asStateError(err: unknown, stage: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if (isTransient(e)) {
    const t = new Error(`${stage}: transient failure (${e.name}): ${e.message}`, { cause: e });
    t.name = TRANSIENT_ERROR_NAME;
    return t;
  }
  if (!e.message.startsWith(`${stage}:`)) e.message = `${stage}: ${e.message}`;
  return e;
}

/** Timings (and resume notes) are kept out of what later stages see, so their outputs stay byte-identical across runs. */
function withoutTimings(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const results = (input as { results?: unknown }).results;
  if (!results || typeof results !== 'object') return input;
  const strip = (r: unknown): unknown => {
    if (Array.isArray(r)) return r.map(strip);
    if (r && typeof r === 'object') {
      const { timing: _t, resume: _r, ...rest } = r as Record<string, unknown>;
      return rest;
    }
    return r;
  };
  return { ...(input as object), results: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, strip(v)])) };
}

export async function invokeStage(name: string, event: unknown, deps: StageDeps): Promise<StageResult> {
  const startedAt = new Date();
  try {
    const parsed = stageEventSchema.safeParse(event);
    if (!parsed.success) throw new Error(`invalid event: ${issuesText(parsed.error)}`);
    const ev = parsed.data;
    const entry = await (deps.loadStage ?? loadStage)(name);
    const stripped = withoutTimings(ev.input);
    const input = entry.input.safeParse(stripped);
    if (!input.success) throw new Error(`invalid input: ${issuesText(input.error)}`);
    const at = {
      asAt: ev.asAt,
      runId: ev.runId,
      stage: name,
      invocation: invocationId(name, stripped),
      input: stripped,
      codeVersion: codeVersion(),
    };
    // a run that was never prepared is refused before anything else
    const config = deps.config ?? (await configForRun(deps.stores.outputs, ev.asAt, ev.runId));
    let rerun: string | undefined;
    if (deps.stageRecords !== false) {
      const records = await readStageRecords(deps.stores.outputs, ev.asAt, ev.runId);
      const executionStartedAt = records.length
        ? (await readRunManifest(deps.stores.outputs, ev.asAt, ev.runId).catch(() => undefined))?.startedAt
        : undefined;
      const d = await decideReuse(deps.stores, records, { ...at, rank: phaseRankOf(stripped), executionStartedAt });
      if (d.reuse && d.record) {
        const finishedAt = new Date();
        deps.log.info('stage reused', { stage: name, runId: ev.runId, why: d.why ?? '' });
        return {
          ...(resultOf(d.record) as StageOutput),
          stage: name,
          timing: {
            startedAt: startedAt.toISOString(),
            finishedAt: finishedAt.toISOString(),
            durationMs: finishedAt.getTime() - startedAt.getTime(),
          },
          resume: { reused: true, why: d.why ?? 'outputs verified' },
        };
      }
      rerun = d.why;
      if (rerun) deps.log.warn('stage runs again', { stage: name, runId: ev.runId, why: rerun });
    }
    const watched = deps.stageRecords !== false ? watchedStores(deps.stores) : undefined;
    const ctx: StageContext = {
      runId: ev.runId,
      asAt: ev.asAt,
      stores: watched?.stores ?? deps.stores,
      config,
      log: deps.log,
      progress: deps.progress,
      runtime: deps.runtime,
    };
    deps.log.info('stage started', { stage: name, runId: ev.runId, asAt: ev.asAt });
    const out = await entry.run(ctx, input.data);
    if (watched) await writeStageRecord(deps.stores, at, out, watched.log);
    const finishedAt = new Date();
    const durationMs = finishedAt.getTime() - startedAt.getTime();
    deps.log.info('stage finished', { stage: name, runId: ev.runId, durationMs, ...out.counts });
    return {
      ...out,
      stage: name,
      timing: { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs },
      ...(rerun ? { resume: { reused: false, why: rerun } } : {}),
    };
  } catch (err) {
    const e = asStateError(err, name);
    deps.log.error('stage failed', { stage: name, error: e.name });
    throw e;
  }
}
