/** Writes target-lists/ into the run's staged set (released as outputs/as_at=D/target-lists/): <Locality>.csv, <Locality>.xlsx, <Locality> - open to statutory services.csv, index.html. */
import { parseStratifyConfig, ruleSetOf } from '../../../models/config.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { keys } from '../../layout.ts';
import { requireSignoffOf } from '../../release/run.ts';
import type { StageContext } from '../../stages/context.ts';
import { loadLocalityLookups } from '../../localities/lookups.ts';
import { readFamilies } from '../../tables/families.ts';
import { readFamilyMembers } from '../../tables/family-members.ts';
import { readScores } from '../../tables/scores.ts';
import { buildLocalityLists, localityFileName, statutoryRow, STATUTORY_HEADER, TARGET_LIST_HEADER, targetRow, type TargetFamily } from './build.ts';
import { toCsv } from './csv.ts';
import { renderTargetListIndex } from './html.ts';
import { writeXlsx } from './xlsx.ts';
import { coverageLabel, type HeadlineCoverage } from '../../../models/rules/coverage.ts';
import type { CellValue } from './csv.ts';
import { runHeadlineCoverage } from '../../stages/headline-coverage.ts';
import { notEvidencedNotice } from '../html/coverage.ts';
import { renderFullList } from './full-list.ts';
import { loadWardNames, withWardColumns } from './wards.ts';
import { cmp } from '../../../models/order.ts';

/**
 * Every list row says which headlines this run could not evidence (no feed received), so a list read on its own never
 * passes an unknown need off as no need: one column appended to a list's header and rows.
 */
export function withCoverageColumn(header: readonly string[], rows: CellValue[][], coverage: readonly HeadlineCoverage[]): { header: string[]; rows: CellValue[][] } {
  const note = coverage.filter((c) => c.status !== 'evidenced').map((c) => `${c.headline}: ${coverageLabel(c)}`).join('; ') || 'none';
  return { header: [...header, 'headlines_not_evidenced'], rows: rows.map((r) => [...r, note]) };
}


export async function loadTargetFamilies(ctx: StageContext, asAt = ctx.asAt): Promise<TargetFamily[]> {
  const fams = await readFamilies(ctx.stores.curated, asAt);
  const scores = new Map((await readScores(ctx.stores.curated, asAt)).map((s) => [s.familyId, s]));
  const members = new Map<string, TargetFamily['members']>();
  for (const m of await readFamilyMembers(ctx, asAt)) {
    const list = members.get(m.familyId) ?? [];
    list.push({ personId: m.personId, role: m.role, membership: m.membership, ageBand: m.ageBand });
    members.set(m.familyId, list);
  }
  return fams.map((f) => {
    const familyId = f.familyId;
    const s = scores.get(familyId);
    if (!s) throw new Error(`scores: family ${familyId} has no score row for as_at=${asAt}: run stratify first`);
    return {
      familyId,
      locality: f.locality,
      wardCode: f.wardCode,
      score: s.score,
      tier: s.tier,
      headlines: s.headlines,
      threeNeeds: s.threeNeeds,
      openToStatutory: s.openToStatutory,
      reasons: s.reasons,
      statutoryEvidence: s.statutoryEvidence,
      members: (members.get(familyId) ?? []).sort((a, b) => cmp(a.membership, b.membership) || cmp(a.personId, b.personId)),
      flags: f.flags,
      ruleSetVersion: s.ruleSetVersion,
    };
  });
}

export async function publishTargetLists(ctx: StageContext & { release: ObjectStore }): Promise<Record<string, number>> {
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const families = await loadTargetFamilies(ctx);
  // every configured locality gets a list (an empty one says so), plus Unassigned when families land there
  const lookups = await loadLocalityLookups(cfg, ctx.stores.landing);
  const lists = buildLocalityLists(families, lookups.localities.names);
  const coverage = await runHeadlineCoverage(ctx);
  const wards = await loadWardNames(cfg, ctx.stores.landing, ctx.log);
  const files: Record<string, { csv: string; xlsx: string; statutoryCsv: string; html: string }> = {};
  const widths = [6, 15, 8, 7, 30, 80, 50, 30];
  for (const l of lists) {
    const base = localityFileName(l.locality);
    const f = keys.targetListFiles(base);
    files[l.locality] = f;
    const rankedWards = withWardColumns(TARGET_LIST_HEADER, l.ranked.map(targetRow), l.ranked.map((x) => x.wardCode), wards);
    const statWards = withWardColumns(STATUTORY_HEADER, l.statutory.map(statutoryRow), l.statutory.map((x) => x.wardCode), wards);
    const ranked = withCoverageColumn(rankedWards.header, rankedWards.rows, coverage);
    const stat = withCoverageColumn(statWards.header, statWards.rows, coverage);
    await ctx.release.put(`target-lists/${f.csv}`, toCsv(ranked.header, ranked.rows));
    await ctx.release.put(`target-lists/${f.statutoryCsv}`, toCsv(stat.header, stat.rows));
    await ctx.release.put(`target-lists/${f.xlsx}`, writeXlsx([
      { name: 'Target list', header: ranked.header, rows: ranked.rows, widths: [...widths, 11, 20, 40] },
      { name: 'Open to statutory services', header: stat.header, rows: stat.rows, widths: [15, 50, 8, 7, 30, 80, 50, 30, 11, 20, 40] },
    ]));
    await ctx.release.put(`target-lists/${f.html}`, renderFullList({ asAt: ctx.asAt, runId: ctx.runId, list: l, wards, files: f, banner: notEvidencedNotice(coverage) }));
  }
  const release = requireSignoffOf(ctx.config) ? 'awaiting-signoff' : 'released';
  const page = renderTargetListIndex({ asAt: ctx.asAt, runId: ctx.runId, ruleSet, tiers: cfg.tiers, lists, files, release, coverage, wards });
  await ctx.release.put('target-lists/index.html', page);
  return {
    target_list_localities: lists.length,
    target_list_families_ranked: lists.reduce((a, l) => a + l.ranked.length, 0),
    target_list_families_statutory: lists.reduce((a, l) => a + l.statutory.length, 0),
    target_list_families_not_listed: lists.reduce((a, l) => a + l.notListed, 0),
  };
}
