/**
 * The run manifest (outputs `as_at=<date>/manifest.json`) and the three control tasks that write it:
 *  - prepare:        selects the landing extracts for the as-at date, hashes them, derives the run id
 *                    (as-at + input hashes + config hash), decides whether the run is already done, lists
 *                    the feeds for the validate Map and writes the manifest with status "running";
 *  - finalise:       status "ok", stage timings and counts in/out, input row counts;
 *  - record-failure: status "failed" with the failing stage and its error; everything written so far stays.
 * The same functions run in the Lambdas (functions/prepare.ts, ...) and in the local runner.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseRunConfig, runConfigSchema, type RunConfig } from './config.ts';
import {
  assertPeopleFeed,
  classifyLanding,
  feedsToValidate,
  landingTotals,
  type LandingEntry,
} from './feeds/landing.ts';
import { inventoryOf, type ObjectStore } from './io/object-store.ts';
import { acquireRunLock, releaseRunLock, type RunLockOptions } from './io/run-lock.ts';
import { isIsoDate, keys, type Zone } from './layout.ts';
import type { Log } from './log.ts';
import { hasStagedSet, recoverRelease } from './release/promote.ts';
import { releaseFinishedRun, requireSignoffOf } from './release/run.ts';
import { manifestJson } from './manifest-json.ts';
import { isoDate, MANIFEST_VERSION, manifestSchema, type Manifest, type StageRecord } from './manifest-schema.ts';
import { issuesText } from '../models/zod-issues.ts';
import { outcomesDigest } from './outcomes/store.ts';
import { describeMismatch, recordRunOutputs, verifyRunOutputs } from './run-outputs.ts';
import { clearStageRecords } from './stage-records.ts';

export {
  isoDate,
  MANIFEST_VERSION,
  manifestSchema,
  releaseRecordSchema,
  signoffSchema,
  stageRecordSchema,
  type Manifest,
  type ReleaseRecord,
  type StageRecord,
} from './manifest-schema.ts';

// ---- inputs -------------------------------------------------------------------------------------

export interface InputFile {
  key: string;
  source: string;
  feed: string;
  extractDate: string;
  sha256: string;
  bytes: number;
  /** From the validate stage: rows read, accepted, quarantined (absent until validate has run). */
  rows?: number;
  accepted?: number;
  quarantined?: number;
  /** From the validate stage: rejected for what is inside it (reason code), or accepted. */
  status?: 'accepted' | 'rejected';
  reason?: string;
  /** Rows of a file rejected whole (rows = accepted + quarantined + rejectedRows). */
  rejectedRows?: number;
}

/**
 * The landing extracts a run at `asAt` reads (feeds/landing.ts decides for every entry): people and relationship
 * feeds are snapshots (the latest readable extract dated on or before the as-at date), event feeds are incremental
 * (every extract on or before it). Rejected and ignored entries are in `landing` of the manifest, not here.
 */
export async function selectInputs(landing: ObjectStore, asAt: string): Promise<Array<Omit<InputFile, 'sha256'>>> {
  return readInputsOf(classifyLanding(await inventoryOf(landing, ''), asAt));
}

function readInputsOf(entries: readonly LandingEntry[]): Array<Omit<InputFile, 'sha256'>> {
  return entries
    .filter((e) => e.outcome === 'read')
    .map((e) => ({ key: e.key, source: e.source!, feed: e.feed!, extractDate: e.extractDate, bytes: e.size }));
}

/** The manifest's account of landing: totals, and every entry not read with its reason. */
export function landingAccount(entries: readonly LandingEntry[]): Manifest['landing'] {
  return {
    ...landingTotals(entries),
    notRead: entries
      .filter((e) => e.outcome !== 'read')
      .map((e) => ({
        key: e.key,
        outcome: e.outcome as 'rejected' | 'ignored',
        reason: e.reason!,
        detail: e.detail ?? '',
      })),
  };
}

/**
 * Hashes already computed, by (store, key, size). A cache belongs to one job, never to the module: the local runner
 * makes one per run and a local backfill one for all its dates (it hashes each extract once); a Lambda keeps none,
 * so a warm container never answers from an earlier invocation's files.
 */
export type HashCache = Map<string, string>;

