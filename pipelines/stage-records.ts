/**
 * Resume, not redo, and "already done" verified. Every stage invocation that finishes writes a stage record
 * (outputs zone, `_runs/as_at=D/<run id>/stages/<stage>/<invocation>.json`): the result it returned, the SHA-256
 * of every object it wrote (seen through its stores, plus the prefixes a stage writes from a worker thread), what
 * it deleted, and a digest of the records of the stages before it. A later execution of the same run (same run id:
 * same as-at date, inputs and config) reuses an invocation's record instead of running it when
 *  - it was made by the same code version,
 *  - the stages before it left the same outputs (the upstream digest matches), and
 *  - every object it wrote is still there byte for byte (or was consumed, deleted, by a later invocation of the
 *    same stage whose record is itself reusable: the match stage's shard files).
 * Otherwise the invocation runs again, and says why. A killed run thus resumes at the first invocation whose
 * outputs are incomplete; a corrupted table re-runs the stage that wrote it and every stage after it.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ObjectStore } from './io/object-store.ts';
import { keys, type Zone } from './layout.ts';
import { PIPELINE_STAGE_NAMES } from './stages/stage.ts';

export type OutputZone = Exclude<Zone, 'landing'>;
export const OUTPUT_ZONES: readonly OutputZone[] = ['secure', 'curated', 'outputs'];

export interface RecordedOutput {
  zone: OutputZone;
  key: string;
  sha256: string;
  bytes: number;
}

export interface StageRecordFile {
  recordVersion: 1;
  stage: string;
  invocation: string;
  codeVersion: string;
  recordedAt: string;
  /** The stage's result (counts and what later stages read), without timings. */
  result: Record<string, unknown>;
  outputs: RecordedOutput[];
  /** Objects this invocation deleted that an earlier invocation of the same stage wrote (consumed). */
  consumed: Array<{ zone: OutputZone; key: string }>;
  /** Digest of the outputs of the records this invocation depends on (earlier stages, earlier phases). */
  upstream: string;
}

/** Objects a stage writes without going through its stores (from a worker thread). */
const WRITTEN_ELSEWHERE: Partial<Record<string, (asAt: string) => Array<{ zone: OutputZone; prefix: string }>>> = {
  standardise: (asAt) => [{ zone: 'curated', prefix: `facts/as_at=${asAt}/` }],
};

/** A run's staged outputs (secure `as_at=D/staging/<run id>/`): promotion moves them to the published folder. */
const STAGED = /^secure\/as_at=[^/]+\/staging\//;

/** A sharded stage's phases in order (pipelines/stages/stage.ts; `link`: the match stage's older name for merge). */
const PHASE_RANK: Record<string, number> = { plan: 0, shard: 1, merge: 2, link: 2 };

export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The invocation's id: its stage and input (timings and resume notes already stripped). */
export function invocationId(stage: string, input: unknown): string {
  return sha(`${stage}\n${stableJson(input ?? {})}`).slice(0, 20);
}

export function phaseRankOf(input: unknown): number {
  const phase = input && typeof input === 'object' ? (input as { phase?: unknown }).phase : undefined;
  return typeof phase === 'string' ? (PHASE_RANK[phase] ?? 0) : 0;
}

export async function hashObject(store: ObjectStore, key: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await store.getStream(key)) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

export interface OutputCheck {
  checked: number;
  /** `<zone>/<key>` of recorded outputs no longer there. */
  missing: string[];
  /** `<zone>/<key>` of recorded outputs whose bytes differ from the recorded SHA-256. */
  changed: string[];
}

/**
 * Checks recorded outputs again, byte for byte (never from a cache: a corrupted file of the same size must show).
 * Zones in `bySize` are checked by listing only (the key is there with the recorded size): prepare's "already done"
 * does not read the secure zone's clear values; the stages that wrote them check their SHA-256 before reuse.
 */
export async function verifyOutputs(
  stores: Record<OutputZone, ObjectStore>,
  recorded: readonly RecordedOutput[],
  bySize: ReadonlySet<OutputZone> = new Set(),
): Promise<OutputCheck> {
  const missing: string[] = [];
  const changed: string[] = [];
  for (const r of recorded) {
    const store = stores[r.zone];
    if (bySize.has(r.zone)) {
      const listed = (await store.list(r.key)).find((o) => o.key === r.key);
      if (!listed) missing.push(`${r.zone}/${r.key}`);
      else if (listed.size !== r.bytes) changed.push(`${r.zone}/${r.key}`);
    } else if (!(await store.exists(r.key))) missing.push(`${r.zone}/${r.key}`);
    else if ((await hashObject(store, r.key)).sha256 !== r.sha256) changed.push(`${r.zone}/${r.key}`);
  }
  return { checked: recorded.length, missing, changed };
}

