/**
 * Writes target-lists/ into the run's staged set (released as outputs/as_at=D/target-lists/): <Locality>.csv,
 * <Locality>.xlsx, <Locality> - open to statutory services.csv, <Locality> - left the list.csv, index.html, and
 * state.json (this run's lists, which the next run compares with).
 */
import { parseStratifyConfig, ruleSetOf } from '../../../models/config.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { keys } from '../../layout.ts';
import { requireSignoffOf } from '../../release/run.ts';
import type { StageContext } from '../../stages/context.ts';
import { loadLocalityLookups } from '../../localities/lookups.ts';
import {
  buildLocalityLists,
  localityFileName,
  statutoryRow,
  STATUTORY_HEADER,
  TARGET_LIST_HEADER,
  targetRow,
  type LocalityList,
  type TargetFamily,
} from './build.ts';
import {
  CHANGE_HEADER,
  changeCells,
  CHANGES,
  LEFT_HEADER,
  leftRows,
  listChanges,
  type ListChanges,
} from './changes.ts';
import { changesSection, suppressedSection } from './changes-html.ts';
import {
  applyOutcomes,
  OUTCOME_HEADER,
  outcomeCells,
  outcomeSettingsOf,
  outcomesSheet,
  SUPPRESSED_HEADER,
  suppressedRows,
} from '../../outcomes/lists.ts';
import { readOutcomes } from '../../outcomes/store.ts';
import { readPreviousListState, readRetiredFamilies, writeListState } from './history.ts';
import { toCsv } from './csv.ts';
import { renderTargetListIndex } from './html.ts';
import { writeXlsx } from './xlsx.ts';
import { coverageLabel, type HeadlineCoverage } from '../../../models/rules/coverage.ts';
import type { CellValue } from './csv.ts';
import { runHeadlineCoverage } from '../../stages/headline-coverage.ts';
import { notEvidencedNotice } from '../html/coverage.ts';
import { renderFullList } from './full-list.ts';
import { loadWardNames, withWardColumns } from './wards.ts';
import { loadTargetFamilies } from './families.ts';

/**
 * Every list row says which headlines this run could not evidence (no feed received), so a list read on its own never
 * passes an unknown need off as no need: one column appended to a list's header and rows.
 */
export function withCoverageColumn(
  header: readonly string[],
  rows: CellValue[][],
  coverage: readonly HeadlineCoverage[],
): { header: string[]; rows: CellValue[][] } {
  const note =
    coverage
      .filter((c) => c.status !== 'evidenced')
      .map((c) => `${c.headline}: ${coverageLabel(c)}`)
      .join('; ') || 'none';
  return { header: [...header, 'headlines_not_evidenced'], rows: rows.map((r) => [...r, note]) };
}

