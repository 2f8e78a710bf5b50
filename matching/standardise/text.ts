/**
 * Text normalisation shared by names and addresses: upper case, accents and special letters folded to
 * ASCII (É -> E, Ł -> L, ß -> SS, Ø -> O), punctuation other than hyphens and apostrophes removed,
 * whitespace collapsed. Pure.
 */

/** Letters NFD does not decompose into a base letter plus combining marks. */
const SPECIAL: Record<string, string> = {
  ß: 'SS',
  ẞ: 'SS',
  Æ: 'AE',
  æ: 'AE',
  Œ: 'OE',
  œ: 'OE',
  Ø: 'O',
  ø: 'O',
  Ł: 'L',
  ł: 'L',
  Đ: 'D',
  đ: 'D',
  Ð: 'D',
  ð: 'D',
  Þ: 'TH',
  þ: 'TH',
  ı: 'I',
  Ħ: 'H',
  ħ: 'H',
  '\u2019': "'",
  '\u2018': "'",
  '\u2010': '-',
  '\u2011': '-',
  '\u2013': '-',
  '\u2014': '-',
};
const SPECIAL_RE = new RegExp(`[${Object.keys(SPECIAL).join('')}]`, 'g');

/** Upper case with accents folded to ASCII; other characters kept. */
export function foldUpper(s: string): string {
  return s
    .replace(SPECIAL_RE, (c) => SPECIAL[c] ?? c)
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toUpperCase();
}

/**
 * Normalise a name-like value: fold, keep letters, digits, spaces, hyphens; apostrophes are removed
 * (O'NEIL -> ONEIL), any other punctuation becomes a space; spaces around hyphens removed; collapsed.
 * Returns null for blank input.
 */
export function normaliseText(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  const out = foldUpper(s)
    .replace(/'/g, '')
    .replace(/[^A-Z0-9 -]+/g, ' ')
    .replace(/\s*-\s*/g, '-')
    .replace(/-+/g, '-')
    .replace(/\s+/g, ' ')
    .replace(/^[\s-]+|[\s-]+$/g, '');
  return out.length > 0 ? out : null;
}
