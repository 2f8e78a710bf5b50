/**
 * Age bands: what outputs carry instead of a date of birth. Bands follow the life stages the
 * services work with (under 1, under 2, early years, primary, secondary, 16-17, young adult ...).
 */
import { ageInYears } from './dates.ts';

export const AGE_BANDS = [
  '0',
  '1',
  '2-4',
  '5-10',
  '11-15',
  '16-17',
  '18-19',
  '20-24',
  '25-34',
  '35-44',
  '45-54',
  '55-64',
  '65+',
  'unknown',
] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

export function ageBandOf(age: number | null): AgeBand {
  if (age === null || !Number.isFinite(age) || age < 0) return 'unknown';
  if (age < 1) return '0';
  if (age < 2) return '1';
  if (age < 5) return '2-4';
  if (age < 11) return '5-10';
  if (age < 16) return '11-15';
  if (age < 18) return '16-17';
  if (age < 20) return '18-19';
  if (age < 25) return '20-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  if (age < 65) return '55-64';
  return '65+';
}

export function ageBandAt(dateOfBirth: string | null, asAt: string): AgeBand {
  if (!dateOfBirth || dateOfBirth > asAt) return 'unknown';
  return ageBandOf(ageInYears(dateOfBirth, asAt));
}
