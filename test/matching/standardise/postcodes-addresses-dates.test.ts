import { describe, expect, it } from 'vitest';
import {
  addDays,
  ageInYears,
  daysBetween,
  isIsoDate,
  normaliseAddressLine,
  normaliseDate,
  parseAddressLine,
  parsePostcode,
  transposeDayMonth,
} from '../../../matching/standardise/index.ts';

describe('parsePostcode', () => {
  it('parses into postcode, sector, district and area', () => {
    expect(parsePostcode('m14 5rb')).toEqual({ postcode: 'M14 5RB', sector: 'M14 5', district: 'M14', area: 'M' });
    expect(parsePostcode('M145RB')).toEqual({ postcode: 'M14 5RB', sector: 'M14 5', district: 'M14', area: 'M' });
    expect(parsePostcode(' sw1a 1aa ')).toEqual({
      postcode: 'SW1A 1AA',
      sector: 'SW1A 1',
      district: 'SW1A',
      area: 'SW',
    });
    expect(parsePostcode('OL1 3AB')).toEqual({ postcode: 'OL1 3AB', sector: 'OL1 3', district: 'OL1', area: 'OL' });
    expect(parsePostcode('M1 1AE')).toEqual({ postcode: 'M1 1AE', sector: 'M1 1', district: 'M1', area: 'M' });
  });
  it('reads a letter O in the inward digit as zero', () => {
    expect(parsePostcode('M14 ORB').postcode).toBe('M14 0RB');
  });
  it('keeps district and area of a bare outward code', () => {
    expect(parsePostcode('M14')).toEqual({ postcode: null, sector: null, district: 'M14', area: 'M' });
  });
  it('returns all null for blank or unparseable values', () => {
    for (const bad of ['', '  ', 'NOT A POSTCODE', '12345', 'M14 5R', 'MMM 5RB', null, undefined]) {
      expect(parsePostcode(bad)).toEqual({ postcode: null, sector: null, district: null, area: null });
    }
  });
});

describe('first address line', () => {
  it('expands abbreviations and normalises flats and numbers', () => {
    expect(normaliseAddressLine('Flat 3, 12 High St.')).toBe('FLAT 3 12 HIGH STREET');
    expect(normaliseAddressLine('flt 3 12 high street')).toBe('FLAT 3 12 HIGH STREET');
    expect(normaliseAddressLine('Apt 3b, 12 High Street')).toBe('FLAT 3B 12 HIGH STREET');
    expect(normaliseAddressLine('3/12 High St')).toBe('FLAT 3 12 HIGH STREET');
    expect(normaliseAddressLine('12 St Marys Rd')).toBe('12 SAINT MARYS ROAD');
    expect(normaliseAddressLine('12 a Wilbraham Rd')).toBe('12A WILBRAHAM ROAD');
    expect(normaliseAddressLine('12 - 14 Oak Ave')).toBe('12-14 OAK AVENUE');
    expect(normaliseAddressLine('No. 7 Rosé Gdns')).toBe('7 ROSE GARDENS');
    expect(normaliseAddressLine('')).toBeNull();
  });
  it('returns the parts', () => {
    expect(parseAddressLine('Flat 3, 12 High St')).toEqual({
      line: 'FLAT 3 12 HIGH STREET',
      flat: '3',
      number: '12',
      street: 'HIGH STREET',
    });
    expect(parseAddressLine('Rose Cottage')).toEqual({
      line: 'ROSE COTTAGE',
      flat: null,
      number: null,
      street: 'ROSE COTTAGE',
    });
  });
});

describe('dates', () => {
  it('accepts only real ISO dates', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2024-13-01')).toBe(false);
    expect(isIsoDate('01/02/2024')).toBe(false);
    expect(normaliseDate(' 2024-01-05 ')).toBe('2024-01-05');
    expect(normaliseDate('')).toBeNull();
  });
  it('transposes day and month when the result is a different real date', () => {
    expect(transposeDayMonth('2020-03-07')).toBe('2020-07-03');
    expect(transposeDayMonth('2020-03-13')).toBeNull();
    expect(transposeDayMonth('2020-05-05')).toBeNull();
  });
  it('computes ages and day differences', () => {
    expect(ageInYears('2010-06-15', '2026-06-14')).toBe(15);
    expect(ageInYears('2010-06-15', '2026-06-15')).toBe(16);
    expect(ageInYears('2008-02-29', '2026-02-28')).toBe(17);
    expect(ageInYears('2008-02-29', '2026-03-01')).toBe(18);
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
    expect(addDays('2024-02-28', 2)).toBe('2024-03-01');
  });
});

describe('isIsoDate agrees with the calendar', () => {
  it('matches Date for every day from 1899 to 2101 and rejects near misses', () => {
    let d = Date.UTC(1899, 0, 1);
    const end = Date.UTC(2101, 11, 31);
    for (; d <= end; d += 86_400_000) expect(isIsoDate(new Date(d).toISOString().slice(0, 10))).toBe(true);
    for (const bad of [
      '1900-02-29',
      '2100-02-29',
      '2023-04-31',
      '2023-00-10',
      '2023-01-00',
      '2023-1-01',
      '2023/01/01',
      '20230101',
      '2023-01-011',
      'abcd-01-01',
      '2023-01-3a',
    ])
      expect(isIsoDate(bad), bad).toBe(false);
    expect(isIsoDate('2000-02-29')).toBe(true);
  });
});
