import { describe, expect, it } from 'vitest';
import {
  FORENAME_GROUPS,
  forenameAlternatives,
  forenamesEquivalent,
  normaliseForenames,
  normaliseSurname,
  normaliseText,
  surnameParts,
} from '../../../matching/standardise/index.ts';

describe('normaliseText', () => {
  it('upper-cases, folds accents and special letters, strips punctuation', () => {
    expect(normaliseText('  Zoë  ')).toBe('ZOE');
    expect(normaliseText('Łucja')).toBe('LUCJA');
    expect(normaliseText('Małgorzata')).toBe('MALGORZATA');
    expect(normaliseText('Strauß')).toBe('STRAUSS');
    expect(normaliseText("O'Neil")).toBe('ONEIL');
    expect(normaliseText('O’Neil')).toBe('ONEIL');
    expect(normaliseText('smith - jones')).toBe('SMITH-JONES');
    expect(normaliseText('Mary.Jane')).toBe('MARY JANE');
    expect(normaliseText('   ')).toBeNull();
    expect(normaliseText(null)).toBeNull();
  });
});

describe('forenames', () => {
  it('splits first and middle names', () => {
    expect(normaliseForenames('mary jane  ann')).toEqual({ forename: 'MARY', middleNames: 'JANE ANN' });
    expect(normaliseForenames('Jean-Paul')).toEqual({ forename: 'JEAN-PAUL', middleNames: null });
    expect(normaliseForenames('')).toEqual({ forename: null, middleNames: null });
  });

  it('gives nickname and transliteration alternatives including the name itself', () => {
    for (const n of ['BOB', 'ROBERT', 'ROB', 'BOBBY']) {
      const alts = forenameAlternatives(n);
      expect(alts).toEqual(expect.arrayContaining(['BOB', 'ROBERT', 'ROB', 'BOBBY']));
      expect(alts).toContain(n);
      expect([...alts].sort()).toEqual(alts);
    }
    expect(forenameAlternatives('KASIA')).toEqual(expect.arrayContaining(['KATARZYNA', 'KATE']));
    for (const [a, b] of [
      ['MOHAMMED', 'MUHAMMAD'],
      ['MOHAMMAD', 'MOHAMED'],
      ['KASIA', 'KATARZYNA'],
      ['BOB', 'ROBERT'],
      ['BILL', 'WILLIAM'],
      ['AYESHA', 'AISHA'],
    ] as const) {
      expect(forenamesEquivalent(a, b)).toBe(true);
      expect(forenamesEquivalent(b, a)).toBe(true);
    }
    expect(forenamesEquivalent('ROBERT', 'WILLIAM')).toBe(false);
    expect(forenamesEquivalent('ZZZ', 'ZZZ')).toBe(true);
    expect(forenamesEquivalent(null, 'ROBERT')).toBe(false);
    expect(forenameAlternatives('XANTHE')).toEqual(['XANTHE']);
    expect(forenameAlternatives(null)).toEqual([]);
  });

  it('joins names that share any group (AL is ALAN, ALBERT and ALEXANDER)', () => {
    expect(forenameAlternatives('AL')).toEqual(expect.arrayContaining(['ALAN', 'ALBERT', 'ALEXANDER']));
    expect(forenamesEquivalent('ALAN', 'ALEXANDER')).toBe(false);
  });

  it('keeps every table entry already in normalised form (so lookups of normalised names hit)', () => {
    for (const g of FORENAME_GROUPS) for (const n of g) expect(normaliseText(n)).toBe(n);
  });
});

describe('surnames', () => {
  it('splits double-barrelled names and drops particles', () => {
    expect(surnameParts(normaliseSurname('Smith-Jones'))).toEqual(['SMITH', 'JONES']);
    expect(surnameParts(normaliseSurname('Smith Jones'))).toEqual(['SMITH', 'JONES']);
    expect(surnameParts(normaliseSurname('de Souza'))).toEqual(['SOUZA']);
    expect(surnameParts(normaliseSurname('van der Berg'))).toEqual(['BERG']);
    expect(surnameParts(normaliseSurname('Smith'))).toEqual(['SMITH']);
    expect(surnameParts(normaliseSurname('Van'))).toEqual(['VAN']);
    expect(surnameParts(null)).toEqual([]);
  });
});
