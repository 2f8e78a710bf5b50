/**
 * Glue tables over the curated Parquet (one per curated table) and over the run manifests in the outputs
 * bucket, each partitioned by `as_at` with partition projection (no crawler, no MSCK REPAIR: a new as-at
 * date is queryable the moment its files land). The columns are made from the tables' own definitions
 * (pipelines/tables/), so the Parquet a stage writes and the Glue table cannot drift apart; a test also checks
 * them against the Parquet files a local run writes. Dates the stages write as ISO text stay `string`. The `as_at`
 * data column some stages also write is the partition key here, so it is not repeated among the columns.
 */
import { z } from 'zod';
import type { ParquetType } from '../pipelines/io/parquet.ts';
import { CURATED_TABLES, type CuratedTable } from '../pipelines/layout.ts';
import { CURATED_TABLE_DEFS } from '../pipelines/tables/index.ts';
import type { TableDef } from '../pipelines/tables/table.ts';
import { manifestSchema } from '../pipelines/manifest.ts';

export type GlueType =
  | 'string'
  | 'int'
  | 'bigint'
  | 'double'
  | 'boolean'
  | 'date'
  | `array<${string}>`
  | `struct<${string}>`
  | `map<${string}>`;
export interface GlueColumn {
  name: string;
  type: GlueType;
}

const c = (name: string, type: GlueType = 'string'): GlueColumn => ({ name, type });

/** The Glue (Hive) type of each Parquet type the stages write. */
export const GLUE_TYPE: Record<ParquetType, GlueType> = {
  VARCHAR: 'string',
  INTEGER: 'int',
  BIGINT: 'bigint',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
  DATE: 'date',
  'VARCHAR[]': 'array<string>',
};

/** A table's Glue columns: its columns in file order, less the `as_at` partition key. */
export function glueColumnsOf(def: TableDef): GlueColumn[] {
  return def.columns.filter((col) => col.name !== 'as_at').map((col) => c(col.name, GLUE_TYPE[col.type]));
}

export const CURATED_TABLE_COLUMNS: Record<CuratedTable, GlueColumn[]> = Object.fromEntries(
  CURATED_TABLES.map((t) => [t, glueColumnsOf(CURATED_TABLE_DEFS[t])]),
) as Record<CuratedTable, GlueColumn[]>;

type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
};

/** The Hive type of a JSON Schema node (undefined: a value of no fixed shape, e.g. the config's value, left out). */
export function hiveTypeOf(s: JsonSchema): string | undefined {
  if (s.anyOf) {
    const types = [...new Set(s.anyOf.map(hiveTypeOf).filter((t): t is string => t !== undefined))];
    return types.length === 1 ? types[0] : undefined;
  }
  if (s.enum) return s.enum.every((v) => typeof v === 'string') ? 'string' : undefined;
  if (typeof s.const === 'number') return Number.isInteger(s.const) ? 'int' : 'double';
  if (typeof s.const === 'string') return 'string';
  const type = Array.isArray(s.type) ? s.type.filter((t) => t !== 'null')[0] : s.type;
  switch (type) {
    case 'string':
      return 'string';
    case 'number':
      return 'double';
    case 'integer':
      return 'bigint';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const item = s.items ? hiveTypeOf(s.items) : undefined;
      return item ? `array<${item}>` : undefined;
    }
    case 'object': {
      if (s.properties && Object.keys(s.properties).length > 0) {
        const fields = Object.entries(s.properties)
          .map(([k, v]) => [k.toLowerCase(), hiveTypeOf(v)] as const)
          .filter(([, t]) => t !== undefined);
        return `struct<${fields.map(([k, t]) => `${k}:${t}`).join(',')}>`;
      }
      const value = typeof s.additionalProperties === 'object' ? hiveTypeOf(s.additionalProperties) : undefined;
      return value ? `map<string,${value}>` : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The run manifests as a table (outputs run_manifests/as_at=D/<run id>.json, one JSON line per run), for "what ran
 * when, on what" queries: the columns are the manifest's own fields, derived from its zod schema (pipelines/manifest.ts),
 * lower-cased as Hive names them (Athena's JSON SerDe matches JSON keys case-insensitively). The config's value (any
 * shape) is left out; its version and SHA-256 are columns.
 */
export const MANIFEST_COLUMNS: GlueColumn[] = Object.entries(
  (z.toJSONSchema(manifestSchema, { io: 'output' }) as JsonSchema).properties ?? {},
)
  .map(([name, s]) => ({ name: name.toLowerCase(), type: hiveTypeOf(s) as GlueType | undefined }))
  .filter((col): col is GlueColumn => col.type !== undefined);

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
