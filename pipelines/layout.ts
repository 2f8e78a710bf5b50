/**
 * Where everything lives. One place, so stages, reports, the CDK stack's IAM prefixes and the docs agree.
 *
 * Zones (local: sub-directories of --out; AWS: one bucket each):
 *   landing  provider extracts:      <source>/<feed>/dt=<extract date>/<file>.csv   (local: --landing)
 *   secure   secure match zone:      clear quasi-identifiers, quarantined rows, review samples
 *   curated  pseudonymous tables:    <table>/as_at=<date>/part-00000.parquet          (Glue/Athena tables)
 *   outputs  published outputs:      as_at=<date>/{manifest.json, target-lists/, start-well/, match-audit/}
 *                                    _locks/as_at=<date>/run-lock.<generation>.json (one run per as-at date at a time)
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
  manifest: (asAt: string) => `as_at=${asAt}/manifest.json`,
  /** The run locks of an as-at date (outputs zone): one object per holder generation (pipelines/io/run-lock.ts). */
  runLockPrefix: (asAt: string) => `_locks/as_at=${asAt}/`,
  runLock: (asAt: string, generation: number) => `_locks/as_at=${asAt}/run-lock.${String(generation).padStart(6, '0')}.json`,
};

/** YYYY-MM-DD, a real calendar date. */
export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}