export async function publishTargetLists(
  ctx: StageContext & { release: ObjectStore },
): Promise<Record<string, number>> {
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const families = await loadTargetFamilies(ctx);
  // every configured locality gets a list (an empty one says so), plus Unassigned when families land there
  const lookups = await loadLocalityLookups(cfg, ctx.stores.landing);
  // leads' outcomes: declined / not appropriate families are kept off the ranked lists for a while, listed apart
  const withOutcomes = applyOutcomes(
    buildLocalityLists(families, lookups.localities.names),
    await readOutcomes(ctx.stores.secure, ctx.asAt),
    ctx.asAt,
    outcomeSettingsOf(ctx.config.publish),
  );
  const lists = withOutcomes.lists;
  const changes = await changesSinceLastList(
    ctx,
    lists,
    families,
    cfg.tiers.map((t) => t.name),
    withOutcomes.suppressedWhy,
  );
  const coverage = await runHeadlineCoverage(ctx);
  const wards = await loadWardNames(cfg, ctx.stores.landing, ctx.log);
  const files: Record<string, { csv: string; xlsx: string; statutoryCsv: string; html: string }> = {};
  const leftFiles: Record<string, string> = {};
  const widths = [6, 15, 8, 7, 30, 80, 50, 30, 11, 20, ...CHANGE_WIDTHS, 40, 40];
  for (const l of lists) {
    const base = localityFileName(l.locality);
    const f = keys.targetListFiles(base);
    files[l.locality] = f;
    leftFiles[l.locality] = `${base} - left the list.csv`;
    const rankedWards = withWardColumns(
      TARGET_LIST_HEADER,
      l.ranked.map(targetRow),
      l.ranked.map((x) => x.wardCode),
      wards,
    );
    const statWards = withWardColumns(
      STATUTORY_HEADER,
      l.statutory.map(statutoryRow),
      l.statutory.map((x) => x.wardCode),
      wards,
    );
    // what changed since the last list and the lead's latest outcome, after the list's own columns; every list
    // (the leavers and the suppressed too) ends with the headlines this run could not evidence
    const { header, rows: ranked } = withCoverageColumn(
      [...rankedWards.header, ...CHANGE_HEADER, ...OUTCOME_HEADER],
      rankedWards.rows.map((r, i) => [
        ...r,
        ...changeCells(changes, l.ranked[i]!.familyId),
        ...outcomeCells(withOutcomes, l.ranked[i]!.familyId),
      ]),
      coverage,
    );
    const stat = withCoverageColumn(statWards.header, statWards.rows, coverage);
    const suppressed = withCoverageColumn(SUPPRESSED_HEADER, suppressedRows(withOutcomes, l.locality), coverage);
    const left = withCoverageColumn(LEFT_HEADER, leftRows(changes, l.locality), coverage);
    await ctx.release.put(`target-lists/${f.csv}`, toCsv(header, ranked));
    await ctx.release.put(`target-lists/${f.statutoryCsv}`, toCsv(stat.header, stat.rows));
    await ctx.release.put(`target-lists/${leftFiles[l.locality]}`, toCsv(left.header, left.rows));
    await ctx.release.put(
      `target-lists/${base} - suppressed after contact.csv`,
      toCsv(suppressed.header, suppressed.rows),
    );
    await ctx.release.put(
      `target-lists/${f.xlsx}`,
      writeXlsx([
        { name: 'Target list', header, rows: ranked, widths },
        {
          name: 'Open to statutory services',
          header: stat.header,
          rows: stat.rows,
          widths: [15, 50, 8, 7, 30, 80, 50, 30, 11, 20, 40],
        },
        { name: 'Left the list', header: left.header, rows: left.rows, widths: [15, 10, 10, 20, 60, 40] },
        {
          name: 'Suppressed after contact',
          header: suppressed.header,
          rows: suppressed.rows,
          widths: [15, 8, 7, 18, 12, 16, 40],
        },
        outcomesSheet(l.ranked.map((x) => x.familyId)),
      ]),
    );
    await ctx.release.put(
      `target-lists/${f.html}`,
      renderFullList({
        asAt: ctx.asAt,
        runId: ctx.runId,
        list: l,
        wards,
        files: f,
        banner: notEvidencedNotice(coverage),
      }),
    );
  }
  const release = requireSignoffOf(ctx.config) ? 'awaiting-signoff' : 'released';
  const page = renderTargetListIndex({
    asAt: ctx.asAt,
    runId: ctx.runId,
    ruleSet,
    tiers: cfg.tiers,
    lists,
    files,
    release,
    coverage,
    wards,
    extraSections: [changesSection(changes, lists, leftFiles), suppressedSection(withOutcomes)],
  });
  await ctx.release.put('target-lists/index.html', page);
  await writeListState(ctx.release, changes.state);
  return {
    target_list_localities: lists.length,
    target_list_families_ranked: lists.reduce((a, l) => a + l.ranked.length, 0),
    target_list_families_statutory: lists.reduce((a, l) => a + l.statutory.length, 0),
    target_list_families_not_listed: lists.reduce((a, l) => a + l.notListed, 0),
    ...changeTotals(changes),
    target_list_families_suppressed: withOutcomes.suppressed.length,
    target_list_families_with_outcome: withOutcomes.latest.size,
  };
}

/** This run's lists against the previous run's (see changes.ts). */
async function changesSinceLastList(
  ctx: StageContext,
  lists: LocalityList[],
  families: TargetFamily[],
  tierOrder: string[],
  suppressed: ReadonlyMap<string, string>,
): Promise<ListChanges> {
  return listChanges({
    asAt: ctx.asAt,
    lists,
    tierOrder,
    suppressed,
    families: new Map(families.map((f) => [f.familyId, f])),
    previous: await readPreviousListState(ctx),
    retiredInto: await readRetiredFamilies(ctx),
  });
}

const CHANGE_WIDTHS = [12, 10, 10, 10];

function changeTotals(c: ListChanges): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of CHANGES) out[`target_list_change_${k.replace('-', '_')}`] = 0;
  for (const x of c.changes.values()) out[`target_list_change_${x.change.replace('-', '_')}`]! += 1;
  out.target_list_families_left = c.left.length;
  return out;
}
