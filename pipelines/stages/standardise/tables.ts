/**
 * The tables standardise writes: their Parquet columns (snake_case) and the row mappers from the domain records
 * (matching/records.ts, models/facts.ts). Shared by the stage, its people and events pipelines, and their readers.
 */
import type { PersonRecord, RelationshipRecord } from '../../../matching/records.ts';
import type { Fact } from '../../../models/facts.ts';
import type { ParquetColumn, ParquetRow } from '../../io/parquet.ts';

export const PERSON_RECORD_COLUMNS: ParquetColumn[] = [
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'source_person_ref', type: 'VARCHAR' },
  { name: 'extract_date', type: 'VARCHAR' },
  { name: 'forename', type: 'VARCHAR' },
  { name: 'forename_alternatives', type: 'VARCHAR[]' },
  { name: 'middle_names', type: 'VARCHAR' },
  { name: 'surname', type: 'VARCHAR' },
  { name: 'surname_parts', type: 'VARCHAR[]' },
  { name: 'date_of_birth', type: 'VARCHAR' },
  { name: 'sex', type: 'VARCHAR' },
  { name: 'postcode', type: 'VARCHAR' },
  { name: 'postcode_sector', type: 'VARCHAR' },
  { name: 'postcode_district', type: 'VARCHAR' },
  { name: 'postcode_area', type: 'VARCHAR' },
  { name: 'address_line_1', type: 'VARCHAR' },
  { name: 'nhs_number_token', type: 'VARCHAR' },
  { name: 'upn_token', type: 'VARCHAR' },
  { name: 'attributes', type: 'VARCHAR' },
];

export const RECORD_COLUMNS: ParquetColumn[] = [
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'source_person_ref', type: 'VARCHAR' },
  { name: 'extract_date', type: 'VARCHAR' },
];

export const FACT_COLUMNS: ParquetColumn[] = [
  { name: 'fact_id', type: 'VARCHAR' },
  { name: 'type', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'record_ref', type: 'VARCHAR' },
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'date', type: 'VARCHAR' },
  { name: 'end_date', type: 'VARCHAR' },
  { name: 'value', type: 'DOUBLE' },
  { name: 'detail', type: 'VARCHAR' },
];

export const RELATIONSHIP_COLUMNS: ParquetColumn[] = [
  { name: 'relationship_id', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'record_ref', type: 'VARCHAR' },
  { name: 'from_record_id', type: 'VARCHAR' },
  { name: 'to_record_id', type: 'VARCHAR' },
  { name: 'relationship', type: 'VARCHAR' },
  { name: 'group_ref', type: 'VARCHAR' },
  { name: 'start_date', type: 'VARCHAR' },
  { name: 'end_date', type: 'VARCHAR' },
];

export function personRecordToRow(p: PersonRecord): ParquetRow {
  return {
    record_id: p.recordId, source: p.source, feed: p.feed, source_person_ref: p.sourcePersonRef, extract_date: p.extractDate,
    forename: p.forename, forename_alternatives: p.forenameAlternatives, middle_names: p.middleNames, surname: p.surname, surname_parts: p.surnameParts,
    date_of_birth: p.dateOfBirth, sex: p.sex, postcode: p.postcode, postcode_sector: p.postcodeSector, postcode_district: p.postcodeDistrict,
    postcode_area: p.postcodeArea, address_line_1: p.addressLine1, nhs_number_token: p.nhsNumberToken, upn_token: p.upnToken,
    attributes: JSON.stringify(p.attributes),
  };
}

/** A secure person-records row back to a PersonRecord (for the linkage engine and tests). */
export function personRecordFromRow(r: ParquetRow): PersonRecord {
  const s = (k: string): string | null => (typeof r[k] === 'string' ? (r[k] as string) : null);
  const list = (k: string): string[] => (Array.isArray(r[k]) ? (r[k] as string[]) : []);
  const sex = s('sex');
  return {
    recordId: s('record_id')!, source: s('source')!, feed: s('feed')!, sourcePersonRef: s('source_person_ref')!, extractDate: s('extract_date')!,
    forename: s('forename'), forenameAlternatives: list('forename_alternatives'), middleNames: s('middle_names'), surname: s('surname'),
    surnameParts: list('surname_parts'), dateOfBirth: s('date_of_birth'), sex: sex === 'M' || sex === 'F' ? sex : null,
    postcode: s('postcode'), postcodeSector: s('postcode_sector'), postcodeDistrict: s('postcode_district'), postcodeArea: s('postcode_area'),
    addressLine1: s('address_line_1'), nhsNumberToken: s('nhs_number_token'), upnToken: s('upn_token'),
    attributes: JSON.parse(s('attributes') ?? '{}') as Record<string, string>,
  };
}

export function factToRow(f: Fact): ParquetRow {
  return {
    fact_id: f.factId, type: f.type, source: f.source, feed: f.feed, record_ref: f.recordRef, record_id: f.recordId,
    date: f.date, end_date: f.endDate, value: f.value, detail: JSON.stringify(f.detail),
  };
}

export function relationshipToRow(r: RelationshipRecord): ParquetRow {
  return {
    relationship_id: r.relationshipId, source: r.source, feed: r.feed, record_ref: r.recordRef, from_record_id: r.fromRecordId,
    to_record_id: r.toRecordId, relationship: r.relationship, group_ref: r.groupRef, start_date: r.startDate, end_date: r.endDate,
  };
}