// ---- watching what a stage writes --------------------------------------------------------------------

export interface WriteLog {
  written: Map<string, { zone: OutputZone; key: string }>;
  deleted: Map<string, { zone: OutputZone; key: string }>;
}

/**
 * The stage's stores, watched: every put and delete is noted. The watched store inherits from the real one
 * (Object.create), so `instanceof LocalObjectStore` and its fields still answer as before.
 */
export function watchedStores<S extends Record<Zone, ObjectStore>>(stores: S): { stores: S; log: WriteLog } {
  const log: WriteLog = { written: new Map(), deleted: new Map() };
  const out = { ...stores };
  for (const zone of OUTPUT_ZONES) {
    const inner = stores[zone];
    const id = (key: string) => `${zone}\u0000${key}`;
    const w = Object.create(inner) as ObjectStore & Record<string, unknown>;
    w.put = async (key: string, body: Buffer | string | Readable) => {
      await inner.put(key, body);
      log.written.set(id(key), { zone, key });
      log.deleted.delete(id(key));
    };
    // putIfAbsent is not watched: what it makes is shared by every run (the ref pseudonym key), not a run's output
    w.delete = async (key: string) => {
      await inner.delete(key);
      if (log.written.delete(id(key))) return; // written and removed again within the invocation: a temporary
      log.deleted.set(id(key), { zone, key });
    };
    (out as Record<Zone, ObjectStore>)[zone] = w;
  }
  return { stores: out, log };
}

// ---- records ------------------------------------------------------------------------------------------

const recordsPrefix = (asAt: string, runId: string) =>
  `${keys.runManifest(asAt, runId).replace(/manifest\.json$/, '')}stages/`;
export const stageRecordKey = (asAt: string, runId: string, stage: string, invocation: string) =>
  `${recordsPrefix(asAt, runId)}${stage}/${invocation}.json`;

export async function readStageRecords(outputs: ObjectStore, asAt: string, runId: string): Promise<StageRecordFile[]> {
  const out: StageRecordFile[] = [];
  for (const o of await outputs.list(recordsPrefix(asAt, runId))) {
    if (!o.key.endsWith('.json')) continue;
    try {
      out.push(JSON.parse((await outputs.get(o.key)).toString('utf8')) as StageRecordFile);
    } catch {
      /* a record that does not parse is no record: the invocation runs again */
    }
  }
  return out;
}

/** Removes a run's stage records (`--force`: everything runs again). */
export async function clearStageRecords(outputs: ObjectStore, asAt: string, runId: string): Promise<number> {
  const listed = await outputs.list(recordsPrefix(asAt, runId));
  for (const o of listed) await outputs.delete(o.key);
  return listed.length;
}

const outputsDigest = (r: Pick<StageRecordFile, 'outputs'>) =>
  sha(
    r.outputs
      .map((o) => `${o.zone}/${o.key} ${o.sha256}`)
      .sort()
      .join('\n'),
  );

/** The records `stage` (at phase rank `rank`) depends on: every earlier stage's, and its own earlier phases'. */
function upstreamOf(records: readonly StageRecordFile[], stage: string, rank: number): StageRecordFile[] {
  const order = PIPELINE_STAGE_NAMES as readonly string[];
  const at = order.indexOf(stage);
  return records.filter((r) => {
    const i = order.indexOf(r.stage);
    if (r.stage === stage) return rankOfRecord(r) < rank;
    return at < 0 || i < 0 ? false : i < at;
  });
}

const rankOfRecord = (r: StageRecordFile) => phaseRankOf(r.result.__input);

export function upstreamDigest(records: readonly StageRecordFile[], stage: string, rank: number): string {
  return sha(
    upstreamOf(records, stage, rank)
      .map((r) => `${r.stage}/${r.invocation} ${outputsDigest(r)}`)
      .sort()
      .join('\n'),
  );
}

export interface ReuseDecision {
  reuse: boolean;
  /** Why it is reused, or why it runs again (absent: it never finished before). */
  why?: string;
  record?: StageRecordFile;
}

const list = (xs: string[], n = 3) =>
  `${xs.slice(0, n).join(', ')}${xs.length > n ? ` and ${xs.length - n} more` : ''}`;

