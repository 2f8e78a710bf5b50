/**
 * Stable ids across runs (see matching/lineage.ts): reads what the previous run (history.ts) said each member's id
 * was, and writes this run's curated `id_lineage` part for one entity (persons: part 0, by match; families: part 1,
 * by families). A run with no previous run mints every id afresh, as before ids carried over.
 */
import { createHash } from 'node:crypto';
import { carryOverIds, type CarryOverResult, type LineageRow, type Previous } from '../../matching/lineage.ts';
import { iterateParquet, writeParquet, type ParquetRow } from '../io/parquet.ts';
import { ID_LINEAGE_COLUMNS } from '../tables/id-lineage.ts';
import { previousRunOf } from '../history.ts';
import { keys } from '../layout.ts';
import type { StageContext } from './context.ts';

export type LineageEntity = 'person' | 'family';

const PART: Record<LineageEntity, number> = { person: 0, family: 1 };

/** The curated id_lineage table's columns (pipelines/tables/id-lineage.ts). */
export const LINEAGE_COLUMNS = ID_LINEAGE_COLUMNS;

const text = (v: unknown): string | null =>
  typeof v === 'string' && v !== '' ? v : v instanceof Date ? v.toISOString().slice(0, 10) : null;

/** Where the previous run's member -> id pairs are: a curated table and its two columns (and a filter). */
export interface MembershipSource {
  table: 'persons' | 'family_members';
  member: string;
  id: string;
  /** SQL over {{file}} choosing the rows (default: all); a filter reads {{numbered_file}} and orders by file_row_number, to keep file order. */
  sql?: string;
}

const SOURCES: Record<LineageEntity, MembershipSource> = {
  person: { table: 'persons', member: 'record_id', id: 'person_id' },
  family: {
    table: 'family_members',
    member: 'person_id',
    id: 'family_id',
    sql: "SELECT person_id, family_id FROM {{numbered_file}} WHERE membership = 'primary' ORDER BY file_row_number",
  },
};

/** The previous run's ids for an entity (null on a first run), with each id's `since` from its lineage part. */
export async function readPrevious(
  ctx: StageContext,
  entity: LineageEntity,
): Promise<{ asAt: string; previous: Previous } | null> {
  const prev = await previousRunOf(ctx);
  if (!prev) return null;
  const src = SOURCES[entity];
  const key = keys.curated(src.table, prev.asAt);
  if (!(await ctx.stores.curated.exists(key)))
    throw new Error(
      `lineage: the previous run (${prev.asAt}) has no ${src.table} table at ${ctx.stores.curated.location}/${key}`,
    );
  const idOf = new Map<string, string>();
  const since = new Map<string, string>();
  for await (const batch of iterateParquet(ctx.stores.curated, key, src.sql)) {
    for (const r of batch as ParquetRow[]) {
      const m = text(r[src.member]);
      const id = text(r[src.id]);
      if (m === null || id === null) continue;
      idOf.set(m, id);
      since.set(id, prev.asAt);
    }
  }
  // when each id was first given: the previous run's lineage (a run from before ids carried over has none)
  const lineageKey = keys.curatedPart('id_lineage', prev.asAt, PART[entity]);
  if (await ctx.stores.curated.exists(lineageKey)) {
    for await (const batch of iterateParquet(
      ctx.stores.curated,
      lineageKey,
      "SELECT id, since FROM {{numbered_file}} WHERE kind <> 'retired' ORDER BY file_row_number",
    )) {
      for (const r of batch as ParquetRow[]) {
        const id = text(r.id);
        const s = text(r.since);
        if (id !== null && s !== null && since.has(id)) since.set(id, s);
      }
    }
  }
  return { asAt: prev.asAt, previous: { idOf, since } };
}

function rowOf(asAt: string, entity: LineageEntity, r: LineageRow): ParquetRow {
  return { as_at: asAt, entity, id: r.id, kind: r.kind, since: r.since, from_ids: r.fromIds, to_ids: r.toIds };
}

/** Carries ids over for an entity's groups (see carryOverIds) and writes its lineage part; returns ids and counts. */
export async function carryOver(
  ctx: StageContext,
  entity: LineageEntity,
  groups: ReadonlyArray<readonly string[]>,
  mint: (group: number, salt: string | null) => string,
): Promise<CarryOverResult & { previousAsAt: string | null }> {
  const prev = await readPrevious(ctx, entity);
  const res = carryOverIds(groups, prev?.previous ?? null, ctx.asAt, mint);
  await writeParquet(
    ctx.stores.curated,
    keys.curatedPart('id_lineage', ctx.asAt, PART[entity]),
    LINEAGE_COLUMNS,
    res.lineage.map((r) => rowOf(ctx.asAt, entity, r)),
  );
  return { ...res, previousAsAt: prev?.asAt ?? null };
}

/** The lineage counts as stage counts (`<entity>_ids_<what>`), for the manifest and the match audit. */
export function lineageCounts(entity: LineageEntity, c: CarryOverResult['counts']): Record<string, number> {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [`${entity}_ids_${k}`, v]));
}

/**
 * Family ids carried over by their primary members (person ids, themselves carried over by match): `groups[g]` is
 * family g's primary members, `formedIds[g]` the id family formation gave it. New ids: that id (first run) or that
 * id salted with the as-at date. Returns each family's id (the families are renamed and re-sorted by the caller).
 */
export async function carryOverFamilyIds(
  ctx: StageContext,
  groups: ReadonlyArray<readonly string[]>,
  formedIds: readonly string[],
): Promise<{ ids: string[]; counts: Record<string, number> }> {
  const res = await carryOver(ctx, 'family', groups, (g, salt) => {
    const base = formedIds[g]!;
    return salt === null
      ? base
      : `F${createHash('sha256').update(`family:${base}@${salt}`).digest('hex').slice(0, 12)}`;
  });
  return { ids: res.ids, counts: lineageCounts('family', res.counts) };
}
