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

const MANIFEST = 'as_at=*/manifest.json';
/** The run locks (pipelines/io/run-lock.ts): taken by prepare, released by finalise / record-failure. */
const RUN_LOCKS = '_locks/';

export const FUNCTION_ACCESS: Record<string, Access> = {
  prepare: { read: { landing: [''], outputs: [MANIFEST, RUN_LOCKS] }, write: { outputs: [MANIFEST, RUN_LOCKS] } },
  validate: {
    read: { landing: [''], outputs: [MANIFEST], secure: ['as_at=*/validated/', 'as_at=*/quarantine/'] },
    write: { secure: ['as_at=*/validated/', 'as_at=*/quarantine/'] },
  },
  standardise: {
    read: { secure: ['as_at=*/validated/', 'as_at=*/standardise/'], outputs: [MANIFEST], landing: [''] },
    write: { secure: ['as_at=*/person-records.parquet', 'as_at=*/standardise/'], curated: ['records/', 'facts/', 'relationships/'] },
  },
  match: {
    read: { secure: ['as_at=*/person-records.parquet', 'as_at=*/match/'], curated: ['records/', 'match/'], outputs: [MANIFEST] },
    write: { secure: ['as_at=*/match/'], curated: ['pairs/', 'links/', 'persons/', 'match/'] },
  },
  families: {
    read: { secure: ['as_at=*/person-records.parquet', 'as_at=*/families/'], curated: ['persons/', 'relationships/', 'facts/', 'records/'], outputs: [MANIFEST] },
    write: { secure: ['as_at=*/families/'], curated: ['families/', 'family_members/'] },
  },
  stratify: {
    read: { secure: ['as_at=*/families/'], curated: ['families/', 'family_members/', 'persons/', 'facts/', 'records/'], outputs: [MANIFEST] },
    write: { curated: ['scores/'] },
  },
  publish: {
    // the match audit's privacy scan compares published outputs against the secure zone's quasi-identifiers
    read: { secure: ['as_at=*/'], curated: [''], outputs: [''] },
    write: { outputs: ['as_at=*/'], secure: ['as_at=*/review/', 'as_at=*/publish/'] },
    athena: true,
  },
  finalise: { read: { outputs: [MANIFEST, RUN_LOCKS] }, write: { outputs: [MANIFEST, RUN_LOCKS] } },
  'record-failure': { read: { outputs: [MANIFEST, RUN_LOCKS] }, write: { outputs: [MANIFEST, RUN_LOCKS] } },
  'backfill-plan': {},
};
