import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../pipelines/io/csv.ts';
import { checkRow } from '../../pipelines/feeds/contract.ts';
import { contractFor } from '../../pipelines/feeds/index.ts';

const T = 'ab'.repeat(32);
const EXTRACT = '2026-01-15';

function problems(source: string, feed: string, row: Record<string, string>, extractDate = EXTRACT) {
  const c = contractFor(source, feed)!;
  const full: Record<string, string> = {};
  for (const col of Object.keys(c.fields)) full[col] = row[col] ?? '';
  return checkRow(c, full, extractDate).map((p) => `${p.field}:${p.reason}`);
}

const pupil = {
  person_ref: 'SCH1',
  upn_token: T,
  forename: 'Amy',
  surname: 'Smith',
  date_of_birth: '2015-02-28',
  sex: 'F',
  postcode: 'M14 5RB',
  address_line_1: '1 High St',
  school_urn: '105432',
  year_group: '5',
  census_date: '2026-01-15',
};
const maternity = {
  record_ref: 'MAT1',
  person_ref: 'H1',
  baby_person_ref: 'H2',
  booking_date: '2025-03-01',
  gestation_at_booking_weeks: '10',
  estimated_delivery_date: '2025-09-20',
  delivery_date: '2025-09-18',
  smoking_at_delivery: 'N',
  birth_weight_grams: '3400',
};

describe('feed row schemas', () => {
  it('accept good rows, blanks where optional', () => {
    expect(problems('schools', 'pupils', pupil)).toEqual([]);
    expect(problems('schools', 'pupils', { person_ref: 'SCH2' })).toEqual([]);
    expect(problems('health', 'maternity', maternity)).toEqual([]);
    expect(
      problems('health', 'maternity', {
        record_ref: 'M2',
        person_ref: 'H1',
        booking_date: '2025-12-01',
        estimated_delivery_date: '2026-06-01',
      }),
    ).toEqual([]);
    expect(
      problems('police', 'incidents', {
        record_ref: 'I1-1',
        incident_ref: 'I1',
        person_ref: 'P1',
        incident_date: '2026-01-15',
        incident_type: 'domestic_abuse',
        role: 'child_present',
        postcode: 'M14 5RB',
      }),
    ).toEqual([]);
    expect(
      problems('schools', 'attendance', {
        record_ref: 'A1',
        person_ref: 'S1',
        term: '2025-AUT',
        term_start: '2025-09-03',
        term_end: '2025-12-19',
        sessions_possible: '140',
        sessions_attended: '140',
      }),
    ).toEqual([]);
  });

  it('name the field and reason of each problem', () => {
    expect(problems('schools', 'pupils', { ...pupil, person_ref: '' })).toEqual(['person_ref:required']);
    expect(problems('schools', 'pupils', { ...pupil, upn_token: 'A123456789012' })).toEqual(['upn_token:bad_token']);
    expect(problems('schools', 'pupils', { ...pupil, upn_token: T.toUpperCase() })).toEqual(['upn_token:bad_token']);
    expect(problems('schools', 'pupils', { ...pupil, date_of_birth: '2015-02-29' })).toEqual([
      'date_of_birth:invalid_date',
    ]);
    expect(problems('schools', 'pupils', { ...pupil, date_of_birth: '28/02/2015' })).toEqual([
      'date_of_birth:invalid_date',
    ]);
    expect(problems('schools', 'pupils', { ...pupil, date_of_birth: '1899-12-31' })).toEqual([
      'date_of_birth:date_out_of_range',
    ]);
    expect(problems('schools', 'pupils', { ...pupil, date_of_birth: '2026-01-16' })).toEqual([
      'date_of_birth:date_after_extract',
    ]);
    expect(problems('schools', 'pupils', { ...pupil, sex: 'X' })).toEqual(['sex:bad_enum']);
    expect(problems('schools', 'pupils', { ...pupil, sex: 'f' })).toEqual(['sex:bad_enum']);
    expect(problems('schools', 'pupils', { ...pupil, school_urn: '12345' })).toEqual(['school_urn:bad_format']);
    expect(problems('schools', 'pupils', { ...pupil, forename: 'A\u0007my' })).toEqual(['forename:bad_format']);
    expect(problems('schools', 'pupils', { ...pupil, person_ref: 'has space' })).toEqual(['person_ref:bad_format']);
    expect(problems('health', 'maternity', { ...maternity, gestation_at_booking_weeks: '46' })).toEqual([
      'gestation_at_booking_weeks:out_of_range',
    ]);
    expect(problems('health', 'maternity', { ...maternity, gestation_at_booking_weeks: '3' })).toEqual([
      'gestation_at_booking_weeks:out_of_range',
    ]);
    expect(problems('health', 'maternity', { ...maternity, birth_weight_grams: '299' })).toEqual([
      'birth_weight_grams:out_of_range',
    ]);
    expect(problems('health', 'maternity', { ...maternity, birth_weight_grams: '6501' })).toEqual([
      'birth_weight_grams:out_of_range',
    ]);
    expect(problems('health', 'maternity', { ...maternity, birth_weight_grams: '3.4kg' })).toEqual([
      'birth_weight_grams:not_a_number',
    ]);
    expect(problems('health', 'maternity', { ...maternity, delivery_date: '2025-02-01' })).toEqual([
      'delivery_date:date_out_of_range',
    ]);
    expect(problems('health', 'maternity', { ...maternity, delivery_date: '' })).toEqual([
      'birth_weight_grams:inconsistent',
    ]);
    expect(problems('health', 'maternity', { ...maternity, smoking_at_delivery: 'yes' })).toEqual([
      'smoking_at_delivery:bad_enum',
    ]);
    expect(
      problems('schools', 'attendance', {
        record_ref: 'A1',
        person_ref: 'S1',
        term: '2025-AUT',
        term_start: '2025-09-03',
        term_end: '2025-12-19',
        sessions_possible: '100',
        sessions_attended: '101',
      }),
    ).toEqual(['sessions_attended:inconsistent']);
    expect(
      problems('schools', 'attendance', {
        record_ref: 'A1',
        person_ref: 'S1',
        term: 'Autumn',
        term_start: '2025-09-03',
        term_end: '2025-12-19',
        sessions_possible: '100',
        sessions_attended: '99',
      }),
    ).toEqual(['term:bad_format']);
    expect(
      problems('social_care', 'relationships', {
        record_ref: 'R1',
        person_ref: 'C1',
        related_person_ref: 'C1',
        relationship: 'mother',
      }),
    ).toEqual(['related_person_ref:inconsistent']);
    expect(
      problems('social_care', 'episodes', {
        record_ref: 'E1',
        person_ref: 'C1',
        episode_type: 'cin',
        start_date: '2025-01-01',
      }),
    ).toEqual(['episode_type:bad_enum']);
  });

  it('allow dates after the extract date only where the contract says so', () => {
    expect(
      problems('health', 'maternity', {
        ...maternity,
        delivery_date: '',
        birth_weight_grams: '',
        smoking_at_delivery: '',
        baby_person_ref: '',
        estimated_delivery_date: '2026-07-01',
      }),
    ).toEqual([]);
    expect(
      problems('health', 'health_visiting', {
        record_ref: 'V1',
        person_ref: 'H2',
        review: '12_month',
        due_date: '2026-06-01',
        status: 'missed',
        contact_date: '',
      }),
    ).toEqual([]);
    expect(
      problems('health', 'maternity', {
        ...maternity,
        booking_date: '2026-02-01',
        delivery_date: '',
        birth_weight_grams: '',
        baby_person_ref: '',
      }),
    ).toEqual(['booking_date:date_after_extract']);
  });

  it('check the extract date rule only when an extract date is given (docs schema)', () => {
    const c = contractFor('schools', 'pupils')!;
    expect(c.rowSchema().safeParse({ ...pupil, date_of_birth: '2099-01-01' }).success).toBe(true);
    expect(c.rowSchema('2026-01-15').safeParse({ ...pupil, date_of_birth: '2099-01-01' }).success).toBe(false);
  });

  it('reject a row with an unknown column (strict)', () => {
    const c = contractFor('police', 'people')!;
    const r = c.rowSchema(EXTRACT).safeParse({
      person_ref: 'P1',
      forename: '',
      surname: '',
      date_of_birth: '',
      sex: '',
      postcode: '',
      address_line_1: '',
      nhs_number: '123',
    });
    expect(r.success).toBe(false);
  });
});

