/** Curated `family_members`: who is in each family, in what role, and why. Written by families; read by stratify and reports. */
import type { Family, MembershipEvidence } from '../../matching/families/index.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { readParquet, type ParquetRow } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { str } from './read.ts';
import { col, type TableDef } from './table.ts';

export const FAMILY_MEMBERS: TableDef = {
  name: 'family_members',
  zone: 'curated',
  what: 'family members',
  row: 'one person in one family',
  columns: [
    col('family_id', 'VARCHAR', 'the family'),
    col('person_id', 'VARCHAR', 'the person'),
    col('role', 'VARCHAR', 'mother, father, carer, child, ... (models: FAMILY_ROLES)'),
    col('membership', 'VARCHAR', 'primary (their main family) or also_in'),
    col('age_band', 'VARCHAR', 'the age band on the as-at date (never the date of birth)'),
    col('is_child', 'BOOLEAN', 'a child of the family'),
    col('evidence', 'VARCHAR', 'JSON list of the relationships, groupings and addresses that put them there'),
  ],
};

export interface MemberRow {
  familyId: string;
  personId: string;
  role: string;
  membership: 'primary' | 'also_in';
  ageBand: string;
  isChild: boolean;
  evidence: string;
}

/** The columns scoring reads (the evidence JSON, most of the table's bytes, is left unread). */
export const SCORING_MEMBER_COLUMNS = ['family_id', 'person_id', 'role', 'membership', 'is_child'] as const;

export function memberOf(r: ParquetRow): MemberRow {
  return {
    familyId: str(r, 'family_id') ?? '',
    personId: str(r, 'person_id') ?? '',
    role: str(r, 'role') ?? '',
    membership: (str(r, 'membership') ?? 'primary') as 'primary' | 'also_in',
    ageBand: str(r, 'age_band') ?? 'unknown',
    isChild: r.is_child === true,
    evidence: str(r, 'evidence') ?? '[]',
  };
}

export async function readFamilyMembers(
  ctx: { stores: { curated: ObjectStore }; asAt: string },
  asAt = ctx.asAt,
): Promise<MemberRow[]> {
  const rows = await readParquet(ctx.stores.curated, keys.curated('family_members', asAt));
  return rows.map(memberOf);
}

/**
 * A member's evidence list as JSON: exactly JSON.stringify(evidence), but the text of a relationship or grouping
 * (shared by every member it names) is made once, not once per member.
 */
function evidenceJson(evidence: MembershipEvidence[], shared: WeakMap<MembershipEvidence, string>): string {
  let out = '[';
  for (let i = 0; i < evidence.length; i++) {
    const e = evidence[i]!;
    let text: string | undefined;
    if (e.kind === 'relationship' || e.kind === 'group') {
      text = shared.get(e);
      if (text === undefined) {
        text = JSON.stringify(e);
        shared.set(e, text);
      }
    } else text = JSON.stringify(e);
    out += i === 0 ? text : `,${text}`;
  }
  return `${out}]`;
}

/**
 * family_members rows, made as they are written (the evidence JSON of every member is never all held at once), from
 * families in order (an array, or a stream of them: the families merge reads its shards' files frame by frame).
 */
export async function* memberRowsOf(families: Iterable<Family> | AsyncIterable<Family>): AsyncGenerator<ParquetRow> {
  const shared = new WeakMap<MembershipEvidence, string>();
  for await (const f of families) {
    for (const m of f.members) {
      yield {
        family_id: f.familyId,
        person_id: m.personId,
        role: m.role,
        membership: m.membership,
        age_band: m.ageBand,
        is_child: m.isChild,
        evidence: evidenceJson(m.evidence, shared),
      };
    }
  }
}
