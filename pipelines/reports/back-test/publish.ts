/**
 * The back-test report, each run: for every earlier completed run with enough follow-up (6 and 12 months before this
 * run's as-at date), the families it scored against this run's social care episodes (models/back-test.ts).
 * Also child-level: the primary members under 18 of those families, each counted as one (its family's tier), broken
 * down by sex (from the secure person records; counted, never published per child) and the child's age band.
 * Writes back-test/report.html and report.csv into the run's staged set (released as outputs/as_at=D/back-test/). Family counts for analysts (not a board report).
 */
import { AGE_BANDS } from '../../../models/age-bands.ts';
import { backTest, type BackTestFamily, type BackTestResult } from '../../../models/back-test.ts';
import { parseStratifyConfig } from '../../../models/config.ts';
import { addMonths } from '../../../models/dates.ts';
import { completedRunsBefore } from '../../history.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { iterateParquet } from '../../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../layout.ts';
import type { StageContext } from '../../stages/context.ts';
import { readFacts } from '../../tables/facts.ts';
import { readFamilyMembers } from '../../tables/family-members.ts';
import { readPersonMap } from '../../tables/persons.ts';
import { loadTargetFamilies } from '../target-lists/families.ts';
import { backTestCsv, renderBackTest } from './render.ts';

export const WINDOWS_MONTHS = [6, 12] as const;

/** Start dates of statutory episodes per person, from this run's facts. */
async function statutoryStarts(ctx: StageContext, types: readonly string[]): Promise<Map<string, string[]>> {
  const personOf = await readPersonMap(ctx);
  const { facts } = await readFacts(ctx, personOf, ['social_care_episode']);
  const out = new Map<string, string[]>();
  for (const f of facts) {
    if (!types.includes(f.detail.episode_type ?? '')) continue;
    const l = out.get(f.personId);
    if (l) l.push(f.date);
    else out.set(f.personId, [f.date]);
  }
  return out;
}

/**
 * Each person's sex from the secure person records (M, F; unknown when none or when the records disagree), by this
 * run's person ids. Counted in the report, never published per person.
 */
async function sexOfPersons(ctx: StageContext): Promise<Map<string, string>> {
  const personOf = await readPersonMap(ctx);
  const seen = new Map<string, Set<string>>();
  for await (const batch of iterateParquet(
    ctx.stores.secure,
    keys.secure(ctx.asAt, PERSON_RECORDS_KEY),
    'SELECT record_id, sex FROM {{file}}',
  )) {
    for (const r of batch) {
      const p = personOf.get(String(r.record_id));
      const sex = r.sex === 'M' || r.sex === 'F' ? r.sex : null;
      if (!p || !sex) continue;
      const set = seen.get(p);
      if (set) set.add(sex);
      else seen.set(p, new Set([sex]));
    }
  }
  return new Map([...seen].map(([p, s]) => [p, s.size === 1 ? (s.has('F') ? 'female' : 'male') : 'unknown']));
}

/** The children of the families an earlier run scored (primary members under 18), each with its family's tier. */
async function childrenAt(
  ctx: StageContext,
  asAt: string,
  families: readonly BackTestFamily[],
  sexOf: ReadonlyMap<string, string>,
): Promise<BackTestFamily[]> {
  const familyOf = new Map(families.map((f) => [f.familyId, f]));
  const out: BackTestFamily[] = [];
  for (const m of await readFamilyMembers(ctx, asAt)) {
    const f = familyOf.get(m.familyId);
    if (!f || !m.isChild || m.membership !== 'primary') continue;
    out.push({
      familyId: m.personId,
      tier: f.tier,
      openToStatutory: f.openToStatutory,
      personIds: [m.personId],
      groups: {
        locality: f.groups.locality ?? 'unknown',
        sex: sexOf.get(m.personId) ?? 'unknown',
        'age band': m.ageBand === 'unknown' ? 'unknown' : `aged ${m.ageBand}`,
      },
    });
  }
  return out;
}

/** The families an earlier run scored, with the groups the report breaks down by. */
async function familiesAt(ctx: StageContext, asAt: string): Promise<BackTestFamily[]> {
  const sourcesOf = new Map<string, Set<string>>();
  for await (const batch of iterateParquet(ctx.stores.curated, keys.curated('persons', asAt))) {
    for (const r of batch) {
      const p = String(r.person_id);
      const s = String(r.record_id).split(':')[0]!;
      const set = sourcesOf.get(p);
      if (set) set.add(s);
      else sourcesOf.set(p, new Set([s]));
    }
  }
  return (await loadTargetFamilies(ctx, asAt)).map((f) => {
    const primary = f.members.filter((m) => m.membership === 'primary');
    const sources = new Set(primary.flatMap((m) => [...(sourcesOf.get(m.personId) ?? [])]));
    const youngest = primary
      .map((m) => AGE_BANDS.indexOf(m.ageBand as (typeof AGE_BANDS)[number]))
      .filter((i) => i >= 0 && AGE_BANDS[i] !== 'unknown')
      .sort((a, b) => a - b)[0];
    return {
      familyId: f.familyId,
      tier: f.tier,
      openToStatutory: f.openToStatutory,
      personIds: primary.map((m) => m.personId),
      groups: {
        locality: f.locality,
        'source coverage': `${sources.size} source${sources.size === 1 ? '' : 's'}`,
        'youngest member': youngest === undefined ? 'unknown' : `aged ${AGE_BANDS[youngest]}`,
      },
    };
  });
}

export async function publishBackTest(ctx: StageContext & { release: ObjectStore }): Promise<Record<string, number>> {
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const tiers = cfg.tiers.map((t) => t.name);
  const earlier = (await completedRunsBefore(ctx.stores.outputs, ctx.asAt)).filter(
    (r) => addMonths(r.asAt, WINDOWS_MONTHS[0]) <= ctx.asAt,
  );
  const results: BackTestResult[] = [];
  const children: BackTestResult[] = [];
  if (earlier.length > 0) {
    const starts = await statutoryStarts(ctx, cfg.statutoryEpisodeTypes);
    const sexOf = await sexOfPersons(ctx);
    for (const run of earlier) {
      const families = await familiesAt(ctx, run.asAt);
      const kids = await childrenAt(ctx, run.asAt, families, sexOf);
      for (const w of WINDOWS_MONTHS)
        if (addMonths(run.asAt, w) <= ctx.asAt) {
          results.push(backTest(families, starts, run.asAt, w, tiers));
          children.push(backTest(kids, starts, run.asAt, w, tiers, 'child'));
        }
    }
  }
  await ctx.release.put('back-test/report.html', renderBackTest(ctx.asAt, ctx.runId, results, children));
  await ctx.release.put('back-test/report.csv', backTestCsv([...results, ...children]));
  return {
    back_test_dates: new Set(results.map((r) => r.from)).size,
    back_test_results: results.length,
    back_test_better_than_chance: results.filter((r) => r.betterThanChance).length,
    back_test_child_results: children.length,
    back_test_child_better_than_chance: children.filter((r) => r.betterThanChance).length,
  };
}
