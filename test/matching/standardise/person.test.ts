import { describe, expect, it } from 'vitest';
import { standardisePerson } from '../../../matching/standardise/index.ts';
import { personStandardiser } from '../../../matching/standardise/person.ts';

describe('standardisePerson', () => {
  it('turns a people-feed row into a PersonRecord', () => {
    const rec = standardisePerson(
      { source: 'schools', feed: 'pupils', extractDate: '2026-01-15' },
      {
        person_ref: 'SCH000123',
        upn_token: 'A'.repeat(64),
        forename: 'Bobby james',
        surname: 'Smith-Jones',
        date_of_birth: '2015-04-03',
        sex: 'm',
        postcode: 'm14 5rb',
        address_line_1: 'Flat 2, 10 Platt Ln',
        school_urn: '105432',
        year_group: '5',
        census_date: '',
      },
    );
    expect(rec).toEqual({
      recordId: 'schools:pupils:SCH000123',
      source: 'schools',
      feed: 'pupils',
      sourcePersonRef: 'SCH000123',
      extractDate: '2026-01-15',
      forename: 'BOBBY',
      forenameAlternatives: ['BERT', 'BOB', 'BOBBY', 'ROB', 'ROBBIE', 'ROBBY', 'ROBERT'],
      middleNames: 'JAMES',
      surname: 'SMITH-JONES',
      surnameParts: ['SMITH', 'JONES'],
      dateOfBirth: '2015-04-03',
      sex: 'M',
      postcode: 'M14 5RB',
      postcodeSector: 'M14 5',
      postcodeDistrict: 'M14',
      postcodeArea: 'M',
      addressLine1: 'FLAT 2 10 PLATT LANE',
      nhsNumberToken: null,
      upnToken: 'a'.repeat(64),
      attributes: { school_urn: '105432', year_group: '5' },
    });
  });
  it('maps blanks to null and U sex to null', () => {
    const rec = standardisePerson(
      { source: 'police', feed: 'people', extractDate: '2026-01-15' },
      {
        person_ref: 'P1',
        forename: '',
        surname: ' ',
        date_of_birth: '',
        sex: 'U',
        postcode: '',
        address_line_1: '',
      },
    );
    expect(rec).toMatchObject({
      forename: null,
      forenameAlternatives: [],
      surname: null,
      surnameParts: [],
      dateOfBirth: null,
      sex: null,
      postcode: null,
      addressLine1: null,
      attributes: {},
    });
  });
  it('refuses a row without person_ref', () => {
    expect(() =>
      standardisePerson({ source: 'police', feed: 'people', extractDate: '2026-01-15' }, { person_ref: '' }),
    ).toThrow(/police\/people: a people row has no person_ref/);
  });
  it('personStandardiser (fields remembered per raw value) makes the same records as standardisePerson', () => {
    const forenames = ['Bobby james', 'BOBBY JAMES', 'Zoë', 'jean-paul', '', 'Mo', 'Bobby james'];
    const surnames = ['Smith-Jones', 'de la Cruz', ' ', "O'Neill", 'Smith-Jones'];
    const postcodes = ['m14 5rb', 'M145RB', 'GIR0AA', 'M14', 'nonsense', '', 'M1 4BT'];
    const addresses = ['Flat 2, 10 Platt Ln', '12 - 14 St Marys Rd', '', 'Apt 3b High St', 'Flat 2, 10 Platt Ln'];
    const rows: Array<Record<string, string>> = [];
    for (let i = 0; i < 60; i++)
      rows.push({
        person_ref: `P${i % 7}`,
        forename: forenames[i % forenames.length]!,
        surname: surnames[i % surnames.length]!,
        date_of_birth: i % 4 ? `2015-04-0${(i % 9) + 1}` : '',
        sex: ['m', 'F', 'U', ''][i % 4]!,
        postcode: postcodes[i % postcodes.length]!,
        address_line_1: addresses[i % addresses.length]!,
        // feeds differ in their other columns, and a column list may come back
        ...(i % 3 === 0
          ? { school_urn: `${i}`, year_group: i % 2 ? '5' : '' }
          : i % 3 === 1
            ? { nhs_number_token: 'AB' }
            : {}),
      });
    const many = personStandardiser();
    for (const [i, row] of rows.entries()) {
      const from = { source: i % 2 ? 'schools' : 'health', feed: 'people', extractDate: '2026-01-15' };
      expect(many(from, row)).toEqual(standardisePerson(from, row));
    }
    expect(() => many({ source: 'police', feed: 'people', extractDate: '2026-01-15' }, { person_ref: '' })).toThrow(
      /no person_ref/,
    );
  });
});
