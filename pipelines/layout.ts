/**
 * Where everything lives. One place, so stages, reports, the CDK stack's IAM prefixes and the docs agree.
 *
 * Zones (local: sub-directories of --out; AWS: one bucket each):
 *   landing  provider extracts:      <source>/<feed>/dt=<extract date>/<file>.csv   (local: --landing)
 *   secure   secure match zone:      clear quasi-identifiers, quarantined rows, review samples
 *   curated  pseudonymous tables:    <table>/as_at=<date>/part-00000.parquet          (Glue/Athena tables)
 *   outputs  published outputs:      as_at=<date>/{_CURRENT.json, manifest.json, target-lists/, start-well/, back-test/,
 *                                    supporting-families/, match-audit/}
 *                                    (one complete released set per date: see pipelines/release/ and docs/governance.md)
 *                                    _locks/as_at=<date>/run-lock.<generation>.json (one run per as-at date at a time)
 *            run state:              _runs/as_at=<date>/<run id>/manifest.json, _runs/as_at=<date>/last-run.json
 *   secure   a run's staged outputs: as_at=<date>/staging/<run id>/... (not released until scanned, audited, signed off)
 */
import { isShardedStage } from './stages/names.ts';
export const ZONES = ['landing', 'secure', 'curated', 'outputs'] as const;
export type Zone = (typeof ZONES)[number];

/** Curated (pseudonymous) tables: no clear identifier may appear in any of them. */
export const CURATED_TABLES = [
  'records', //        record_id, source, feed, source_person_ref, extract_date, person_id (no names/DOB/address)
  'facts', //          see models/facts.ts, with person_id
  'relationships', //  see matching/records.ts RelationshipRecord
  'pairs', //          record_id_l, record_id_r, match_weight, match_probability, match_key
  'links', //          pairs accepted into persons
  'persons', //        person_id, record count, sources
  'families', //       family_id, locality, ward, ...
  'family_members', // family_id, person_id, role, evidence
  'scores', //         family_id, score, tier, reasons
  'id_lineage', //     entity (person|family), id, kind (kept|new|merge|split|retired), since, from_ids, to_ids: part 0 persons (match), part 1 families
] as const;
export type CuratedTable = (typeof CURATED_TABLES)[number];

/** The secure zone's person records for an as-at date (clear quasi-identifiers: secure only): keys.secure(asAt, PERSON_RECORDS_KEY). */
export const PERSON_RECORDS_KEY = 'person-records.parquet';

/** Secure-zone files named once here: stages build them with `keys.secure(asAt, ...)`, the stack grants them. */
export const PERSON_DOBS_KEY = 'families/person-dobs.parquet';
export const MATCH_REVIEW_SAMPLE_KEY = 'match/review-sample.json';
/** The clerical review's folder in the secure zone (pipelines/review/files.ts names its files). */
export const REVIEW_DIR = 'review';
/** Locality lookups uploaded to landing (when not bundled with the code): landing `lookups/<file>`. */
export const LOOKUPS_PREFIX = 'lookups/';
/** Run locks (outputs zone): control objects of the run state machine, never published. */
export const RUN_LOCKS_DIR = '_locks/';
/** The backfill state machine's Distributed Map results (outputs zone): control objects, never published. */
export const BACKFILL_RESULTS_DIR = 'backfills/';
/** Outputs-zone folders that hold control objects, not a run's outputs. */
export const CONTROL_DIRS = [RUN_LOCKS_DIR, BACKFILL_RESULTS_DIR] as const;
/** The published target lists of an as-at date: keys.output(asAt, TARGET_LISTS_DIR + file). */
export const TARGET_LISTS_DIR = 'target-lists/';

/** The run manifests as JSON lines (outputs zone), one object per run, for the Glue table run_manifests. */
export const MANIFEST_LINES_ROOT = 'run_manifests/';

