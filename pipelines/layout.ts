/**
 * Where everything lives. One place, so stages, reports, the CDK stack's IAM prefixes and the docs agree.
 *
 * Zones (local: sub-directories of --out; AWS: one bucket each):
 *   landing  provider extracts:      <source>/<feed>/dt=<extract date>/<file>.csv   (local: --landing)
 *   secure   secure match zone:      clear quasi-identifiers, quarantined rows, review samples
 *   curated  pseudonymous tables:    <table>/as_at=<date>/part-00000.parquet          (Glue/Athena tables)
 *   outputs  published outputs:      as_at=<date>/{_CURRENT.json, manifest.json, target-lists/, start-well/, match-audit/}
 *                                    (one complete released set per date: see pipelines/release/ and docs/governance.md)
 *                                    _locks/as_at=<date>/run-lock.<generation>.json (one run per as-at date at a time)
 *            run state:              _runs/as_at=<date>/<run id>/manifest.json, _runs/as_at=<date>/last-run.json
 *   secure   a run's staged outputs: as_at=<date>/staging/<run id>/... (not released until scanned, audited, signed off)
 */
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
] as const;
export type CuratedTable = (typeof CURATED_TABLES)[number];

/** The secure zone's person records for an as-at date (clear quasi-identifiers: secure only): keys.secure(asAt, PERSON_RECORDS_KEY). */
export const PERSON_RECORDS_KEY = 'person-records.parquet';

export const keys = {
  landingPrefix: (source: string, feed: string) => `${source}/${feed}/`,
  curated: (table: CuratedTable, asAt: string) => `${table}/as_at=${asAt}/part-00000.parquet`,
  secure: (asAt: string, name: string) => `as_at=${asAt}/${name}`,
  quarantine: (asAt: string, source: string, feed: string, file: string) => `as_at=${asAt}/quarantine/${source}/${feed}/${file}`,
  output: (asAt: string, name: string) => `as_at=${asAt}/${name}`,
  /** The released set's manifest (the live one: the run whose outputs are published for the date). */
  manifest: (asAt: string) => `as_at=${asAt}/manifest.json`,
  /** The run locks of an as-at date (outputs zone): one object per holder generation (pipelines/io/run-lock.ts). */
  runLockPrefix: (asAt: string) => `_locks/as_at=${asAt}/`,
  runLock: (asAt: string, generation: number) => `_locks/as_at=${asAt}/run-lock.${String(generation).padStart(6, '0')}.json`,
  /** A run's own manifest (its state while it runs, and after it failed or awaits sign-off), in the outputs zone. */
  runManifest: (asAt: string, runId: string) => `_runs/as_at=${asAt}/${runId}/manifest.json`,
  /** The id of the run last prepared for the date (outputs zone): where `run` finds the manifest of a failed run. */
  lastRun: (asAt: string) => `_runs/as_at=${asAt}/last-run.json`,
  /** The release marker in the outputs zone: which run's set is live for the date, and each file's SHA-256. */
  current: (asAt: string) => `as_at=${asAt}/_CURRENT.json`,
  /** The published folder for a date, in the outputs zone. */
  releasePrefix: (asAt: string) => `as_at=${asAt}/`,
  /** A run's staged outputs, in the secure zone (`name` relative to the published folder, e.g. target-lists/index.html). */
  staged: (asAt: string, runId: string, name: string) => `as_at=${asAt}/staging/${runId}/${name}`,
  stagingPrefix: (asAt: string, runId: string) => `as_at=${asAt}/staging/${runId}/`,
};

/** YYYY-MM-DD, a real calendar date. */
export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}
