/**
 * One people-feed row -> a PersonRecord (matching/records.ts). Pure: the standardise stage feeds it
 * validated rows (string cells, blanks as '').
 */
import { recordIdOf, type PersonRecord } from '../records.ts';
import { parseAddressLine } from './addresses.ts';
import { normaliseDate } from './dates.ts';
import { forenameAlternatives, normaliseForenames, normaliseSurname, surnameParts } from './names.ts';
import { parsePostcode } from './postcodes.ts';

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

export function standardisePerson(from: PersonRowSource, row: Readonly<Record<string, string>>): PersonRecord {
  const ref = blankToNull(row.person_ref);
  if (!ref) throw new Error(`${from.source}/${from.feed}: a people row has no person_ref`);
  const { forename, middleNames } = normaliseForenames(row.forename);
  const surname = normaliseSurname(row.surname);
  const pc = parsePostcode(row.postcode);
  const sex = blankToNull(row.sex)?.toUpperCase();
  const attributes: Record<string, string> = {};
  for (const k of Object.keys(row).sort()) {
    if (IDENTITY.has(k)) continue;
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
    forenameAlternatives: forenameAlternatives(forename),
    middleNames,
    surname,
    surnameParts: surnameParts(surname),
    dateOfBirth: normaliseDate(row.date_of_birth),
    sex: sex === 'M' || sex === 'F' ? sex : null,
    postcode: pc.postcode,
    postcodeSector: pc.sector,
    postcodeDistrict: pc.district,
    postcodeArea: pc.area,
    addressLine1: parseAddressLine(row.address_line_1).line,
    nhsNumberToken: blankToNull(row.nhs_number_token)?.toLowerCase() ?? null,
    upnToken: blankToNull(row.upn_token)?.toLowerCase() ?? null,
    attributes,
  };
}
