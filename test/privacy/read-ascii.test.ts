/**
 * The privacy scan reads ASCII text in one pass (readAscii) instead of normaliseText, hasJoinedWords and tokenWords
 * one after the other: the readings must be the same, word for word, or the scan would miss (or invent) a name.
 * Checked on the shapes identifiers hide in and on a seeded corpus of strings built to hit every boundary (case
 * changes, digits against letters, separators, hex runs).
 */
import { describe, expect, it } from 'vitest';
import { hasJoinedWords, normaliseText, readAscii, tokenWords } from '../../pipelines/privacy/identifiers.ts';

function expectSameReading(text: string): void {
  const r = readAscii(text);
  expect(r, text).not.toBeNull();
  expect(r!.plain.join(' '), text).toBe(normaliseText(text));
  expect(r!.joined !== null, text).toBe(hasJoinedWords(text));
  if (r!.joined) expect(r!.joined, text).toEqual(tokenWords(text));
  expect(r!.digit, text).toBe(/\d/.test(text));
  expect(r!.digitLetterLetter, text).toBe(/\d[A-Z]{2}/.test(text.toUpperCase()));
  // a 64-digit token needs a run of 64 hex digits: the scan only looks for tokens where there is one
  if (/\b[0-9a-f]{64}\b/i.test(text)) expect(r!.longestHexRun, text).toBeGreaterThanOrEqual(64);
}

describe('readAscii', () => {
  it('reads the shapes identifiers hide in as the three functions do', () => {
    for (const text of [
      'HamzaButt01',
      'Hamza.Butt.DA1',
      'HAMZAButt_26101996',
      'BUTT-1996-10-26',
      'Butt_26101996',
      'm1_4bt',
      'M14BT',
      'ref 1996-10-26',
      'REF-2026-03-05-001',
      'health:people:HLT17491952',
      '[{"kind":"co_residence","withPersonIds":["P386a7302b35f"]}]',
      `token ${'ab12'.repeat(16)} end`,
      'ABCd xYZw aB1c2D',
      '  leading and trailing  ',
      '',
      '---',
    ])
      expectSameReading(text);
  });

  it('reads a seeded corpus of 50,000 strings as the three functions do', () => {
    let seed = 20261207;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const alphabet = 'aAbBzZfFgG0919 _-.:/"\'|()[]{},;';
    for (let i = 0; i < 50_000; i++) {
      let s = '';
      const len = Math.floor(next() * 24);
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(next() * alphabet.length)];
      if (i % 1000 === 0) s += `${'0a'.repeat(32)}${next() < 0.5 ? '' : 'x'}`;
      expectSameReading(s);
    }
  });

  it('leaves text that is not ASCII to Unicode folding (null)', () => {
    expect(readAscii('Zoë Butt')).toBeNull();
    expect(readAscii('STRAßE')).toBeNull();
  });
});
