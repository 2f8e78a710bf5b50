/**
 * Configuration vocabulary: words the outputs carry that come from configuration, not from any person
 * (source and feed names, age bands, sex labels, locality names, family roles, relationship types: "carer" is
 * also a surname). A whole value equal to one of them is not
 * taken for a forename or surname leak, even when somebody in the secure zone bears that name.
 */
import { FEEDS } from '../feeds/catalogue.ts';
import { AGE_BANDS } from '../../models/age-bands.ts';
import { FAMILY_ROLES } from '../../matching/families/build.ts';
import { RELATIONSHIP_TYPES } from '../../matching/records.ts';

export function configurationVocabulary(localities: Iterable<string> = []): string[] {
  return [
    ...FEEDS.flatMap((f) => [f.source, f.feed]),
    ...AGE_BANDS,
    'male',
    'female',
    'not recorded',
    'not in a family',
    'Unassigned',
    ...FAMILY_ROLES,
    ...RELATIONSHIP_TYPES,
    'primary',
    'also_in',
    ...localities,
  ];
}
