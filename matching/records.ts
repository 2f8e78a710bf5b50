/**
 * The standardised person record: what the standardise stage produces from every people-feed row,
 * and what the linkage engine matches. Clear quasi-identifiers (names, DOB, address) live only in
 * the secure match zone; from the families stage on, only `recordId`, `personId` and source refs travel.
 */

export interface PersonRecord {
  /** Unique within a run: `${source}:${feed}:${sourcePersonRef}`. Pseudonymous. */
  recordId: string;
  source: string;
  feed: string;
  sourcePersonRef: string;
  /** The dt= of the extract the row came from (YYYY-MM-DD). */
  extractDate: string;
  /** Upper-case, accents folded, punctuation removed; null when blank. */
  forename: string | null;
  /** Canonical forms of the forename (nickname and transliteration equivalents), including itself. */
  forenameAlternatives: string[];
  middleNames: string | null;
  surname: string | null;
  /** Parts of a double-barrelled or multi-part surname, e.g. SMITH-JONES -> [SMITH, JONES]. */
  surnameParts: string[];
  /** YYYY-MM-DD, null when blank. */
  dateOfBirth: string | null;
  sex: 'M' | 'F' | null;
  /** Normalised with a single space before the inward code, e.g. "M14 5RB"; null when blank or unparseable. */
  postcode: string | null;
  postcodeSector: string | null; // "M14 5"
  postcodeDistrict: string | null; // "M14"
  postcodeArea: string | null; // "M"
  /** Normalised first address line (upper case, abbreviations expanded, flat/number kept). */
  addressLine1: string | null;
  nhsNumberToken: string | null;
  upnToken: string | null;
  /** Source-specific extras that matter downstream (e.g. schools/contacts pupil_person_ref), as strings. */
  attributes: Record<string, string>;
}

/** An explicit relationship between two source records, from a relationship feed or a link column. */
export interface RelationshipRecord {
  relationshipId: string; // `${source}:${feed}:${record_ref}`
  source: string;
  feed: string;
  recordRef: string;
  /** recordId of the person who IS the relationship ... */
  fromRecordId: string;
  /** ... OF this person (e.g. from=mother, to=baby). */
  toRecordId: string;
  relationship: RelationshipType;
  /** Family grouping from the source, when it has one. */
  groupRef: string | null;
  startDate: string | null;
  endDate: string | null;
}

export function recordIdOf(source: string, feed: string, sourcePersonRef: string): string {
  return `${source}:${feed}:${sourcePersonRef}`;
}

/** What one person is to another in a relationship record (curated relationships.relationship). */
export const RELATIONSHIP_TYPES = [
  'mother',
  'father',
  'carer',
  'step_parent',
  'grandparent',
  'sibling',
  'other',
] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];
/** The relationships that make `from` a parent figure of `to` (older than them, in their family as a parent). */
export const PARENT_LIKE_RELATIONSHIPS: ReadonlySet<RelationshipType> = new Set([
  'mother',
  'father',
  'step_parent',
  'grandparent',
  'carer',
]);
