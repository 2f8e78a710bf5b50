/**
 * What each function may read and write, by zone and key prefix (pipelines/layout.ts). The stack turns this
 * into least-privilege IAM: s3:GetObject / PutObject / DeleteObject on exactly these prefixes, s3:ListBucket
 * only with an s3:prefix condition, and the KMS key only for what those calls need.
 * `*` in a prefix is the as-at partition (`as_at=*`) or a table's partitions.
 */
import type { Zone } from '../pipelines/layout.ts';

export interface Access {
  read?: Partial<Record<Zone, string[]>>;
  write?: Partial<Record<Zone, string[]>>;
  /** Runs report SQL on Athena (workgroup, Glue catalog, curated read, results bucket). */
  athena?: boolean;
}

/** The run's own manifest (its state and config) and the published one (already-done check). */
const RUN_MANIFEST = '_runs/as_at=*/';
const MANIFEST = 'as_at=*/manifest.json';
/** The run locks (pipelines/io/run-lock.ts): taken by prepare, released by finalise / record-failure. */
const RUN_LOCKS = '_locks/';
/** A run's staged outputs (secure zone) until it is released; the published folder (outputs zone). */
const STAGING = 'as_at=*/staging/';
const PUBLISHED = 'as_at=*/';

export const FUNCTION_ACCESS: Record<string, Access> = {
  prepare: { read: { landing: [''], outputs: [MANIFEST, RUN_MANIFEST, RUN_LOCKS] }, write: { outputs: [RUN_MANIFEST, RUN_LOCKS] } },
  validate: {
    read: { landing: [''], outputs: [RUN_MANIFEST, MANIFEST], secure: ['as_at=*/validated/', 'as_at=*/quarantine/'] },
    write: { secure: ['as_at=*/validated/', 'as_at=*/quarantine/'] },
  },
  standardise: {
    read: { secure: ['as_at=*/validated/', 'as_at=*/standardise/'], outputs: [RUN_MANIFEST, MANIFEST], landing: [''] },
    write: { secure: ['as_at=*/person-records.parquet', 'as_at=*/standardise/'], curated: ['records/', 'facts/', 'relationships/'] },
  },
  match: {
    read: { secure: ['as_at=*/person-records.parquet', 'as_at=*/match/'], curated: ['records/', 'match/'], outputs: [RUN_MANIFEST, MANIFEST] },
    write: { secure: ['as_at=*/match/'], curated: ['pairs/', 'links/', 'persons/', 'match/'] },
  },
  families: {
    read: { secure: ['as_at=*/person-records.parquet', 'as_at=*/families/'], curated: ['persons/', 'relationships/', 'facts/', 'records/'], outputs: [RUN_MANIFEST, MANIFEST] },
    write: { secure: ['as_at=*/families/'], curated: ['families/', 'family_members/'] },
  },
  stratify: {
    read: { secure: ['as_at=*/families/'], curated: ['families/', 'family_members/', 'persons/', 'facts/', 'records/'], outputs: [RUN_MANIFEST, MANIFEST] },
    write: { curated: ['scores/'] },
  },
  publish: {
    // the match audit's privacy scan compares published outputs against the secure zone's quasi-identifiers
    read: { secure: ['as_at=*/'], curated: [''], outputs: [''] },
    // every output goes to the run's staging in the secure zone; nothing is written to the published folder
    write: { secure: ['as_at=*/review/', 'as_at=*/publish/', STAGING] },
    athena: true,
  },
  // the release: the staged set (secure) is copied into the published folder (outputs), then its staging deleted
  finalise: { read: { outputs: [RUN_MANIFEST, PUBLISHED, RUN_LOCKS], secure: [STAGING] }, write: { outputs: [RUN_MANIFEST, PUBLISHED, RUN_LOCKS], secure: [STAGING] } },
  'record-failure': { read: { outputs: [RUN_MANIFEST, RUN_LOCKS], secure: [STAGING] }, write: { outputs: [RUN_MANIFEST, RUN_LOCKS] } },
  'backfill-plan': {},
};
