/**
 * Secure `as_at=D/person-records.parquet`: one row per accepted person record, with its clear quasi-identifiers
 * (names, date of birth, address) standardised for linkage. Secure zone only. Written by standardise; read by match,
 * families (addresses and dates of birth), review, the match audit and the privacy scan.
 */
import type { PersonRecord } from '../../matching/records.ts';
import type { ParquetRow } from '../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../layout.ts';
import { list, need, str, type RowFrom } from './read.ts';
import { col, type TableDef } from './table.ts';

export const PERSON_RECORDS: TableDef = {
  name: 'person_records',
  zone: 'secure',
  what: 'secure person records',
  row: 'one accepted person record of a people feed, standardised',
  columns: [
    col('record_id', 'VARCHAR', '`<source>:<feed>:<person_ref>`'),
    col('source', 'VARCHAR', 'the provider (health, schools, ...)'),
    col('feed', 'VARCHAR', 'the feed of that provider'),
    col('source_person_ref', 'VARCHAR', "the provider's own person reference"),
    col('extract_date', 'VARCHAR', 'the extract the record came from (YYYY-MM-DD)'),
    col('forename', 'VARCHAR', 'forename, standardised'),
    col('forename_alternatives', 'VARCHAR[]', 'other forms of the forename (nicknames, spellings)'),
    col('middle_names', 'VARCHAR', 'middle names, standardised'),
    col('surname', 'VARCHAR', 'surname, standardised'),
    col('surname_parts', 'VARCHAR[]', 'the parts of a double-barrelled or multi-part surname'),
    col('date_of_birth', 'VARCHAR', 'YYYY-MM-DD'),
    col('sex', 'VARCHAR', 'M, F or null'),
    col('postcode', 'VARCHAR', 'postcode, standardised'),
    col('postcode_sector', 'VARCHAR', 'e.g. M14 5'),
    col('postcode_district', 'VARCHAR', 'e.g. M14'),
    col('postcode_area', 'VARCHAR', 'e.g. M'),
    col('address_line_1', 'VARCHAR', 'first line of the address, standardised'),
    col('nhs_number_token', 'VARCHAR', 'the NHS number as a keyed token (never the number)'),
    col('upn_token', 'VARCHAR', 'the unique pupil number as a keyed token'),
    col('attributes', 'VARCHAR', 'JSON of the feed-specific fields kept for linkage'),
  ],
};

export const personRecordsKey = (asAt: string): string => keys.secure(asAt, PERSON_RECORDS_KEY);

export function personRecordToRow(p: PersonRecord): ParquetRow {
  return {
    record_id: p.recordId,
    source: p.source,
    feed: p.feed,
    source_person_ref: p.sourcePersonRef,
    extract_date: p.extractDate,
    forename: p.forename,
    forename_alternatives: p.forenameAlternatives,
    middle_names: p.middleNames,
    surname: p.surname,
    surname_parts: p.surnameParts,
    date_of_birth: p.dateOfBirth,
    sex: p.sex,
    postcode: p.postcode,
    postcode_sector: p.postcodeSector,
    postcode_district: p.postcodeDistrict,
    postcode_area: p.postcodeArea,
    address_line_1: p.addressLine1,
    nhs_number_token: p.nhsNumberToken,
    upn_token: p.upnToken,
    attributes: JSON.stringify(p.attributes),
  };
}

/** A secure person-records row back to a PersonRecord (for the linkage engine and tests). */
export function personRecordFromRow(r: ParquetRow): PersonRecord {
  const s = (k: string): string | null => (typeof r[k] === 'string' ? (r[k] as string) : null);
  const sex = s('sex');
  return {
    recordId: s('record_id')!,
    source: s('source')!,
    feed: s('feed')!,
    sourcePersonRef: s('source_person_ref')!,
    extractDate: s('extract_date')!,
    forename: s('forename'),
    forenameAlternatives: list(r, 'forename_alternatives'),
    middleNames: s('middle_names'),
    surname: s('surname'),
    surnameParts: list(r, 'surname_parts'),
    dateOfBirth: s('date_of_birth'),
    sex: sex === 'M' || sex === 'F' ? sex : null,
    postcode: s('postcode'),
    postcodeSector: s('postcode_sector'),
    postcodeDistrict: s('postcode_district'),
    postcodeArea: s('postcode_area'),
    addressLine1: s('address_line_1'),
    nhsNumberToken: s('nhs_number_token'),
    upnToken: s('upn_token'),
    attributes: JSON.parse(s('attributes') ?? '{}') as Record<string, string>,
  };
}

/** The columns family formation reads of a person record (names and tokens stay unread). */
export interface PersonAddressRow {
  recordId: string;
  extractDate: string;
  dateOfBirth: string | null;
  postcode: string | null;
  addressLine1: string | null;
}

export const PERSON_ADDRESS_COLUMNS = [
  'record_id',
  'extract_date',
  'date_of_birth',
  'postcode',
  'address_line_1',
] as const;

/** The address columns of a secure person-records row (`from`: the read it came from, for the error's file and row). */
export function personAddressFromRow(r: ParquetRow, from: RowFrom = 'person-records'): PersonAddressRow {
  return {
    recordId: need(r, from, 'record_id'),
    extractDate: str(r, 'extract_date') ?? '',
    dateOfBirth: str(r, 'date_of_birth'),
    postcode: str(r, 'postcode'),
    addressLine1: str(r, 'address_line_1'),
  };
}
