/** Curated `families`: one row per family formed on the as-at date, with its locality. Written by families; read by reports. */
import type { ObjectStore } from '../io/object-store.ts';
import { readParquet, type ParquetRow } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { list, need, str } from './read.ts';
import { col, type TableDef } from './table.ts';

export const FAMILIES: TableDef = {
  name: 'families',
  zone: 'curated',
  what: 'families',
  row: 'one family on the as-at date',
  columns: [
    col('family_id', 'VARCHAR', 'the family'),
    col('as_at', 'DATE', 'the as-at date (the partition key in Glue)'),
    col('locality', 'VARCHAR', "the family's locality, or the unassigned name"),
    col('ward_code', 'VARCHAR', 'the ward of its postcode'),
    col('postcode_district', 'VARCHAR', 'e.g. M14 (never the full postcode)'),
    col('members', 'INTEGER', 'primary members'),
    col('children', 'INTEGER', 'primary members who are children'),
    col('adults', 'INTEGER', 'primary members who are adults'),
    col('members_elsewhere', 'INTEGER', 'members whose primary family is another'),
    col('flags', 'VARCHAR[]', 'data-quality flags (sorted)'),
  ],
};

export interface FamilyRow {
  familyId: string;
  asAt: string;
  locality: string;
  wardCode: string | null;
  postcodeDistrict: string | null;
  members: number;
  children: number;
  adults: number;
  membersElsewhere: number;
  flags: string[];
}

export function familyToRow(f: FamilyRow): ParquetRow {
  return {
    family_id: f.familyId,
    as_at: f.asAt,
    locality: f.locality,
    ward_code: f.wardCode,
    postcode_district: f.postcodeDistrict,
    members: f.members,
    children: f.children,
    adults: f.adults,
    members_elsewhere: f.membersElsewhere,
    flags: f.flags,
  };
}

/** A families row (the locality defaults to `unassigned` when the row has none). */
export function familyFromRow(r: ParquetRow, unassigned = 'Unassigned'): FamilyRow {
  const n = (k: string): number => (typeof r[k] === 'number' ? (r[k] as number) : 0);
  return {
    familyId: need(r, 'families', 'family_id'),
    asAt: str(r, 'as_at') ?? '',
    locality: str(r, 'locality') ?? unassigned,
    wardCode: str(r, 'ward_code'),
    postcodeDistrict: str(r, 'postcode_district'),
    members: n('members'),
    children: n('children'),
    adults: n('adults'),
    membersElsewhere: n('members_elsewhere'),
    flags: list(r, 'flags'),
  };
}

export async function readFamilies(curated: ObjectStore, asAt: string, unassigned?: string): Promise<FamilyRow[]> {
  return (await readParquet(curated, keys.curated('families', asAt))).map((r) => familyFromRow(r, unassigned));
}
