/**
 * Names: forename (first given name) and middle names, nickname/transliteration alternatives,
 * surname and its parts. Pure.
 */
import { FORENAME_ALTERNATIVES } from './nicknames.ts';
import { normaliseText } from './text.ts';

export { normaliseText, foldUpper } from './text.ts';

export interface Forenames {
  /** First given name, upper case, folded; null when blank. Hyphenated names (JEAN-PAUL) stay whole. */
  forename: string | null;
  /** Remaining given names joined with single spaces; null when none. */
  middleNames: string | null;
}

/** Split a forename cell ("Mary Jane", "Anna-Maria Zofia") into first name and middle names. */
export function normaliseForenames(raw: string | null | undefined): Forenames {
  const t = normaliseText(raw);
  if (!t) return { forename: null, middleNames: null };
  const parts = t.split(' ');
  return { forename: parts[0]!, middleNames: parts.length > 1 ? parts.slice(1).join(' ') : null };
}

/**
 * Canonical equivalents of a normalised forename (nicknames, short forms, transliterations), sorted,
 * including the name itself: ROBERT -> [BERT, BOB, BOBBY, ROB, ROBBIE, ROBBY, ROBERT].
 * A hyphenated name also gets the alternatives of its parts' table entries when the whole is unknown.
 */
export function forenameAlternatives(forename: string | null): string[] {
  if (!forename) return [];
  const direct = FORENAME_ALTERNATIVES.get(forename);
  if (direct) return [...direct];
  const set = new Set<string>([forename]);
  if (forename.includes('-')) {
    for (const part of forename.split('-')) for (const a of FORENAME_ALTERNATIVES.get(part) ?? [part]) set.add(a);
  }
  return [...set].sort();
}

/** True when two normalised forenames are equal or share an equivalence group (BOB ~ ROBERT, KASIA ~ KATARZYNA). */
export function forenamesEquivalent(a: string | null, b: string | null): boolean {
  if (!a || !b) return false;
  if (a === b) return true;
  const alts = FORENAME_ALTERNATIVES.get(a);
  return alts !== undefined && alts.includes(b);
}

/** Name particles that are not a surname part on their own. */
const PARTICLES = new Set([
  'DE',
  'DA',
  'DI',
  'DO',
  'DOS',
  'DAS',
  'DEL',
  'DELLA',
  'DER',
  'DEN',
  'VAN',
  'VON',
  'LE',
  'LA',
  'DU',
  'AL',
  'EL',
  'BIN',
  'BINT',
  'BINTI',
  'IBN',
  'ST',
]);

/** Normalised surname: upper case, folded, apostrophes removed, spaces around hyphens removed. */
export function normaliseSurname(raw: string | null | undefined): string | null {
  return normaliseText(raw);
}

/**
 * Parts of a double-barrelled or multi-part surname: SMITH-JONES -> [SMITH, JONES];
 * DE SOUZA -> [SOUZA]; VAN DER BERG -> [BERG]; SMITH -> [SMITH]. Particles are dropped unless nothing else remains.
 */
export function surnameParts(surname: string | null): string[] {
  if (!surname) return [];
  const tokens = surname.split(/[ -]+/).filter((t) => t.length > 0);
  const kept = tokens.filter((t) => !PARTICLES.has(t));
  const parts = kept.length > 0 ? kept : tokens;
  return [...new Set(parts)];
}
