/**
 * The match audit's "Ids since the last run": how many person and family ids were kept, new, merged, split and
 * retired (from this run's curated id_lineage), against which previous run. Counts and ids only.
 */
import { previousRunOf } from '../../history.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { iterateParquet } from '../../io/parquet.ts';
import { keys } from '../../layout.ts';
import { html, para, table, type SafeHtml } from '../html/index.ts';

export const LINEAGE_KINDS = ['kept', 'new', 'merge', 'split', 'retired'] as const;

export interface IdLineageSummary {
  previousAsAt: string | null;
  /** entity (person, family) -> kind -> ids */
  counts: Record<string, Record<string, number>>;
}

export async function loadIdLineage(ctx: {
  stores: { curated: ObjectStore; outputs: ObjectStore };
  asAt: string;
  runId: string;
}): Promise<IdLineageSummary> {
  const counts: IdLineageSummary['counts'] = {};
  for (const part of [0, 1]) {
    const key = keys.curatedPart('id_lineage', ctx.asAt, part);
    if (!(await ctx.stores.curated.exists(key))) continue;
    for await (const batch of iterateParquet(
      ctx.stores.curated,
      key,
      'SELECT entity, kind, count(*)::INTEGER AS n FROM {{file}} GROUP BY entity, kind ORDER BY entity, kind',
    )) {
      for (const r of batch) {
        const e = String(r.entity);
        counts[e] ??= Object.fromEntries(LINEAGE_KINDS.map((k) => [k, 0]));
        counts[e]![String(r.kind)] = Number(r.n);
      }
    }
  }
  return { previousAsAt: (await previousRunOf(ctx))?.asAt ?? null, counts };
}

export function lineageBody(l: IdLineageSummary | undefined): SafeHtml {
  if (!l || Object.keys(l.counts).length === 0) return para('No id lineage was written for this run.', true);
  const lead = l.previousAsAt
    ? `Ids carried over from the run as at ${l.previousAsAt}: a person or family keeps its id while the same records (persons) are together; on a merge the older id survives, on a split the larger part keeps it.`
    : 'No earlier completed run: every id is new.';
  return html`${para(lead)}${table({
    caption: 'Ids by what happened to them since the last run',
    columns: [
      { label: 'Entity', key: 'entity' },
      ...LINEAGE_KINDS.map((k) => ({ label: k, key: k, kind: 'num' as const })),
    ],
    rows: Object.entries(l.counts).map(([entity, c]) => ({ entity, ...c })) as Array<Record<string, string | number>>,
  })}${para("Each id's row (kind, since, from and to ids) is in the curated id_lineage table.", true)}`;
}
