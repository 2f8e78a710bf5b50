/**
 * Glue tables over the curated Parquet (one per curated table) and over the run manifests in the outputs
 * bucket, each partitioned by `as_at` with partition projection (no crawler, no MSCK REPAIR: a new as-at
 * date is queryable the moment its files land). Column lists follow the stages' Parquet schemas; a test
 * checks them against the Parquet files a local run writes. Dates the stages write as ISO text stay `string`. The `as_at` data column some stages also write
 * is the partition key here, so it is not repeated among the columns.
 */
import type { CuratedTable } from '../pipelines/layout.ts';

export type GlueType = 'string' | 'int' | 'bigint' | 'double' | 'boolean' | 'date' | 'array<string>';
export interface GlueColumn { name: string; type: GlueType }

const c = (name: string, type: GlueType = 'string'): GlueColumn => ({ name, type });

export const CURATED_TABLE_COLUMNS: Record<CuratedTable, GlueColumn[]> = {
  records: [c('record_id'), c('source'), c('feed'), c('source_person_ref'), c('extract_date')],
  facts: [c('fact_id'), c('type'), c('source'), c('feed'), c('record_ref'), c('record_id'), c('date'), c('end_date'), c('value', 'double'), c('detail')],
  relationships: [c('relationship_id'), c('source'), c('feed'), c('record_ref'), c('from_record_id'), c('to_record_id'), c('relationship'), c('group_ref'), c('start_date'), c('end_date')],
  pairs: [c('record_id_l'), c('record_id_r'), c('match_weight', 'double'), c('match_probability', 'double'), c('match_key')],
  links: [c('record_id_l'), c('record_id_r'), c('match_weight', 'double'), c('match_probability', 'double'), c('match_key')],
  persons: [c('record_id'), c('person_id')],
  families: [c('family_id'), c('locality'), c('ward_code'), c('postcode_district'), c('members', 'int'), c('children', 'int'), c('adults', 'int'), c('members_elsewhere', 'int'), c('flags', 'array<string>')],
  family_members: [c('family_id'), c('person_id'), c('role'), c('membership'), c('age_band'), c('is_child', 'boolean'), c('evidence')],
  scores: [c('family_id'), c('score', 'double'), c('tier'), c('headlines', 'array<string>'), c('headline_count', 'int'), c('three_needs', 'boolean'), c('open_to_statutory', 'boolean'), c('rules_fired', 'array<string>'), c('reasons'), c('statutory_evidence'), c('rule_set_version')],
};

/** The run manifests (outputs as_at=D/manifest.json) as a table, for "what ran when, on what" queries. */
export const MANIFEST_COLUMNS: GlueColumn[] = [
  c('runid'), c('status'), c('startedat'), c('finishedat'), c('ranby'), c('codeversion'), c('rulesetversion'),
];

/** Partition projection over daily as-at dates. */
export function projection(locationTemplate: string): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.as_at.type': 'date',
    'projection.as_at.format': 'yyyy-MM-dd',
    'projection.as_at.range': '2015-01-01,NOW',
    'projection.as_at.interval': '1',
    'projection.as_at.interval.unit': 'DAYS',
    'storage.location.template': locationTemplate,
  };
}