export async function sha256Of(store: ObjectStore, key: string, size?: number, hashCache?: HashCache): Promise<string> {
  const cacheKey = size === undefined || !hashCache ? undefined : `${store.location}\u0000${key}\u0000${size}`;
  const hit = cacheKey ? hashCache!.get(cacheKey) : undefined;
  if (hit) return hit;
  const h = createHash('sha256');
  for await (const chunk of await store.getStream(key)) h.update(chunk as Buffer);
  const digest = h.digest('hex');
  if (cacheKey) hashCache!.set(cacheKey, digest);
  return digest;
}

export async function hashInputs(
  landing: ObjectStore,
  asAt: string,
  entries?: readonly LandingEntry[],
  hashCache?: HashCache,
): Promise<InputFile[]> {
  const selected = entries ? readInputsOf(entries) : await selectInputs(landing, asAt);
  const out: InputFile[] = [];
  for (const f of selected) out.push({ ...f, sha256: await sha256Of(landing, f.key, f.bytes, hashCache) });
  return out;
}

// ---- config, identity -----------------------------------------------------------------------------

/** JSON with object keys sorted at every level: the same value always serialises to the same bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export function configHash(config: RunConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

/** `<as-at>-<12 hex>`: the same as-at date, inputs and config always give the same run id. */
export function deriveRunId(
  asAt: string,
  inputs: ReadonlyArray<Pick<InputFile, 'key' | 'sha256'>>,
  cfgHash: string,
  past: { previousRunId?: string | undefined; outcomes?: string | undefined } = {},
): string {
  const h = createHash('sha256').update(`locality-run/v1\n${asAt}\n${cfgHash}\n`);
  // a run reads its previous run (ids, lists) and the leads' outcomes so far: other ones make it a different run
  if (past.previousRunId) h.update(`previous\t${past.previousRunId}\n`);
  if (past.outcomes) h.update(`outcomes\t${past.outcomes}\n`);
  for (const i of [...inputs].sort((a, b) => (a.key < b.key ? -1 : 1))) h.update(`${i.key}\t${i.sha256}\n`);
  return `${asAt}-${h.digest('hex').slice(0, 12)}`;
}

/**
 * Who ran it: an explicit principal (IAM ARN, EventBridge rule) when given, else the runtime's own (a Lambda:
 * `aws-lambda:<function name>`, from its RuntimeProfile), else LOCALITY_RAN_BY, else the OS user.
 */
export function whoRan(explicit?: string, runtimePrincipal?: string): string {
  if (explicit) return explicit;
  if (runtimePrincipal) return runtimePrincipal;
  if (process.env.LOCALITY_RAN_BY) return process.env.LOCALITY_RAN_BY;
  try {
    return `os-user:${userInfo().username}`;
  } catch {
    return 'unknown';
  }
}

let cachedCodeVersion: string | undefined;
/** The code version: CODE_VERSION (stamped into the Lambdas at synth), else the git commit of the checkout. */
export function codeVersion(): string {
  if (process.env.CODE_VERSION) return process.env.CODE_VERSION;
  if (cachedCodeVersion) return cachedCodeVersion;
  try {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    cachedCodeVersion = `git:${commit}${dirty ? '+dirty' : ''}`;
  } catch {
    cachedCodeVersion = 'unknown';
  }
  return cachedCodeVersion;
}

function parseManifest(raw: unknown, where: string): Manifest {
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`manifest ${where}: ${issuesText(parsed.error)}`);
  return parsed.data;
}

async function readManifestAt(outputs: ObjectStore, key: string): Promise<Manifest | undefined> {
  if (!(await outputs.exists(key))) return undefined;
  return parseManifest(JSON.parse((await outputs.get(key)).toString('utf8')) as unknown, `${outputs.location}/${key}`);
}

/** The manifest of the set published for the date (the released run), if any. */
export async function readManifest(outputs: ObjectStore, asAt: string): Promise<Manifest | undefined> {
  return readManifestAt(outputs, keys.manifest(asAt));
}