export const keys = {
  landingPrefix: (source: string, feed: string) => `${source}/${feed}/`,
  lookup: (file: string) => `${LOOKUPS_PREFIX}${file}`,
  validated: (asAt: string, source: string, feed: string) => `as_at=${asAt}/validated/${source}/${feed}/`,
  feedCounts: (asAt: string, source: string, feed: string) => `as_at=${asAt}/validated/${source}/${feed}/_counts.json`,
  matchModel: (asAt: string) => `match/as_at=${asAt}/model.json`,
  matchClustering: (asAt: string) => `match/as_at=${asAt}/clustering.json`,
  /** The files of a locality's target list (`base`: the locality's file name), under keys.output(asAt, TARGET_LISTS_DIR). */
  targetListFiles: (base: string) => ({
    csv: `${base}.csv`,
    xlsx: `${base}.xlsx`,
    statutoryCsv: `${base} - open to statutory services.csv`,
    html: `${base}.html`,
  }),
  curated: (table: CuratedTable, asAt: string) => `${table}/as_at=${asAt}/part-00000.parquet`,
  /** A table written in parts by several stages (id_lineage): part n of the as-at partition. */
  curatedPart: (table: CuratedTable, asAt: string, part: number) =>
    `${table}/as_at=${asAt}/part-${String(part).padStart(5, '0')}.parquet`,
  secure: (asAt: string, name: string) => `as_at=${asAt}/${name}`,
  quarantine: (asAt: string, source: string, feed: string, file: string) =>
    `as_at=${asAt}/quarantine/${source}/${feed}/${file}`,
  output: (asAt: string, name: string) => `as_at=${asAt}/${name}`,
  /** The released set's manifest (the live one: the run whose outputs are published for the date). */
  manifest: (asAt: string) => `as_at=${asAt}/manifest.json`,
  /** The run locks of an as-at date (outputs zone): one object per holder generation (pipelines/io/run-lock.ts). */
  runLockPrefix: (asAt: string) => `${RUN_LOCKS_DIR}as_at=${asAt}/`,
  runLock: (asAt: string, generation: number) =>
    `${RUN_LOCKS_DIR}as_at=${asAt}/run-lock.${String(generation).padStart(6, '0')}.json`,
  /** A run's own manifest (its state while it runs, and after it failed or awaits sign-off), in the outputs zone. */
  runManifest: (asAt: string, runId: string) => `_runs/as_at=${asAt}/${runId}/manifest.json`,
  /** The run's manifest as one JSON line (the Glue table run_manifests reads these; rewritten with the manifest). */
  manifestLine: (asAt: string, runId: string) => `${MANIFEST_LINES_ROOT}as_at=${asAt}/${runId}.json`,
  /** The id of the run last prepared for the date (outputs zone): where `run` finds the manifest of a failed run. */
  lastRun: (asAt: string) => `_runs/as_at=${asAt}/last-run.json`,
  /** The release marker in the outputs zone: which run's set is live for the date, and each file's SHA-256. */
  current: (asAt: string) => `as_at=${asAt}/_CURRENT.json`,
  /** The published folder for a date, in the outputs zone. */
  releasePrefix: (asAt: string) => `as_at=${asAt}/`,
  /** A run's staged outputs, in the secure zone (`name` relative to the published folder, e.g. target-lists/index.html). */
  staged: (asAt: string, runId: string, name: string) => `as_at=${asAt}/staging/${runId}/${name}`,
  stagingPrefix: (asAt: string, runId: string) => `as_at=${asAt}/staging/${runId}/`,
  /** The partnership's key for ref pseudonyms, in the secure zone (no as-at date: kept across runs; privacy/refs.ts). */
  refKey: 'keys/ref-pseudonym.key',
  /** The lookup table of an as-at date's pseudonymised refs (pseudonym -> source, feed, column, clear ref), secure zone. */
  refLookup: (asAt: string) => `as_at=${asAt}/ref-pseudonyms.jsonl`,
};

/** YYYY-MM-DD, a real calendar date. */
export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

// ---- who reads and writes what: the one table the stack's IAM is derived from ----------------------------

/**
 * What one task does in one zone. Patterns are keys built with `keys` above, with `*` for what is known only at
 * run time (the as-at date, a source, a feed, a file); a pattern ending in `/` covers every key under it.
 * The stack turns each into IAM (infra/stage-access.ts); test/infra/policy-replay.test.ts replays a whole run's
 * requests against the synthesized policies, so a key a stage uses and this table cannot drift apart silently.
 */
export interface ZoneUse {
  /** GetObject / HeadObject. */
  read?: string[];
  /** ListObjectsV2 with a prefix matching one of these. */
  list?: string[];
  /** PutObject (single or multipart). */
  write?: string[];
  /** DeleteObject. */
  delete?: string[];
  /**
   * The task routinely checks keys that may be absent (a new date's manifest, an optional review estimate):
   * s3:ListBucket on the whole bucket, so S3 answers 404 rather than 403 (key names only, never contents).
   */
  checksMissing?: boolean;
}
export type TaskData = Partial<Record<Zone, ZoneUse>>;

