/**
 * The target lists' memory between runs: the previous run's list state (its published target-lists/state.json, or
 * rebuilt from its curated tables when it has none), the family ids this run retired (id_lineage), and this run's
 * state for the next run.
 */
import { z } from 'zod';
import { parseStratifyConfig } from '../../../models/config.ts';
import { previousRunOf } from '../../history.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { iterateParquet } from '../../io/parquet.ts';
import { keys } from '../../layout.ts';
import type { StageContext } from '../../stages/context.ts';
import { loadLocalityLookups } from '../../localities/lookups.ts';
import { buildLocalityLists } from './build.ts';
import { stateFromLists, type ListState } from './changes.ts';
import { loadTargetFamilies } from './families.ts';
import { issuesText } from '../../../models/zod-issues.ts';

export const LIST_STATE_FILE = 'target-lists/state.json';

const listStateSchema = z.object({
  asAt: z.string(),
  listed: z.array(
    z.object({ familyId: z.string(), locality: z.string(), tier: z.string(), rank: z.number(), since: z.string() }),
  ),
  everListed: z.array(z.string()),
});

/** The previous run's list state, or null on a first run. */
export async function readPreviousListState(ctx: StageContext): Promise<ListState | null> {
  const prev = await previousRunOf(ctx);
  if (!prev) return null;
  const key = keys.output(prev.asAt, LIST_STATE_FILE);
  if (await ctx.stores.outputs.exists(key)) {
    const parsed = listStateSchema.safeParse(JSON.parse((await ctx.stores.outputs.get(key)).toString('utf8')));
    if (!parsed.success)
      throw new Error(`target lists: ${ctx.stores.outputs.location}/${key}: ${issuesText(parsed.error)}`);
    return parsed.data;
  }
  // a run from before list states were published: rebuild its lists from its curated tables
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const lookups = await loadLocalityLookups(cfg, ctx.stores.landing);
  return stateFromLists(
    prev.asAt,
    buildLocalityLists(await loadTargetFamilies(ctx, prev.asAt), lookups.localities.names),
  );
}

/** Family ids this run retired -> the id their members went to (from this run's id_lineage family part). */
export async function readRetiredFamilies(ctx: StageContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const key = keys.curatedPart('id_lineage', ctx.asAt, 1);
  if (!(await ctx.stores.curated.exists(key))) return out;
  for await (const batch of iterateParquet(
    ctx.stores.curated,
    key,
    "SELECT id, to_ids FROM {{numbered_file}} WHERE kind = 'retired' ORDER BY file_row_number",
  )) {
    for (const r of batch) {
      const to = Array.isArray(r.to_ids) ? r.to_ids : [];
      if (typeof r.id === 'string' && typeof to[0] === 'string') out.set(r.id, to[0]);
    }
  }
  return out;
}

/** Into the run's staged set (released with the lists as outputs/as_at=D/target-lists/state.json). */
export async function writeListState(release: ObjectStore, state: ListState): Promise<void> {
  await release.put(LIST_STATE_FILE, `${JSON.stringify(state)}\n`);
}
