/**
 * The identifying columns of person-records.parquet as the privacy tests write them (a synthetic subset of
 * pipelines/tables/person-records.ts with the spellings the identifier index reads: `address_line1`, `middle_names`).
 */
export const IDENTIFYING_PERSON_COLUMNS = [
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'forename', type: 'VARCHAR' },
  { name: 'middle_names', type: 'VARCHAR' },
  { name: 'surname', type: 'VARCHAR' },
  { name: 'surname_parts', type: 'VARCHAR[]' },
  { name: 'date_of_birth', type: 'DATE' },
  { name: 'postcode', type: 'VARCHAR' },
  { name: 'address_line1', type: 'VARCHAR' },
  { name: 'nhs_number_token', type: 'VARCHAR' },
  { name: 'upn_token', type: 'VARCHAR' },
] as const;