const D = '*';
const MANIFEST = keys.manifest(D);
const curatedTable = (t: CuratedTable) => `${t}/as_at=${D}/`;
/** A run's own manifest and state (outputs _runs/): every task reads its config there. */
const RUNS = '_runs/';
const manifestRead: TaskData = { outputs: { read: [MANIFEST, RUNS] } };
const STAGING = keys.stagingPrefix(D, D);
/** The staging folder itself (finalise's promotion marker _promoting.json lives there, beside the runs' sets). */
const STAGING_ROOT = keys.secure(D, 'staging/');
const MATCH_SHARDS = keys.secure(D, 'match/shards/');
/** Every quarantined row of a date (the privacy scan and the ref check index the people they name). */
const QUARANTINE = keys.secure(D, 'quarantine/');
/** The run lock (pipelines/io/run-lock.ts): prepare takes it, finalise / record-failure release it. */
const RUN_LOCKS = keys.runLockPrefix(D);
/** Every run manifest is written twice: pretty under _runs/ and as one JSON line under run_manifests/ (Glue). */
const manifestAndLock: ZoneUse = {
  read: [MANIFEST, RUNS, RUN_LOCKS],
  list: [RUN_LOCKS, RUNS],
  write: [RUNS, MANIFEST_LINES_ROOT, RUN_LOCKS],
  delete: [RUN_LOCKS],
};
const lookups: ZoneUse = { read: [LOOKUPS_PREFIX], list: [LOOKUPS_PREFIX] };
/** Leads' contact outcomes (pipelines/outcomes/store.ts), kept in the secure zone across runs. */
const OUTCOMES = 'outcomes/';

/** A run's stage records (pipelines/stage-records.ts): `_runs/as_at=D/<run id>/stages/<stage>/<invocation>.json`. */
const STAGE_RECORDS = `${RUNS}as_at=${D}/${D}/stages/`;
/** Everything of a date in the secure zone (listed, never read, for "already done"), and every curated object of a date. */
const SECURE_DATE = keys.secure(D, '');
const CURATED_ALL = [...CURATED_TABLES.map(curatedTable), keys.matchModel(D), keys.matchClustering(D)];

/**
 * A stage with stage records: it reads the run's records, reads back what it writes (its record's SHA-256 are
 * checked before it is reused) and writes its own record when it finishes.
 */
function withStageRecords(data: TaskData): TaskData {
  const out: TaskData = { ...data };
  for (const [zone, use] of Object.entries(data) as Array<[Zone, ZoneUse]>) {
    if (use.write?.length) out[zone] = { ...use, read: [...new Set([...(use.read ?? []), ...use.write])] };
  }
  const o = out.outputs ?? {};
  out.outputs = {
    ...o,
    read: [...new Set([...(o.read ?? []), STAGE_RECORDS])],
    list: [...new Set([...(o.list ?? []), STAGE_RECORDS])],
    write: [...new Set([...(o.write ?? []), STAGE_RECORDS])],
  };
  return out;
}