/** A run's own manifest: its state while it runs, and its record after (failed, awaiting sign-off, released). */
export async function readRunManifest(
  outputs: ObjectStore,
  asAt: string,
  runId: string,
): Promise<Manifest | undefined> {
  return (
    (await readManifestAt(outputs, keys.runManifest(asAt, runId))) ??
    (await readManifest(outputs, asAt).then((m) => (m?.runId === runId ? m : undefined)))
  );
}

/** The manifest of the run last prepared for the date (what `run` reports, whether it finished, failed or awaits sign-off). */
export async function readLatestRunManifest(outputs: ObjectStore, asAt: string): Promise<Manifest | undefined> {
  const key = keys.lastRun(asAt);
  if (!(await outputs.exists(key))) return readManifest(outputs, asAt);
  const { runId } = JSON.parse((await outputs.get(key)).toString('utf8')) as { runId: string };
  return readRunManifest(outputs, asAt, runId);
}

/**
 * Writes the run's own manifest (the published copy is written into its set when it is released), and the same
 * manifest as one JSON line under run_manifests/ for the Glue table of that name (Athena's JSON SerDe reads one
 * object per line; the pretty-printed manifest would not parse there).
 */
export async function writeManifest(outputs: ObjectStore, m: Manifest): Promise<void> {
  await outputs.put(keys.runManifest(m.asAt, m.runId), manifestJson(m));
  await outputs.put(keys.manifestLine(m.asAt, m.runId), `${JSON.stringify(m)}\n`);
}

export { manifestJson };

/** The config a run was prepared with (stages read it from the run's manifest, so every Lambda agrees). */
export async function configForRun(outputs: ObjectStore, asAt: string, runId: string): Promise<RunConfig> {
  const m = await readRunManifest(outputs, asAt, runId);
  if (!m)
    throw new Error(`no manifest for run ${runId} (as-at ${asAt}) in ${outputs.location}: the run was not prepared`);
  return runConfigSchema.parse(m.config.value);
}

// ---- control tasks ---------------------------------------------------------------------------------

export interface ControlDeps {
  stores: Record<Zone, ObjectStore>;
  log: Log;
  /** The config to use when the event carries none (local: --config; AWS: the default). */
  config?: RunConfig;
  /** Lists the (source, feed) pairs to validate; defaults to the feeds of the selected inputs. */
  discoverFeeds?: (asAt: string, config: RunConfig) => Promise<Array<{ source: string; feed: string }>>;
  /**
   * One run per as-at date at a time (pipelines/io/run-lock.ts): when set, prepare takes the date's run lock for
   * the execution ($.execution.id) before anything else, and finalise / record-failure release it.
   */
  runLock?: RunLockOptions;
  /** Who is running when the request names nobody: the runtime's principal (a Lambda's function); default the OS user. */
  principal?: string;
  /** Input hashes already computed in this job (a local backfill shares one across its dates); none in a Lambda. */
  hashCache?: HashCache;
}

/** `<source>/<feed>/dt=<date>/_READY` (or any key with a dt=<date>/ folder ending in _READY). */
const MARKER = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\/_READY$/;

export function asAtFromMarker(marker: string): string {
  const m = MARKER.exec(marker);
  if (!m || !isIsoDate(m[1]!)) throw new Error(`marker "${marker}": expected <source>/<feed>/dt=<YYYY-MM-DD>/_READY`);
  return m[1]!;
}

export const runRequestSchema = z
  .object({
    asAt: isoDate.optional(),
    /** The `_READY` object key that triggered the run (EventBridge): its dt=<date> is the as-at date. */
    marker: z.string().optional(),
    force: z.boolean().optional(),
    config: z.unknown().optional(),
    ranBy: z.string().optional(),
    /** The execution running this request (the definition's "Note execution" state puts $$.Execution.Id here). */
    execution: z.looseObject({ id: z.string().min(1) }).optional(),
  })
  .refine((r) => r.asAt !== undefined || r.marker !== undefined, {
    message: 'give asAt (YYYY-MM-DD) or marker (a _READY key)',
    path: ['asAt'],
  });
export type RunRequest = z.infer<typeof runRequestSchema>;

