/** Ward names for the target lists: leads know their wards by name, the data carries ONS ward codes. */
import { parseCsvColumns } from '../../../matching/csv.ts';
import type { StratifyConfig } from '../../../models/config.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import type { Log } from '../../log.ts';
import { readLookup } from '../../localities/lookups.ts';
import type { CellValue } from './csv.ts';

export type WardNames = ReadonlyMap<string, string>;

/** Parses a ward-names CSV: columns ward_code/ward_name, or the ONS WDyyCD/WDyyNM pair. Errors name the file and row. */
export function parseWardNames(text: string, origin: string): Map<string, string> {
  const csv = parseCsvColumns(text, origin);
  const code = csv.header.find((h) => /^(ward_code|WD\d\dCD)$/i.test(h));
  const name = csv.header.find((h) => /^(ward_name|WD\d\dNM)$/i.test(h));
  if (!code || !name)
    throw new Error(
      `ward names ${origin}: needs a ward_code and a ward_name column (or ONS WDyyCD and WDyyNM); header is ${csv.header.join(',')}`,
    );
  const out = new Map<string, string>();
  for (let i = 0; i < csv.rows; i++) {
    const c = csv.columns[code]![i]!.trim();
    const n = csv.columns[name]![i]!.trim();
    if (!c || !n) throw new Error(`ward names ${origin}: row ${i + 2} has a blank ${!c ? code : name}`);
    out.set(c, n);
  }
  return out;
}

/** The configured ward names; an absent file gives none (codes are shown alone) and a warning, never a failed publish. */
export async function loadWardNames(
  cfg: StratifyConfig,
  landing: ObjectStore | undefined,
  log: Log,
): Promise<WardNames> {
  let file: { text: string; origin: string };
  try {
    file = await readLookup('ward names', cfg.localities.wardNames, landing);
  } catch (err) {
    log.warn('target lists: ward names lookup not found; lists show ward codes only', {
      configured: cfg.localities.wardNames,
      error: (err as Error).message,
    });
    return new Map();
  }
  return parseWardNames(file.text, file.origin);
}

/** "Ancoats & Beswick (E05011352)", the code alone when the name is unknown, '' when the family has no ward. */
export function wardLabel(code: string | null, names: WardNames): string {
  if (!code) return '';
  const n = names.get(code);
  return n ? `${n} (${code})` : code;
}

/** Appends ward_code and ward_name to a list's header and rows (rows in the order of `wardCodes`). */
export function withWardColumns(
  header: readonly string[],
  rows: CellValue[][],
  wardCodes: ReadonlyArray<string | null>,
  names: WardNames,
): { header: string[]; rows: CellValue[][] } {
  return {
    header: [...header, 'ward_code', 'ward_name'],
    rows: rows.map((r, i) => [...r, wardCodes[i] ?? '', names.get(wardCodes[i] ?? '') ?? '']),
  };
}
