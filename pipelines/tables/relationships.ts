/**
 * Curated `relationships`: one row per relationship a feed states between two person records (from IS the
 * <relationship> OF to). Written by standardise; read by match (parent-like links) and families.
 */
import { RELATIONSHIP_TYPES, type RelationshipRecord, type RelationshipType } from '../../matching/records.ts';
import type { ParquetRow } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { need, openTable, optDate, originOf, str, type RowFrom, type TableRead, type TableSource } from './read.ts';
import { col, type TableDef } from './table.ts';

export const RELATIONSHIPS: TableDef = {
  name: 'relationships',
  zone: 'curated',
  what: 'relationships',
  row: 'one stated relationship between two person records',
  columns: [
    col('relationship_id', 'VARCHAR', '`<source>:<feed>:<record_ref>`'),
    col('source', 'VARCHAR', 'the provider'),
    col('feed', 'VARCHAR', 'the feed of that provider'),
    col('record_ref', 'VARCHAR', "the provider's reference of the relationship"),
    col('from_record_id', 'VARCHAR', 'the person record who IS the relationship ...'),
    col('to_record_id', 'VARCHAR', '... OF this person record'),
    col('relationship', 'VARCHAR', RELATIONSHIP_TYPES.join(' | ')),
    col('group_ref', 'VARCHAR', "the provider's family grouping, when it has one"),
    col('start_date', 'VARCHAR', 'YYYY-MM-DD or null'),
    col('end_date', 'VARCHAR', 'YYYY-MM-DD or null'),
  ],
};

export function relationshipToRow(r: RelationshipRecord): ParquetRow {
  return {
    relationship_id: r.relationshipId,
    source: r.source,
    feed: r.feed,
    record_ref: r.recordRef,
    from_record_id: r.fromRecordId,
    to_record_id: r.toRecordId,
    relationship: r.relationship,
    group_ref: r.groupRef,
    start_date: r.startDate,
    end_date: r.endDate,
  };
}

function relationshipOf(r: ParquetRow, from: RowFrom): RelationshipType {
  const v = need(r, from, 'relationship');
  if (!(RELATIONSHIP_TYPES as readonly string[]).includes(v))
    throw new Error(
      `${originOf(r, from)}, field relationship: unknown relationship "${v}" (known: ${RELATIONSHIP_TYPES.join(', ')})`,
    );
  return v as RelationshipType;
}

/**
 * The two record ids of a relationships row (read first: a relationship whose records are in no person is only
 * counted). `from`: the read the row came from, for the error's file and row.
 */
export function relationshipEnds(
  r: ParquetRow,
  from: RowFrom = 'relationships',
): { fromRecordId: string; toRecordId: string } {
  return {
    fromRecordId: need(r, from, 'from_record_id'),
    toRecordId: need(r, from, 'to_record_id'),
  };
}

/** The rest of a relationships row, checked. */
export function relationshipFromRow(
  r: ParquetRow,
  ends?: { fromRecordId: string; toRecordId: string },
  from: RowFrom = 'relationships',
): RelationshipRecord {
  const source = need(r, from, 'source');
  const feed = need(r, from, 'feed');
  const recordRef = need(r, from, 'record_ref');
  return {
    relationshipId: str(r, 'relationship_id') ?? `${source}:${feed}:${recordRef}`,
    source,
    feed,
    recordRef,
    ...(ends ?? relationshipEnds(r, from)),
    relationship: relationshipOf(r, from),
    groupRef: str(r, 'group_ref'),
    startDate: optDate(r, from, 'start_date'),
    endDate: optDate(r, from, 'end_date'),
  };
}

export const relationshipsTable = (ctx: TableSource & { asAt: string }): TableRead =>
  openTable(ctx, 'curated', keys.curated('relationships', ctx.asAt), 'relationships', undefined, { windowed: true });
