/**
 * Glue tables over the curated Parquet (one per curated table) and over the run manifests in the outputs
 * bucket, each partitioned by `as_at` with partition projection (no crawler, no MSCK REPAIR: a new as-at
 * date is queryable the moment its files land). The columns are made from the tables' own definitions
 * (pipelines/tables/), so the Parquet a stage writes and the Glue table cannot drift apart; a test also checks
 * them against the Parquet files a local run writes. Dates the stages write as ISO text stay `string`. The `as_at`
 * data column some stages also write is the partition key here, so it is not repeated among the columns.
 */
import type { ParquetType } from '../pipelines/io/parquet.ts';
import { CURATED_TABLES, type CuratedTable } from '../pipelines/layout.ts';
import { CURATED_TABLE_DEFS } from '../pipelines/tables/index.ts';
import type { TableDef } from '../pipelines/tables/table.ts';

export type GlueType = 'string' | 'int' | 'bigint' | 'double' | 'boolean' | 'date' | 'array<string>';
export interface GlueColumn { name: string; type: GlueType }

const c = (name: string, type: GlueType = 'string'): GlueColumn => ({ name, type });

/** The Glue (Hive) type of each Parquet type the stages write. */
export const GLUE_TYPE: Record<ParquetType, GlueType> = {
  VARCHAR: 'string', INTEGER: 'int', BIGINT: 'bigint', DOUBLE: 'double', BOOLEAN: 'boolean', DATE: 'date', 'VARCHAR[]': 'array<string>',
};

/** A table's Glue columns: its columns in file order, less the `as_at` partition key. */
export function glueColumnsOf(def: TableDef): GlueColumn[] {
  return def.columns.filter((col) => col.name !== 'as_at').map((col) => c(col.name, GLUE_TYPE[col.type]));
}

export const CURATED_TABLE_COLUMNS: Record<CuratedTable, GlueColumn[]> = Object.fromEntries(
  CURATED_TABLES.map((t) => [t, glueColumnsOf(CURATED_TABLE_DEFS[t])]),
) as Record<CuratedTable, GlueColumn[]>;

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
