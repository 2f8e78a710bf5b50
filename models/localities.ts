/**
 * Localities: postcode -> ward through rows in the ONS Postcode Directory's column layout (so a real ONSPD
 * extract can be dropped in), ward -> locality through configuration. Unknown postcodes go to "Unassigned".
 * Pure: callers parse the CSV/JSON and hand the rows in.
 */
import { z } from 'zod';
import { looksLikeColumnNames } from '../matching/csv.ts';

/** "m14  5rb" -> "M14 5RB"; null when it cannot be a UK postcode. */
export function normalisePostcode(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const s = raw.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (s.length < 5 || s.length > 7 || !/^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$/.test(s)) return null;
  return `${s.slice(0, -3)} ${s.slice(-3)}`;
}

export function postcodeDistrict(pc: string | null): string | null {
  const n = normalisePostcode(pc);
  return n ? n.split(' ')[0]! : null;
}

export interface PostcodeLookup {
  wardOf(postcode: string | null): string | null;
  size: number;
}

/**
 * Builds the postcode -> ward lookup from ONSPD-layout rows. The postcode is read from `pcds`, else `pcd2`,
 * else `pcd`; the ward from `osward`. Rows without a ward (or with a pseudo-code such as "E99999999") are skipped.
 * `origin` names the file in errors.
 */
export function buildPostcodeLookup(
  rows: Iterable<Record<string, string>>,
  origin = 'postcode directory',
): PostcodeLookup {
  const map = new Map<string, string>();
  let line = 1;
  let checkedHeader = false;
  for (const row of rows) {
    line += 1;
    if (!checkedHeader) {
      checkedHeader = true;
      if (!('osward' in row) || !('pcds' in row || 'pcd2' in row || 'pcd' in row)) {
        // the columns are named only when they look like column names: a file without its header row has data (postcodes) there
        const cols = Object.keys(row);
        throw new Error(
          `${origin}: not in the ONS Postcode Directory layout: needs columns pcds (or pcd2/pcd) and osward; ${looksLikeColumnNames(cols) ? `found ${cols.join(', ')}` : `the first line is not a header (${cols.length} fields, not shown: they may be data)`}`,
        );
      }
    }
    const pc = normalisePostcode(row.pcds ?? row.pcd2 ?? row.pcd);
    if (!pc) throw new Error(`${origin}: line ${line}, field pcds: not a postcode`);
    const ward = (row.osward ?? '').trim();
    if (!ward || /^[EWSN]99999999$/.test(ward)) continue;
    map.set(pc, ward);
  }
  return {
    size: map.size,
    wardOf: (postcode) => {
      const n = normalisePostcode(postcode);
      return n ? (map.get(n) ?? null) : null;
    },
  };
}

/**
 * Ward -> locality configuration. Accepted JSON shapes:
 *   { "localities": [ { "name": "North", "wards": ["E05..." | { "code": "E05...", "name": "..." }] } ] }
 *   { "localities": { "North": ["E05..."] } }
 *   { "E05...": "North" }  (a flat map)
 */
const wardRef = z.union([
  z.string().min(1),
  z
    .object({ code: z.string().min(1) })
    .loose()
    .transform((w) => w.code),
]);
const wardLocalityShapes = z.union([
  z.object({ localities: z.array(z.object({ name: z.string().min(1), wards: z.array(wardRef) }).loose()) }).loose(),
  z.object({ localities: z.record(z.string(), z.array(z.string().min(1))) }).loose(),
  z.record(z.string(), z.string()),
]);

export interface LocalityMap {
  localityOfWard(ward: string | null): string | null;
  /** Configured localities, in name order. */
  names: string[];
}

export function buildLocalityMap(raw: unknown, origin = 'ward-locality configuration'): LocalityMap {
  const parsed = wardLocalityShapes.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${origin}: expected {"localities": [{"name", "wards": [...]}]} or {"localities": {"<name>": [...]}} or {"<ward>": "<locality>"}`,
    );
  const map = new Map<string, string>();
  const add = (ward: string, name: string) => {
    const prev = map.get(ward);
    if (prev && prev !== name) throw new Error(`${origin}: ward ${ward} is in two localities (${prev}, ${name})`);
    map.set(ward, name);
  };
  const v = parsed.data as Record<string, unknown>;
  if (Array.isArray(v.localities))
    for (const l of v.localities as Array<{ name: string; wards: string[] }>) for (const w of l.wards) add(w, l.name);
  else if (v.localities && typeof v.localities === 'object')
    for (const [name, wards] of Object.entries(v.localities as Record<string, string[]>))
      for (const w of wards) add(w, name);
  else for (const [w, name] of Object.entries(v as Record<string, string>)) if (!w.startsWith('_')) add(w, name);
  return {
    names: [...new Set(map.values())].sort(),
    localityOfWard: (ward) => (ward ? (map.get(ward) ?? null) : null),
  };
}

export interface LocalityAssignment {
  wardCode: string | null;
  locality: string;
  postcodeDistrict: string | null;
  assigned: boolean;
}

export function assignLocality(
  postcode: string | null,
  lookup: PostcodeLookup,
  localities: LocalityMap,
  unassigned = 'Unassigned',
): LocalityAssignment {
  const ward = lookup.wardOf(postcode);
  const locality = localities.localityOfWard(ward);
  return {
    wardCode: ward,
    locality: locality ?? unassigned,
    postcodeDistrict: postcodeDistrict(postcode),
    assigned: locality !== null,
  };
}
