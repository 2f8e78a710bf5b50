import { describe, expect, it } from 'vitest';
import { makeRecordComparator, normaliserFor, prepareComparison } from '../../matching/comparisons.ts';
import { comparisonSchema, type ComparisonSettings } from '../../matching/settings.ts';
import { jaro, jaroWinkler, soundex } from '../../matching/similarity.ts';
import { buildTable } from '../../matching/table.ts';

/** The level label a comparison gives two raw values (column "x"; optional second column "y" for swaps). */
function level(
  spec: Partial<ComparisonSettings> & { type: ComparisonSettings['type'] },
  a: string | null,
  b: string | null,
  ya?: string,
  yb?: string,
): string {
  const c = comparisonSchema.parse({ column: 'x', ...spec });
  const norm = normaliserFor(c);
  const cols: Record<string, Array<string | null>> = { id: ['1', '2'], x: [a, b] };
  if (c.swapWith) cols[c.swapWith] = [ya ?? null, yb ?? null];
  const table = buildTable(
    [{ name: 't', columns: cols }],
    'id',
    ['x', ...(c.swapWith ? [c.swapWith] : [])],
    new Map(norm ? [['x', norm], ...(c.swapWith ? [[c.swapWith, norm] as const] : [])] : []),
  );
  const p = prepareComparison(c, table.columns.get('x')!, {}, c.swapWith ? table.columns.get(c.swapWith) : undefined);
  return p.levels[makeRecordComparator(p)(0, 1)]!.label;
}

describe('similarity functions', () => {
  it('computes Jaro and Jaro-Winkler as published (Winkler 1990 examples)', () => {
    expect(jaroWinkler('MARTHA', 'MARHTA')).toBeCloseTo(0.9611, 3);
    expect(jaroWinkler('DWAYNE', 'DUANE')).toBeCloseTo(0.84, 3);
    expect(jaroWinkler('DIXON', 'DICKSONX')).toBeCloseTo(0.8133, 3);
    expect(jaro('MARTHA', 'MARHTA')).toBeCloseTo(0.9444, 3);
    expect(jaroWinkler('ABC', 'XYZ')).toBe(0);
    expect(jaroWinkler('', 'A')).toBe(0);
    expect(jaroWinkler('SAME', 'SAME')).toBe(1);
  });
  it('makes Soundex keys', () => {
    expect(soundex('Robert')).toBe('R163');
    expect(soundex('Rupert')).toBe('R163');
    expect(soundex('Ashcraft')).toBe('A261');
    expect(soundex('Tymczak')).toBe('T522');
    expect(soundex('123')).toBe('');
  });
});

describe('comparison levels', () => {
  it('null is its own level whenever either side is missing', () => {
    for (const type of [
      'exact',
      'levenshtein',
      'jaro_winkler',
      'name',
      'date',
      'postcode_uk',
      'identifier',
      'string',
    ] as const) {
      expect(level({ type }, null, 'X')).toBe('null');
      expect(level({ type }, '  ', 'X')).toBe('null');
    }
  });
  it('exact', () => {
    expect(level({ type: 'exact' }, 'nsw', ' nsw ')).toBe('exact');
    expect(level({ type: 'exact' }, 'nsw', 'vic')).toBe('else');
  });
  it('levenshtein bands', () => {
    expect(level({ type: 'levenshtein' }, '1234567', '1234567')).toBe('exact');
    expect(level({ type: 'levenshtein' }, '1234567', '1234568')).toBe('levenshtein <= 1');
    expect(level({ type: 'levenshtein' }, '1234567', '1234588')).toBe('levenshtein <= 2');
    expect(level({ type: 'levenshtein' }, '1234567', '7654321')).toBe('else');
    expect(level({ type: 'levenshtein', distances: [3] }, '1234567', '1299967')).toBe('levenshtein <= 3');
  });
  it('Jaro-Winkler bands', () => {
    expect(level({ type: 'jaro_winkler' }, 'MARTHA', 'MARHTA')).toBe('jaro_winkler >= 0.92');
    expect(level({ type: 'jaro_winkler' }, 'DWAYNE', 'DUANE')).toBe('jaro_winkler >= 0.7');
    expect(level({ type: 'jaro_winkler' }, 'ABCDEF', 'UVWXYZ')).toBe('else');
  });
  it('name: exact after normalising, nickname equivalence, swaps, parts, similarity', () => {
    expect(level({ type: 'name' }, 'Zoë', 'ZOE')).toBe('exact');
    expect(level({ type: 'name' }, 'Bob', 'Robert')).toBe('equivalent (nickname/transliteration)');
    expect(level({ type: 'name' }, 'Jonathon', 'Jonathan')).toBe('jaro_winkler >= 0.92');
    expect(level({ type: 'name' }, 'Smith', 'Okonkwo')).toBe('else');
    expect(level({ type: 'name', parts: true }, 'Smith-Jones', 'Jones')).toBe('a name part equal');
    expect(level({ type: 'name', swapWith: 'y' }, 'Isla', 'Hall', 'Hall', 'Isla')).toBe('swapped with y');
  });
  it('date: exact, transposed day/month, one edit, same year-month, within a year, else (with a format)', () => {
    const d = { type: 'date' as const, format: 'yyyyMMdd' };
    expect(level(d, '19560409', '19560409')).toBe('exact');
    expect(level(d, '19560409', '19560904')).toBe('day and month transposed');
    expect(level(d, '19560409', '19560419')).toBe('one character edit');
    expect(level(d, '19560409', '19560428')).toBe('same year and month');
    expect(level(d, '19560409', '19570301')).toBe('within a year');
    expect(level(d, '19560409', '19800101')).toBe('else');
    expect(level({ type: 'date' }, '1956-04-09', '09/04/1956')).toBe('exact');
  });
  it('postcode_uk: full, sector, district, area, else', () => {
    expect(level({ type: 'postcode_uk' }, 'm14 5rb', 'M145RB')).toBe('full postcode');
    expect(level({ type: 'postcode_uk' }, 'M14 5RB', 'M14 5TQ')).toBe('same sector');
    expect(level({ type: 'postcode_uk' }, 'M14 5RB', 'M14 7AA')).toBe('same district');
    expect(level({ type: 'postcode_uk' }, 'M14 5RB', 'M1 1AA')).toBe('same area');
    expect(level({ type: 'postcode_uk' }, 'M14 5RB', 'SW1A 1AA')).toBe('else');
  });
  it('identifier tokens: exact or else (optionally one edit for clear ids)', () => {
    expect(level({ type: 'identifier' }, 'a1b2', 'a1b2')).toBe('exact');
    expect(level({ type: 'identifier' }, 'a1b2', 'a1b3')).toBe('else');
    expect(level({ type: 'identifier', distances: [1] }, 'a1b2', 'a1b3')).toBe('levenshtein <= 1');
  });
  it('string: exact (case and spaces ignored), one edit, similarity bands', () => {
    expect(level({ type: 'string' }, 'wallaby  place', 'WALLABY PLACE')).toBe('exact');
    expect(level({ type: 'string' }, 'pridham street', 'pridhamstreet')).toBe('levenshtein <= 1');
    expect(level({ type: 'string' }, 'hoseason street', 'hosaeson st')).toBe('jaro_winkler >= 0.9');
    expect(level({ type: 'string' }, 'wallaby place', 'kingsford road')).toBe('else');
  });
  it('rejects an unknown comparison type with a clear message', () => {
    const r = comparisonSchema.safeParse({ column: 'x', type: 'fuzzy' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/unknown comparison type "fuzzy"/);
  });
});
