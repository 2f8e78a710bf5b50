/** Standardisation of identity fields for linkage: names, postcodes, first address lines, dates. Pure. */
export * from './text.ts';
export {
  normaliseForenames,
  forenameAlternatives,
  forenamesEquivalent,
  normaliseSurname,
  surnameParts,
  type Forenames,
} from './names.ts';
export { FORENAME_GROUPS, FORENAME_ALTERNATIVES } from './nicknames.ts';
export * from './postcodes.ts';
export * from './addresses.ts';
export * from './dates.ts';
export * from './person.ts';