/** Whether the invocation's record from an earlier execution of the run can stand for running it again. */
export async function decideReuse(
  stores: Record<OutputZone, ObjectStore>,
  records: readonly StageRecordFile[],
  at: { stage: string; invocation: string; rank: number; codeVersion: string; executionStartedAt?: string | undefined },
): Promise<ReuseDecision> {
  const { stage, invocation, codeVersion } = at;
  const record = records.find((r) => r.stage === stage && r.invocation === invocation);
  if (!record) {
    const earlier = at.executionStartedAt ? records.some((r) => r.recordedAt < at.executionStartedAt!) : false;
    return earlier ? { reuse: false, why: 'not finished by the earlier execution of this run' } : { reuse: false };
  }
  const verdict = await recordHolds(stores, records, record, codeVersion, new Map());
  return verdict === true
    ? { reuse: true, why: `outputs verified (${record.outputs.length} objects, SHA-256)`, record }
    : { reuse: false, why: verdict, record };
}

/** True, or why not. `verdicts` remembers each record's verdict (and breaks cycles: a record being checked does not hold). */
async function recordHolds(
  stores: Record<OutputZone, ObjectStore>,
  records: readonly StageRecordFile[],
  record: StageRecordFile,
  codeVersion: string,
  verdicts: Map<string, true | string>,
): Promise<true | string> {
  const id = `${record.stage}/${record.invocation}`;
  const known = verdicts.get(id);
  if (known !== undefined) return known;
  verdicts.set(id, 'being checked');
  const verdict = await checkRecord(stores, records, record, codeVersion, verdicts);
  verdicts.set(id, verdict);
  return verdict;
}

async function checkRecord(
  stores: Record<OutputZone, ObjectStore>,
  records: readonly StageRecordFile[],
  record: StageRecordFile,
  codeVersion: string,
  verdicts: Map<string, true | string>,
): Promise<true | string> {
  if (record.codeVersion !== codeVersion) return `recorded by another code version (${record.codeVersion})`;
  if (record.upstream !== upstreamDigest(records, record.stage, rankOfRecord(record)))
    return 'an earlier stage left different outputs';
  const check = await verifyOutputs(stores, record.outputs);
  if (check.changed.length) return `outputs changed: ${list(check.changed)}`;
  const missing: string[] = [];
  for (const m of check.missing) {
    // consumed by a later invocation of the same stage (the match shards): fine if that one holds
    const by = records.find(
      (r) => r.stage === record.stage && r !== record && r.consumed.some((c) => `${c.zone}/${c.key}` === m),
    );
    if (by && (await recordHolds(stores, records, by, codeVersion, verdicts)) === true) continue;
    missing.push(m);
  }
  if (missing.length > 0 && missing.every((m) => STAGED.test(m)))
    return 'its staged set was released (moved to the published folder): staged again';
  return missing.length ? `outputs missing: ${list(missing)}` : true;
}

/** Hashes what the invocation wrote and records it (after the stage succeeded: a killed stage leaves no record). */
export async function writeStageRecord(
  stores: Record<OutputZone, ObjectStore>,
  at: { asAt: string; runId: string; stage: string; invocation: string; input: unknown; codeVersion: string },
  result: Record<string, unknown>,
  log: WriteLog,
): Promise<StageRecordFile> {
  const targets = new Map(log.written);
  for (const p of WRITTEN_ELSEWHERE[at.stage]?.(at.asAt) ?? []) {
    for (const o of await stores[p.zone].list(p.prefix))
      targets.set(`${p.zone}\u0000${o.key}`, { zone: p.zone, key: o.key });
  }
  const outputs: RecordedOutput[] = [];
  for (const t of [...targets.values()].sort((a, b) => (`${a.zone}/${a.key}` < `${b.zone}/${b.key}` ? -1 : 1))) {
    if (!(await stores[t.zone].exists(t.key))) continue;
    outputs.push({ ...t, ...(await hashObject(stores[t.zone], t.key)) });
  }
  const records = await readStageRecords(stores.outputs, at.asAt, at.runId);
  const rank = phaseRankOf(at.input);
  const record: StageRecordFile = {
    recordVersion: 1,
    stage: at.stage,
    invocation: at.invocation,
    codeVersion: at.codeVersion,
    recordedAt: new Date().toISOString(),
    result: { ...result, __input: at.input ?? {} },
    outputs,
    consumed: [...log.deleted.values()],
    upstream: upstreamDigest(
      records.filter((r) => !(r.stage === at.stage && r.invocation === at.invocation)),
      at.stage,
      rank,
    ),
  };
  await stores.outputs.put(stageRecordKey(at.asAt, at.runId, at.stage, at.invocation), `${JSON.stringify(record)}\n`);
  return record;
}

/** A recorded result as the stage returns it (the input it was recorded for left out). */
export function resultOf(record: StageRecordFile): Record<string, unknown> {
  const { __input: _i, ...rest } = record.result;
  return rest;
}
