import { describe, expect, it } from 'vitest';
import { standardisePerson } from '../../../matching/standardise/index.ts';

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
});
