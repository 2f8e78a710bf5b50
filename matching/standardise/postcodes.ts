/**
 * UK postcodes: parse a free-text postcode into its unit, sector, district and area. Pure.
 * "m14 5rb" -> { postcode: "M14 5RB", sector: "M14 5", district: "M14", area: "M" }.
 * An outward code alone ("M14") gives district and area with postcode and sector null.
 * A letter O typed for the inward digit (M14 ORB) is read as zero; anything else unparseable is null.
 */

export interface Postcode {
  postcode: string | null;
  sector: string | null;
  district: string | null;
  area: string | null;
}

const NONE: Postcode = { postcode: null, sector: null, district: null, area: null };
const OUTWARD = /^([A-Z]{1,2})[0-9][A-Z0-9]?$/;
const INWARD = /^[0-9][A-Z]{2}$/;

export function parsePostcode(raw: string | null | undefined): Postcode {
  if (!raw) return NONE;
  const s = raw.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (s.length === 0) return NONE;
  if (s === 'GIR0AA') return { postcode: 'GIR 0AA', sector: 'GIR 0', district: 'GIR', area: 'GIR' };
  // A bare outward code (M14, SW1A): full postcodes are 5-7 characters, outward codes 2-4.
  const outOnly = s.length <= 4 ? OUTWARD.exec(s) : null;
  if (outOnly) return { postcode: null, sector: null, district: s, area: outOnly[1]! };
  if (s.length < 5 || s.length > 7) return NONE;
  const outward = s.slice(0, -3);
  let inward = s.slice(-3);
  if (inward[0] === 'O') inward = `0${inward.slice(1)}`;
  const m = OUTWARD.exec(outward);
  if (!m || !INWARD.test(inward)) return NONE;
  return { postcode: `${outward} ${inward}`, sector: `${outward} ${inward[0]}`, district: outward, area: m[1]! };
}