export interface PreparedRun {
  runId: string;
  asAt: string;
  skip: boolean;
  feeds: Array<{ source: string; feed: string }>;
  [k: string]: unknown;
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what}: ${issuesText(r.error)}`);
  return r.data;
}

export async function prepareRun(deps: ControlDeps, event: unknown): Promise<PreparedRun> {
  const request = parseOrThrow(runRequestSchema, event, 'run request');
  const req = { ...request, asAt: request.asAt ?? asAtFromMarker(request.marker!) };
  const config =
    req.config === undefined || req.config === null
      ? (deps.config ?? runConfigSchema.parse({}))
      : parseRunConfig(req.config, 'run request config');
  const entries = classifyLanding(await inventoryOf(deps.stores.landing, ''), req.asAt);
  assertPeopleFeed(entries, req.asAt);
  const execution = req.execution?.id;
  if (deps.runLock) {
    if (!execution)
      throw new Error(`run request for as-at ${req.asAt}: no execution id ($.execution.id) to hold the run lock with`);
    const held = await acquireRunLock(
      deps.stores.outputs,
      req.asAt,
      { execution, ranBy: whoRan(req.ranBy, deps.principal) },
      deps.runLock,
    );
    if (held.superseded)
      deps.log.warn('stale run lock superseded', {
        asAt: req.asAt,
        staleExecution: held.superseded.execution,
        takenAt: held.superseded.acquiredAt,
      });
  }
  const inputs = await hashInputs(deps.stores.landing, req.asAt, entries, deps.hashCache);
  const cfgHash = configHash(config);
  const previousRun = await latestCompletedBefore(deps.stores.outputs, req.asAt);
  // Entries rejected are part of what the run saw: adding a bad file (or a link) makes it a different run.
  const runId = deriveRunId(
    req.asAt,
    [
      ...inputs,
      ...entries
        .filter((e) => e.outcome === 'rejected')
        .map((e) => ({ key: e.key, sha256: `rejected:${e.reason}:${e.size}` })),
    ],
    cfgHash,
    { previousRunId: previousRun?.runId, outcomes: await outcomesDigest(deps.stores.outputs, req.asAt) },
  );
  const live = await readManifest(deps.stores.outputs, req.asAt).catch(() => undefined);
  const previous = await readRunManifest(deps.stores.outputs, req.asAt, runId).catch(() => undefined);
  // done: its set is the published one, or it finished and waits for IG's decision (a re-run would not change what IG is looking at)
  const released = live?.status === 'ok' && live.runId === runId;
  let redoneBecause: Manifest['redoneBecause'];
  if (!req.force && (released || (previous?.status === 'ok' && previous.release?.state === 'awaiting-signoff'))) {
    // "already done" only when every output the run recorded is still there, byte for byte
    const done = previous?.status === 'ok' && previous.outputs ? previous : live?.outputs ? live : undefined;
    const check = done ? await verifyRunOutputs(deps.stores, done) : undefined;
    if (check && check.missing.length === 0 && check.changed.length === 0) {
      if (deps.runLock && execution) await releaseRunLock(deps.stores.outputs, req.asAt, execution);
      deps.log.info('run already done: skipped', {
        runId,
        asAt: req.asAt,
        release: released ? 'released' : 'awaiting-signoff',
        outputsVerified: check.checked,
      });
      return { runId, asAt: req.asAt, skip: true, feeds: [], outputsVerified: check.checked };
    }
    redoneBecause = { checked: check?.checked ?? 0, missing: check?.missing ?? [], changed: check?.changed ?? [] };
    deps.log.warn(
      'run already done, but its outputs no longer match its manifest: running the stages whose outputs are missing or changed',
      {
        runId,
        asAt: req.asAt,
        outputsChecked: redoneBecause.checked,
        missing: redoneBecause.missing.length,
        changed: redoneBecause.changed.length,
        ...(check ? { first: describeMismatch(check, 1) } : { why: 'the manifest recorded no output hashes' }),
      },
    );
  }
  // --force: every stage runs again (the stage records of an earlier execution of this run are dropped)
  if (req.force) await clearStageRecords(deps.stores.outputs, req.asAt, runId);
  const feeds = deps.discoverFeeds ? await deps.discoverFeeds(req.asAt, config) : feedsToValidate(entries);
  await writeManifest(deps.stores.outputs, {
    manifestVersion: MANIFEST_VERSION,
    runId,
    asAt: req.asAt,
    status: 'running',
    startedAt: new Date().toISOString(),
    ranBy: whoRan(req.ranBy, deps.principal),
    codeVersion: codeVersion(),
    config: { version: config.configVersion, sha256: cfgHash, value: config },
    ...(previousRun ? { previousRun } : {}),
    inputs,
    landing: landingAccount(entries),
    stages: [],
    ...(redoneBecause ? { redoneBecause } : {}),
  });
  await deps.stores.outputs.put(keys.lastRun(req.asAt), `${JSON.stringify({ runId })}\n`);
  const totals = landingTotals(entries);
  deps.log.info('run prepared', {
    runId,
    asAt: req.asAt,
    inputs: inputs.length,
    feeds: feeds.length,
    landingRejected: totals.rejected,
    landingIgnored: totals.ignored,
  });
  return {
    runId,
    asAt: req.asAt,
    skip: false,
    feeds,
    ...(redoneBecause
      ? { redone: { missing: redoneBecause.missing.length, changed: redoneBecause.changed.length } }
      : {}),
  };
}

/** A stage's result as the stage wrapper returns it (see stages/invoke.ts). */
const stageResultSchema = z.looseObject({
  stage: z.string().optional(),
  resume: z.object({ reused: z.boolean(), why: z.string() }).optional(),
  counts: z.record(z.string(), z.number()).default({}),
  timing: z.object({ startedAt: z.string(), finishedAt: z.string(), durationMs: z.number() }).optional(),
});
type StageResult = z.infer<typeof stageResultSchema>;

const runStateSchema = z.looseObject({
  asAt: isoDate.optional(),
  marker: z.string().optional(),
  run: z.looseObject({ runId: z.string(), asAt: isoDate }).optional(),
  results: z.record(z.string(), z.unknown()).default({}),
  failedStage: z.string().optional(),
  execution: z.looseObject({ id: z.string() }).optional(),
  error: z.looseObject({ Error: z.string().default('Error'), Cause: z.unknown().optional() }).optional(),
});

function stageRecord(name: string, raw: unknown): StageRecord {
  if (Array.isArray(raw)) {
    const items = raw.map((r) => stageResultSchema.parse(r));
    const counts: Record<string, number> = {};
    for (const it of items) for (const [k, v] of Object.entries(it.counts)) counts[k] = (counts[k] ?? 0) + v;
    const starts = items
      .map((i) => i.timing?.startedAt)
      .filter((s): s is string => !!s)
      .sort();
    const ends = items
      .map((i) => i.timing?.finishedAt)
      .filter((s): s is string => !!s)
      .sort();
    const startedAt = starts[0];
    const finishedAt = ends[ends.length - 1];
    return {
      name,
      status: 'ok',
      items: items.length,
      counts,
      ...(startedAt && finishedAt
        ? { startedAt, finishedAt, durationMs: Date.parse(finishedAt) - Date.parse(startedAt) }
        : {}),
      ...resumeOf(items),
    };
  }
  const r: StageResult = stageResultSchema.parse(raw ?? {});
  return { name, status: 'ok', counts: r.counts, ...(r.timing ?? {}), ...resumeOf([r]) };
}

/** Reused and re-run invocations of a stage, with the distinct reasons (absent when nothing had been recorded). */
function resumeOf(items: readonly StageResult[]): Pick<StageRecord, 'resume'> {
  const notes = items.map((i) => i.resume).filter((n): n is NonNullable<StageResult['resume']> => n !== undefined);
  if (notes.length === 0) return {};
  const reused = notes.filter((n) => n.reused).length;
  const why = [...new Set(notes.filter((n) => !n.reused).map((n) => n.why))];
  if (reused > 0) why.unshift(`${reused} of ${items.length} reused: outputs verified`);
  return { resume: { reused, reran: items.length - reused, why } };
}

/** Row counts per input file, from validate's per-file counts (`files: [{ key|file, rows, accepted, quarantined }]`). */
function inputRowCounts(
  validate: unknown,
): Map<string, Pick<InputFile, 'rows' | 'accepted' | 'quarantined' | 'rejectedRows' | 'status' | 'reason'>> {
  const out = new Map<
    string,
    Pick<InputFile, 'rows' | 'accepted' | 'quarantined' | 'rejectedRows' | 'status' | 'reason'>
  >();
  const items = Array.isArray(validate) ? validate : validate ? [validate] : [];
  for (const item of items) {
    const files = (item as { files?: unknown }).files;
    if (!Array.isArray(files)) continue;
    for (const f of files as Array<Record<string, unknown>>) {
      const key = typeof f.key === 'string' ? f.key : typeof f.file === 'string' ? f.file : undefined;
      if (!key) continue;
      const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
      const q = f.quarantined;
      const quarantined =
        typeof q === 'number'
          ? q
          : q && typeof q === 'object'
            ? Object.values(q as Record<string, number>).reduce((a, b) => a + b, 0)
            : undefined;
      const status = f.status === 'accepted' || f.status === 'rejected' ? f.status : undefined;
      out.set(key, {
        rows: num(f.rows),
        accepted: num(f.accepted),
        quarantined,
        ...(num(f.rejectedRows) ? { rejectedRows: num(f.rejectedRows) } : {}),
        ...(status ? { status } : {}),
        ...(typeof f.reason === 'string' ? { reason: f.reason } : {}),
      });
    }
  }
  return out;
}

function ruleSetVersionOf(results: Record<string, unknown>): string | undefined {
  for (const r of Object.values(results)) {
    const v =
      r && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>).ruleSetVersion : undefined;
    if (typeof v === 'string') return v;
  }
  return undefined;
}

async function updateManifest(
  deps: ControlDeps,
  state: z.infer<typeof runStateSchema>,
  status: 'ok' | 'failed',
  stageOrder: readonly string[],
): Promise<Manifest> {
  const asAt = state.run?.asAt ?? state.asAt ?? (state.marker ? asAtFromMarker(state.marker) : undefined);
  if (!asAt) throw new Error('run state has no as-at date (no asAt, no marker): nothing to record');
  const runId = state.run?.runId;
  const previous = runId ? await readRunManifest(deps.stores.outputs, asAt, runId).catch(() => undefined) : undefined;
  const base: Manifest =
    previous && (runId === undefined || previous.runId === runId)
      ? previous
      : {
          manifestVersion: MANIFEST_VERSION,
          runId: runId ?? `${asAt}-unprepared`,
          asAt,
          status: 'running',
          startedAt: new Date().toISOString(),
          ranBy: whoRan(undefined, deps.principal),
          codeVersion: codeVersion(),
          config: { version: 'unknown', sha256: '', value: null },
          inputs: [],
          stages: [],
        };
  const names = [...new Set([...stageOrder, ...Object.keys(state.results)])];
  const stages: StageRecord[] = names.map((n) =>
    n in state.results
      ? stageRecord(n, state.results[n])
      : n === state.failedStage
        ? { name: n, status: 'failed', counts: {} }
        : { name: n, status: 'not-run', counts: {} },
  );
  const rows = inputRowCounts(state.results.validate);
  const inputs = base.inputs.map((i) => ({ ...i, ...(rows.get(i.key) ?? {}) }));
  const ruleSetVersion = ruleSetVersionOf(state.results) ?? base.ruleSetVersion;
  const m: Manifest = {
    ...base,
    status,
    finishedAt: new Date().toISOString(),
    inputs,
    stages,
    ...(ruleSetVersion ? { ruleSetVersion } : {}),
  };
  if (status === 'failed') {
    const cause = state.error?.Cause;
    m.error = {
      stage: state.failedStage ?? 'unknown',
      error: state.error?.Error ?? 'Error',
      cause: typeof cause === 'string' ? describeCause(cause) : JSON.stringify(cause ?? null),
    };
  } else delete m.error;
  await writeManifest(deps.stores.outputs, m);
  return m;
}

/** Finalise and record-failure end the run: the execution's run lock goes (a no-op if it holds none). */
async function releaseLockOf(deps: ControlDeps, state: z.infer<typeof runStateSchema>, asAt: string): Promise<void> {
  const execution = state.execution?.id;
  if (!deps.runLock || !execution) return;
  const released = await releaseRunLock(deps.stores.outputs, asAt, execution);
  if (!released && state.run)
    deps.log.warn('run lock not held at the end of the run (superseded as stale?)', { asAt, execution });
}

/** Lambda errors arrive as a JSON Cause ({ errorMessage, errorType, trace }); keep the message only. */
function describeCause(cause: string): string {
  try {
    const c = JSON.parse(cause) as { errorMessage?: string };
    if (typeof c.errorMessage === 'string') return c.errorMessage;
  } catch {
    /* a plain message */
  }
  return cause;
}

export interface RunSummary {
  runId: string;
  asAt: string;
  status: 'ok' | 'failed';
  manifestKey: string;
  [k: string]: unknown;
}

export async function finaliseRun(
  deps: ControlDeps,
  event: unknown,
  stageOrder: readonly string[],
): Promise<RunSummary> {
  const state = parseOrThrow(runStateSchema, event, 'finalise: run state');
  const finished = await updateManifest(deps, state, 'ok', stageOrder);
  // the release: the staged set becomes the published folder, or waits for IG's sign-off (pipelines/release/)
  await recoverRelease(deps.stores, finished.asAt);
  // every output with its SHA-256 (in the published copy of the manifest too): a later "already done" is checked against them
  const outputs = await recordRunOutputs(deps.stores, finished, !requireSignoffOf(finished.config.value));
  const m = await releaseFinishedRun({ stores: deps.stores, writeManifest }, { ...finished, outputs });
  // the lock goes once the release is done (no other run of the date promotes meanwhile)
  await releaseLockOf(deps, state, m.asAt);
  deps.log.info('run finished', {
    runId: m.runId,
    asAt: m.asAt,
    status: m.status,
    release: m.release?.state ?? 'none',
  });
  return {
    runId: m.runId,
    asAt: m.asAt,
    status: 'ok',
    release: m.release?.state ?? 'none',
    manifestKey: m.release?.state === 'released' ? keys.manifest(m.asAt) : keys.runManifest(m.asAt, m.runId),
  };
}

export async function recordRunFailure(
  deps: ControlDeps,
  event: unknown,
  stageOrder: readonly string[],
): Promise<RunSummary> {
  const state = parseOrThrow(runStateSchema, event, 'record-failure: run state');
  const failed = await updateManifest(deps, state, 'failed', stageOrder);
  // nothing of a failed run is released: the published folder keeps its previous set; what was staged stays in the secure zone for IG
  const staged = await hasStagedSet(deps.stores.secure, failed.asAt, failed.runId).catch(() => false);
  const m: Manifest = {
    ...failed,
    release: {
      state: 'not-released',
      at: failed.finishedAt ?? new Date().toISOString(),
      ...(staged ? { staged: `${deps.stores.secure.location}/${keys.stagingPrefix(failed.asAt, failed.runId)}` } : {}),
    },
  };
  await writeManifest(deps.stores.outputs, m);
  await releaseLockOf(deps, state, m.asAt);
  deps.log.error('run failed', {
    runId: m.runId,
    asAt: m.asAt,
    stage: m.error?.stage ?? 'unknown',
    error: m.error?.error ?? 'Error',
  });
  return { runId: m.runId, asAt: m.asAt, status: 'failed', manifestKey: keys.runManifest(m.asAt, m.runId) };
}

// ---- the previous run (pipelines/history.ts says how runs know their past) ----------------------------------

export interface PreviousRun {
  asAt: string;
  runId: string;
}

const LIVE_MANIFEST = /^as_at=(\d{4}-\d{2}-\d{2})\/manifest\.json$/;

/** As-at dates with a manifest under the outputs root, oldest first. */
export async function runDates(outputs: ObjectStore): Promise<string[]> {
  const dates: string[] = [];
  for (const o of await outputs.list('as_at=')) {
    const m = LIVE_MANIFEST.exec(o.key);
    if (m) dates.push(m[1]!);
  }
  return dates.sort();
}

/** The latest run before asAt that completed, or null (a first run). */
export async function latestCompletedBefore(outputs: ObjectStore, asAt: string): Promise<PreviousRun | null> {
  const dates = (await runDates(outputs)).filter((d) => d < asAt).reverse();
  for (const d of dates) {
    const m = await readManifest(outputs, d).catch(() => undefined);
    if (m?.status === 'ok') return { asAt: d, runId: m.runId };
  }
  return null;
}
