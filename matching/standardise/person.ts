/**
 * One people-feed row -> a PersonRecord (matching/records.ts). Pure: the standardise stage feeds it
 * validated rows (string cells, blanks as '').
 */
import { recordIdOf, type PersonRecord } from '../records.ts';
import { parseAddressLine } from './addresses.ts';
import { normaliseDate } from './dates.ts';
import { forenameAlternatives, normaliseForenames, normaliseSurname, surnameParts } from './names.ts';
import { parsePostcode, type Postcode } from './postcodes.ts';

/** Columns of a people feed that become PersonRecord fields; every other non-blank column goes to `attributes`. */
const IDENTITY = new Set([
  'person_ref',
  'forename',
  'surname',
  'date_of_birth',
  'sex',
  'postcode',
  'address_line_1',
  'nhs_number_token',
  'upn_token',
]);

export interface PersonRowSource {
  source: string;
  feed: string;
  extractDate: string;
}

function blankToNull(s: string | undefined): string | null {
  if (s === undefined) return null;
  const t = s.trim();
  return t.length > 0 ? t : null;
}

/** The field standardisers standardisePerson applies (each pure: the same raw value always gives the same result). */
interface FieldStandardisers {
  forenames(raw: string | undefined): { forename: string | null; middleNames: string | null; alternatives: string[] };
  surname(raw: string | undefined): { surname: string | null; parts: string[] };
  postcode(raw: string | undefined): Postcode;
  addressLine(raw: string | undefined): string | null;
  /** The non-identity columns of a row, sorted (they go to `attributes`). */
  attributeColumns(row: Readonly<Record<string, string>>): string[];
}

const attributeColumnsOf = (row: Readonly<Record<string, string>>): string[] =>
  Object.keys(row)
    .sort()
    .filter((k) => !IDENTITY.has(k));

const DIRECT: FieldStandardisers = {
  forenames(raw) {
    const { forename, middleNames } = normaliseForenames(raw);
    return { forename, middleNames, alternatives: forenameAlternatives(forename) };
  },
  surname(raw) {
    const surname = normaliseSurname(raw);
    return { surname, parts: surnameParts(surname) };
  },
  postcode: (raw) => parsePostcode(raw),
  addressLine: (raw) => parseAddressLine(raw).line,
  attributeColumns: attributeColumnsOf,
};

export function standardisePerson(from: PersonRowSource, row: Readonly<Record<string, string>>): PersonRecord {
  return standardiseWith(DIRECT, from, row);
}

/** Each cache holds at most this many values (then starts again): bounded memory whatever the population. */
const CACHE_LIMIT = 1 << 17;

function remembered<T>(f: (raw: string | undefined) => T): (raw: string | undefined) => T {
  const cache = new Map<string | undefined, T>();
  return (raw) => {
    let v = cache.get(raw);
    if (v === undefined && !cache.has(raw)) {
      v = f(raw);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(raw, v);
    }
    return v as T;
  };
}

/**
 * standardisePerson for many rows: the same records, with each field's result remembered per raw value (people
 * share forenames, surnames, postcodes and addresses across feeds and households; at 100k families 855,744 records
 * hold 77,760 distinct address lines) and a feed's attribute columns per column list. The records it makes share
 * their name-part and alternative lists with each other: treat them as read-only.
 */
export function personStandardiser(): (from: PersonRowSource, row: Readonly<Record<string, string>>) => PersonRecord {
  let lastKeys: string[] = [];
  let lastColumns: string[] = [];
  const fields: FieldStandardisers = {
    forenames: remembered(DIRECT.forenames),
    surname: remembered(DIRECT.surname),
    postcode: remembered(DIRECT.postcode),
    addressLine: remembered(DIRECT.addressLine),
    attributeColumns(row) {
      const keys = Object.keys(row);
      if (keys.length !== lastKeys.length || keys.some((k, i) => k !== lastKeys[i])) {
        lastKeys = keys;
        lastColumns = attributeColumnsOf(row);
      }
      return lastColumns;
    },
  };
  return (from, row) => standardiseWith(fields, from, row);
}

function standardiseWith(
  f: FieldStandardisers,
  from: PersonRowSource,
  row: Readonly<Record<string, string>>,
): PersonRecord {
  const ref = blankToNull(row.person_ref);
  if (!ref) throw new Error(`${from.source}/${from.feed}: a people row has no person_ref`);
  const { forename, middleNames, alternatives } = f.forenames(row.forename);
  const { surname, parts } = f.surname(row.surname);
  const pc = f.postcode(row.postcode);
  const sex = blankToNull(row.sex)?.toUpperCase();
  const attributes: Record<string, string> = {};
  for (const k of f.attributeColumns(row)) {
    const v = blankToNull(row[k]);
    if (v !== null) attributes[k] = v;
  }
  return {
    recordId: recordIdOf(from.source, from.feed, ref),
    source: from.source,
    feed: from.feed,
    sourcePersonRef: ref,
    extractDate: from.extractDate,
    forename,
    forenameAlternatives: alternatives,
    middleNames,
    surname,
    surnameParts: parts,
    dateOfBirth: normaliseDate(row.date_of_birth),
    sex: sex === 'M' || sex === 'F' ? sex : null,
    postcode: pc.postcode,
    postcodeSector: pc.sector,
    postcodeDistrict: pc.district,
    postcodeArea: pc.area,
    addressLine1: f.addressLine(row.address_line_1),
    nhsNumberToken: blankToNull(row.nhs_number_token)?.toLowerCase() ?? null,
    upnToken: blankToNull(row.upn_token)?.toLowerCase() ?? null,
    attributes,
  };
}
