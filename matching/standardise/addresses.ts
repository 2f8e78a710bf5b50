/**
 * First address line normalisation: upper case, accents folded, punctuation removed, street-type and
 * flat abbreviations expanded, flat designators made uniform ("Flat 3, 12 High St." -> "FLAT 3 12 HIGH STREET",
 * "Apt 3b" -> "FLAT 3B"). The house number, flat and street are also returned for comparisons. Pure.
 */
import { foldUpper } from './text.ts';

/** Abbreviation -> full word; applied to whole tokens. ST is handled apart (STREET or SAINT). */
export const ADDRESS_ABBREVIATIONS: Readonly<Record<string, string>> = {
  RD: 'ROAD',
  AVE: 'AVENUE',
  AV: 'AVENUE',
  AVN: 'AVENUE',
  CL: 'CLOSE',
  CRES: 'CRESCENT',
  CRESC: 'CRESCENT',
  CR: 'CRESCENT',
  DR: 'DRIVE',
  DRV: 'DRIVE',
  GDNS: 'GARDENS',
  GDN: 'GARDEN',
  GRN: 'GREEN',
  GR: 'GROVE',
  GRO: 'GROVE',
  GRV: 'GROVE',
  LN: 'LANE',
  PL: 'PLACE',
  SQ: 'SQUARE',
  TER: 'TERRACE',
  TERR: 'TERRACE',
  TCE: 'TERRACE',
  CT: 'COURT',
  CRT: 'COURT',
  HSE: 'HOUSE',
  HO: 'HOUSE',
  WY: 'WAY',
  PK: 'PARK',
  MT: 'MOUNT',
  BLVD: 'BOULEVARD',
  PDE: 'PARADE',
  WLK: 'WALK',
  STR: 'STREET',
  CTR: 'CENTRE',
  EST: 'ESTATE',
  BLDGS: 'BUILDINGS',
  BLDG: 'BUILDING',
  RDS: 'ROADS',
  MS: 'MEWS',
  UPR: 'UPPER',
  LWR: 'LOWER',
  GT: 'GREAT',
  NTH: 'NORTH',
  STH: 'SOUTH',
  HTS: 'HEIGHTS',
  APPR: 'APPROACH',
  CNR: 'CORNER',
};
const FLAT_WORDS = new Set(['FLAT', 'FLT', 'APT', 'APARTMENT', 'APPT', 'UNIT', 'ROOM', 'RM']);

export interface AddressLine {
  /** The normalised line, or null when blank. */
  line: string | null;
  /** Flat / apartment designator, e.g. "3B"; null when none. */
  flat: string | null;
  /** House number (possibly a range or with a letter: "12", "12A", "12-14"); null when none. */
  number: string | null;
  /** The line without flat and number, e.g. "HIGH STREET"; null when none. */
  street: string | null;
}

export function parseAddressLine(raw: string | null | undefined): AddressLine {
  const none: AddressLine = { line: null, flat: null, number: null, street: null };
  if (!raw) return none;
  const cleaned = foldUpper(raw)
    .replace(/'/g, '')
    .replace(/(\d)\s*-\s*(\d)/g, '$1-$2') // 12 - 14 -> 12-14
    .replace(/(\d)\s+([A-Z])\b(?!\w)/g, (m, d: string, l: string) => (l.length === 1 ? `${d}${l}` : m)) // 12 A -> 12A
    .replace(/[^A-Z0-9 -]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!cleaned) return none;
  let tokens = cleaned.split(' ');
  // Drop a leading "NO" before a number ("No 12 High St").
  tokens = tokens.filter((t, i) => !(t === 'NO' && /^\d/.test(tokens[i + 1] ?? '')));
  let flat: string | null = null;
  let number: string | null = null;
  const rest: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (FLAT_WORDS.has(t) && flat === null && i + 1 < tokens.length && /^\d+[A-Z]?$|^[A-Z]$/.test(tokens[i + 1]!)) {
      flat = tokens[++i]!;
      continue;
    }
    // "3/12 High St" style is normalised above to "3 12": a bare number before the house number is the flat.
    if (number === null && /^\d+[A-Z]?(-\d+[A-Z]?)?$/.test(t)) {
      const next = tokens[i + 1];
      if (flat === null && next !== undefined && /^\d+[A-Z]?(-\d+[A-Z]?)?$/.test(next)) {
        flat = t;
        continue;
      }
      number = t;
      continue;
    }
    rest.push(t);
  }
  const expanded = rest.map((t, i) => {
    // ST opening the street name with more words after it is SAINT (ST MARYS ROAD), otherwise STREET.
    if (t === 'ST') return i === 0 && rest.length > 1 ? 'SAINT' : 'STREET';
    return ADDRESS_ABBREVIATIONS[t] ?? t;
  });
  const street = expanded.length > 0 ? expanded.join(' ') : null;
  const line = [flat !== null ? `FLAT ${flat}` : null, number, street].filter((x) => x !== null).join(' ');
  return { line: line || null, flat, number, street };
}

/** The normalised first address line only. */
export function normaliseAddressLine(raw: string | null | undefined): string | null {
  return parseAddressLine(raw).line;
}