const STAGE_DATA: Record<string, TaskData> = {
  validate: {
    ...manifestRead,
    landing: { read: [keys.landingPrefix(D, D)], list: [keys.landingPrefix(D, D)] },
    secure: {
      list: [keys.validated(D, D, D), keys.quarantine(D, D, D, '')],
      write: [keys.validated(D, D, D), keys.quarantine(D, D, D, '')],
      delete: [keys.validated(D, D, D), keys.quarantine(D, D, D, '')],
    },
  },
  standardise: {
    ...manifestRead,
    // refs that carry an identifier get keyed pseudonyms (privacy/refs.ts): the quarantine is searched too, the key kept (put-if-absent), the lookup written
    secure: {
      read: [keys.validated(D, D, D), keys.secure(D, PERSON_RECORDS_KEY), QUARANTINE, keys.refKey],
      list: [QUARANTINE, keys.refKey],
      write: [keys.secure(D, PERSON_RECORDS_KEY), keys.refLookup(D), keys.refKey],
      // the ref key is absent until the first run makes it
      checksMissing: true,
    },
    curated: { write: [curatedTable('records'), curatedTable('facts'), curatedTable('relationships')] },
  },
  match: {
    ...manifestRead,
    // the clerical labels review import wrote (linkage.labelledPairs; by default this date's, absent until a review)
    secure: {
      read: [keys.secure(D, PERSON_RECORDS_KEY), keys.secure(D, `${REVIEW_DIR}/labelled-pairs.csv`), MATCH_SHARDS],
      list: [MATCH_SHARDS],
      write: [keys.secure(D, MATCH_REVIEW_SAMPLE_KEY), MATCH_SHARDS],
      delete: [MATCH_SHARDS],
      checksMissing: true,
    },
    curated: {
      // persons/ and id_lineage/ of the previous run: its person ids carry over (pipelines/stages/lineage.ts)
      read: [curatedTable('relationships'), curatedTable('persons'), curatedTable('id_lineage')],
      write: [
        curatedTable('persons'),
        curatedTable('pairs'),
        curatedTable('links'),
        keys.matchModel(D),
        keys.matchClustering(D),
        curatedTable('id_lineage'),
      ],
      checksMissing: true,
    },
  },
  families: {
    ...manifestRead,
    landing: lookups,
    secure: { read: [keys.secure(D, PERSON_RECORDS_KEY)], write: [keys.secure(D, PERSON_DOBS_KEY)] },
    // family_members/ and id_lineage/ of the previous run: its family ids carry over
    curated: {
      read: [
        curatedTable('persons'),
        curatedTable('relationships'),
        curatedTable('facts'),
        curatedTable('family_members'),
        curatedTable('id_lineage'),
      ],
      write: [curatedTable('families'), curatedTable('family_members'), curatedTable('id_lineage')],
      checksMissing: true,
    },
  },
  stratify: {
    ...manifestRead,
    // the feed counts: which headline feeds this run received (stages/headline-coverage.ts)
    secure: { read: [keys.secure(D, PERSON_DOBS_KEY), keys.feedCounts(D, D, D)] },
    curated: {
      read: [curatedTable('facts'), curatedTable('family_members'), curatedTable('persons')],
      write: [curatedTable('scores')],
    },
  },
  publish: {
    // the secure zone: only what the match audit and its privacy scan compare against (never the whole zone)
    landing: lookups,
    secure: {
      // and its own staged outputs, which the privacy scan reads back before anything is released
      // and the leads' outcomes (target lists mark and suppress families by them)
      read: [
        keys.secure(D, PERSON_RECORDS_KEY),
        keys.secure(D, PERSON_DOBS_KEY),
        keys.secure(D, MATCH_REVIEW_SAMPLE_KEY),
        keys.secure(D, `${REVIEW_DIR}/estimate.json`),
        keys.feedCounts(D, D, D),
        QUARANTINE,
        STAGING,
        OUTCOMES,
      ],
      list: [keys.secure(D, 'validated/'), QUARANTINE, STAGING, OUTCOMES],
      // every output is staged in the secure zone until finalise releases it
      write: [STAGING],
      checksMissing: true,
    },
    // the privacy scan lists every published and curated object of the run (the pseudonymous zones)
    curated: { read: [...CURATED_TABLES.map(curatedTable), keys.matchModel(D), keys.matchClustering(D)], list: [''] },
    outputs: {
      read: [keys.output(D, ''), RUNS],
      list: [''],
    },
  },
};

/**
 * A sharded stage (stages/names.ts SHARDED_STAGES): its plan, shards and merge use the stage's shard folder in the
 * secure zone (`as_at=D/<stage>/shards/<run id>/`, pipelines/stages/sharding.ts): written, read, listed, removed.
 */
function withShardFolder(stage: string, data: TaskData): TaskData {
  if (!isShardedStage(stage)) return data;
  const folder = keys.secure(D, `${stage}/shards/`);
  const s = data.secure ?? {};
  const add = (xs: string[] | undefined) => [...new Set([...(xs ?? []), folder])];
  return {
    ...data,
    secure: { ...s, read: add(s.read), list: add(s.list), write: add(s.write), delete: add(s.delete) },
  };
}

export const TASK_DATA: Record<string, TaskData> = {
  ...Object.fromEntries(
    Object.entries(STAGE_DATA).map(([task, data]) => [task, withStageRecords(withShardFolder(task, data))]),
  ),
  // "already done": the outputs a finished run recorded are checked again (curated and published by SHA-256, the
  // secure zone by listing: key and size, never its clear contents); --force removes the run's stage records
  prepare: {
    landing: { read: [''], list: [''] },
    outputs: {
      ...manifestAndLock,
      read: [...manifestAndLock.read!, keys.output(D, '')],
      delete: [...manifestAndLock.delete!, STAGE_RECORDS],
      checksMissing: true,
    },
    secure: { list: [SECURE_DATE] },
    curated: { read: CURATED_ALL, checksMissing: true },
  },
  // the release: the staged set (secure) is copied into the published folder (outputs), then its staging deleted
  // (a first release has no _CURRENT.json, a promotion with nothing to recover no _promoting.json: checked, so 404)
  finalise: {
    outputs: {
      ...manifestAndLock,
      read: [...manifestAndLock.read!, keys.output(D, '')],
      write: [...manifestAndLock.write!, keys.output(D, '')],
      list: [...manifestAndLock.list!, keys.output(D, '')],
      checksMissing: true,
    },
    secure: {
      read: [STAGING_ROOT],
      list: [STAGING_ROOT],
      write: [STAGING_ROOT],
      delete: [STAGING_ROOT],
      checksMissing: true,
    },
  },
  'record-failure': { outputs: manifestAndLock, secure: { read: [STAGING], list: [STAGING], delete: [STAGING] } },
  'backfill-plan': {},
};