describe('row validator (field by field, accepted values remembered)', () => {
  it('gives the row schema’s answer on every row of the committed sample and on rows spoilt one cell at a time', async () => {
    const landing = join(import.meta.dirname, '../../fixtures/samples/small/landing');
    const files = (await readdir(landing, { recursive: true })).filter((f) => f.endsWith('.csv')).sort();
    const spoilers = [
      '',
      ' ',
      'x'.repeat(300),
      '2099-01-01',
      '2026-02-30',
      'not a date',
      '-5',
      '1e3',
      'Z',
      '\u0001',
      'M14',
    ];
    let rows = 0;
    let invalid = 0;
    for (const file of files) {
      const [source, feed, dt] = file.split('/');
      const contract = contractFor(source!, feed!);
      if (!contract) continue;
      const extractDate = dt!.replace(/^dt=/, '');
      const columns = Object.keys(contract.fields);
      const schema = contract.rowSchema(extractDate);
      // one validator for the whole file, as validate uses it: the remembered values are exercised
      const isValid = contract.rowValidator(extractDate);
      const stats = { bytes: 0, sha256: '', blankLines: 0 };
      let header: string[] | null = null;
      for await (const batch of readCsv(createReadStream(join(landing, file)), stats)) {
        for (const rec of batch.slice(0, 200)) {
          if (!header) {
            header = rec.fields;
            continue;
          }
          const row: Record<string, string> = {};
          for (const c of columns) row[c] = rec.fields[header.indexOf(c)] ?? '';
          const variants = [row, ...columns.flatMap((c) => spoilers.map((v) => ({ ...row, [c]: v })))];
          for (const v of variants) {
            const expected = schema.safeParse(v).success;
            expect(isValid(v), `${file} line ${rec.line}`).toBe(expected);
            rows++;
            if (!expected) invalid++;
          }
        }
      }
    }
    expect(rows).toBeGreaterThan(10_000);
    expect(invalid).toBeGreaterThan(rows / 10);
    // a strict object: a column more or less is no valid row
    const c = contractFor('schools', 'pupils')!;
    const isValid = c.rowValidator(EXTRACT);
    expect(isValid(pupil)).toBe(true);
    expect(isValid({ ...pupil, extra: '' })).toBe(false);
    const { census_date: _c, ...short } = pupil;
    expect(isValid(short)).toBe(false);
  });
});
