import { describe, expect, it } from 'vitest';
import { assignLocality, buildLocalityMap, buildPostcodeLookup, normalisePostcode } from '../../models/localities.ts';
import { ageBandAt } from '../../models/age-bands.ts';
import { addMonths, monthsEnding } from '../../models/dates.ts';

// ONSPD column layout (a subset of the real columns, in the real order)
const onspd = [
  {
    pcd: 'M14 5RB',
    pcd2: 'M14  5RB',
    pcds: 'M14 5RB',
    dointr: '198001',
    doterm: '',
    oscty: 'E99999999',
    oslaua: 'E08000003',
    osward: 'E05011364',
  },
  {
    pcd: 'M8  0AA',
    pcd2: 'M8   0AA',
    pcds: 'M8 0AA',
    dointr: '198001',
    doterm: '',
    oscty: 'E99999999',
    oslaua: 'E08000003',
    osward: 'E05011370',
  },
  {
    pcd: 'M1  1AA',
    pcd2: 'M1   1AA',
    pcds: 'M1 1AA',
    dointr: '198001',
    doterm: '202001',
    oscty: 'E99999999',
    oslaua: 'E08000003',
    osward: 'E99999999',
  },
];

describe('locality lookup', () => {
  const lookup = buildPostcodeLookup(onspd);
  const localities = buildLocalityMap({
    localities: [
      { name: 'Manchester South', wards: ['E05011364'] },
      { name: 'Manchester North', wards: ['E05011370'] },
    ],
  });

  it('postcode -> ward through ONSPD rows, whatever the spacing', () => {
    expect(lookup.wardOf('m145rb')).toBe('E05011364');
    expect(lookup.wardOf('M8 0AA')).toBe('E05011370');
    expect(lookup.wardOf('M1 1AA')).toBeNull(); // pseudo ward code
    expect(normalisePostcode('not a postcode')).toBeNull();
  });

  it('ward -> locality through configuration; unknown postcodes are Unassigned', () => {
    expect(assignLocality('M14 5RB', lookup, localities)).toEqual({
      wardCode: 'E05011364',
      locality: 'Manchester South',
      postcodeDistrict: 'M14',
      assigned: true,
    });
    expect(assignLocality('ZZ9 9ZZ', lookup, localities)).toMatchObject({
      wardCode: null,
      locality: 'Unassigned',
      assigned: false,
      postcodeDistrict: 'ZZ9',
    });
    expect(assignLocality(null, lookup, localities).locality).toBe('Unassigned');
  });

  it('accepts the other configuration shapes and refuses a ward in two localities', () => {
    expect(buildLocalityMap({ localities: { North: ['W1'] } }).localityOfWard('W1')).toBe('North');
    expect(buildLocalityMap({ W1: 'North' }).localityOfWard('W1')).toBe('North');
    expect(
      buildLocalityMap({
        _comment: 'x',
        localities: [{ name: 'North', wards: [{ code: 'W1', name: 'Ward one' }] }],
      }).localityOfWard('W1'),
    ).toBe('North');
    expect(() => buildLocalityMap({ localities: { North: ['W1'], South: ['W1'] } }, 'localities.json')).toThrow(
      /localities\.json: ward W1 is in two localities/,
    );
  });

  it('a file not in ONSPD layout is refused with its name; a bad postcode names the line', () => {
    expect(() => buildPostcodeLookup([{ postcode: 'M1 1AA', ward: 'x' }], 'pd.csv')).toThrow(
      /pd\.csv: not in the ONS Postcode Directory layout/,
    );
    expect(() => buildPostcodeLookup([onspd[0]!, { ...onspd[1]!, pcds: '???' }], 'pd.csv')).toThrow(
      /pd\.csv: line 3, field pcds/,
    );
  });
});

describe('age bands and dates', () => {
  it('bands at the as-at date', () => {
    expect(ageBandAt('2026-01-01', '2026-06-30')).toBe('0');
    expect(ageBandAt('2024-07-01', '2026-06-30')).toBe('1');
    expect(ageBandAt('2024-06-30', '2026-06-30')).toBe('2-4');
    expect(ageBandAt('2008-07-01', '2026-06-30')).toBe('16-17');
    expect(ageBandAt(null, '2026-06-30')).toBe('unknown');
    expect(ageBandAt('2027-01-01', '2026-06-30')).toBe('unknown');
  });
  it('month arithmetic clamps to the month end', () => {
    expect(addMonths('2026-03-31', -1)).toBe('2026-02-28');
    expect(addMonths('2024-02-29', -12)).toBe('2023-02-28');
    expect(monthsEnding('2026-06-30', 3)).toEqual(['2026-04', '2026-05', '2026-06']);
  });
});
