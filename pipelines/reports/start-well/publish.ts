/** Writes start-well/ into the run's staged set (released as outputs/as_at=D/start-well/): report.html, report.csv, summary.json (protected figures, read by later runs for trends). */
import { publishConfigSchema } from '../publish-config.ts';
import { type DisclosureSettings } from '../../../models/disclosure.ts';
import {
  buildStartWellCohort,
  indicatorsNotEvidenced,
  startWellTables,
  type CohortPerson,
} from '../../../models/start-well.ts';
import { feedAvailable } from '../../../models/rules/coverage.ts';
import { parseStratifyConfig } from '../../../models/config.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import type { StageContext } from '../../stages/context.ts';
import { loadLocalityLookups } from '../../localities/lookups.ts';
import { readFacts } from '../../tables/facts.ts';
import { readFamilies } from '../../tables/families.ts';
import { readFamilyMembers } from '../../tables/family-members.ts';
import { readPersonDobs } from '../../tables/person-dobs.ts';
import { readPersonMap } from '../../tables/persons.ts';
import { receivedFeeds, runHeadlineCoverage } from '../../stages/headline-coverage.ts';
import { addMonths } from '../../../models/dates.ts';
import { type CohortLinkage, renderStartWell, startWellCsv, summaryOf, type StartWellSummary } from './report.ts';
import { issuesText } from '../../../models/zod-issues.ts';

/** Appends to the list under key (creating it): linear, unlike re-spreading the list on every add. */
function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export const startWellSettingsSchema = publishConfigSchema;

export function disclosureOf(publish: unknown): DisclosureSettings {
  const r = publishConfigSchema.safeParse(publish ?? {});
  if (!r.success) throw new Error(`config publish: ${issuesText(r.error)}`);
  return r.data.disclosure;
}

/** Earlier runs' summaries under the same output root (for trends). */
export async function readStartWellHistory(ctx: StageContext): Promise<StartWellSummary[]> {
  const out: StartWellSummary[] = [];
  for (const o of await ctx.stores.outputs.list('as_at=')) {
    const m = /^as_at=(\d{4}-\d{2}-\d{2})\/start-well\/summary\.json$/.exec(o.key);
    if (!m || m[1]! >= ctx.asAt) continue;
    try {
      out.push(JSON.parse((await ctx.stores.outputs.get(o.key)).toString('utf8')) as StartWellSummary);
    } catch (err) {
      ctx.log.warn('start well: an earlier summary cannot be read; trend skips it', {
        key: o.key,
        error: (err as Error).message,
      });
    }
  }
  return out.sort((a, b) => (a.asAt < b.asAt ? -1 : 1));
}

/** Per cohort band (under one, one to two), the children linked to a record of another source than health. */
export function cohortLinkage(
  asAt: string,
  cohort: ReadonlyArray<{ kind: string; personId: string }>,
  dobs: ReadonlyMap<string, string | null>,
  personOf: ReadonlyMap<string, string>,
): CohortLinkage[] {
  const sources = new Map<string, Set<string>>();
  for (const [recordId, personId] of personOf) {
    const s = sources.get(personId) ?? new Set<string>();
    s.add(recordId.slice(0, recordId.indexOf(':')));
    sources.set(personId, s);
  }
  const oneYearAgo = addMonths(asAt, -12);
  const bands: CohortLinkage[] = [
    { band: 'children under one', persons: 0, linkedToOtherSource: 0 },
    { band: 'children aged one', persons: 0, linkedToOtherSource: 0 },
  ];
  for (const m of cohort) {
    if (m.kind !== 'child') continue;
    const b = bands[(dobs.get(m.personId) ?? '') > oneYearAgo ? 0 : 1]!;
    b.persons++;
    if ((sources.get(m.personId)?.size ?? 0) >= 2) b.linkedToOtherSource++;
  }
  return bands;
}

export async function publishStartWell(ctx: StageContext & { release: ObjectStore }): Promise<Record<string, number>> {
  const settings = {
    ...startWellSettingsSchema.parse(ctx.config.publish ?? {}),
    disclosure: disclosureOf(ctx.config.publish),
  };
  const stratCfg = parseStratifyConfig(ctx.config.stratify);
  const lookups = await loadLocalityLookups(stratCfg, ctx.stores.landing);
  const families = await readFamilies(ctx.stores.curated, ctx.asAt, lookups.unassigned);
  const localityOf = new Map(families.map((f) => [f.familyId, f.locality]));
  const members = await readFamilyMembers(ctx);
  const familyOfPerson = new Map<string, string>();
  const familyMembers = new Map<string, Array<{ personId: string; isChild: boolean }>>();
  for (const m of members) {
    if (m.membership !== 'primary') continue;
    familyOfPerson.set(m.personId, m.familyId);
    pushTo(familyMembers, m.familyId, { personId: m.personId, isChild: m.isChild });
  }
  const dobs = await readPersonDobs(ctx);
  const personOf = await readPersonMap(ctx);
  // only the facts the Start Well indicators read, of the sources the partnership has (stratify.sources)
  const configured = (source: string) => stratCfg.sources === undefined || stratCfg.sources.includes(source);
  const read = await readFacts(ctx, personOf, [
    'maternity_booking',
    'birth',
    'health_visitor_review',
    'police_incident',
    'family_incident',
    'homelessness_application',
    'temporary_accommodation',
    'benefit_award',
    'substance_treatment',
  ]);
  const facts = read.facts.filter((f) => configured(f.source));
  const knownToSocialCare = new Set<string>();
  if (configured('social_care'))
    for (const [recordId, personId] of personOf)
      if (recordId.startsWith('social_care:')) knownToSocialCare.add(personId);
  const notEvidenced = indicatorsNotEvidenced(feedAvailable(await receivedFeeds(ctx), stratCfg.sources));
  const persons: CohortPerson[] = [...dobs.entries()].map(([personId, dateOfBirth]) => {
    const familyId = familyOfPerson.get(personId) ?? null;
    return {
      personId,
      dateOfBirth,
      familyId,
      locality: familyId ? (localityOf.get(familyId) ?? lookups.unassigned) : lookups.unassigned,
    };
  });
  const cohort = buildStartWellCohort({
    asAt: ctx.asAt,
    persons,
    familyMembers,
    facts,
    personOfRecord: personOf,
    knownToSocialCare,
    lateBookingWeeks: settings.lateBookingWeeks,
  });
  const tables = startWellTables(ctx.asAt, cohort, lookups.localities.names, settings.disclosure, 'auto', notEvidenced);
  const history = await readStartWellHistory(ctx);
  const summary = summaryOf(tables, settings.disclosure);
  const coverage = await runHeadlineCoverage(ctx);
  const linkage = cohortLinkage(ctx.asAt, cohort, dobs, personOf);
  await ctx.release.put(
    'start-well/report.html',
    renderStartWell(tables, settings.disclosure, history, ctx.runId, coverage, linkage),
  );
  await ctx.release.put('start-well/report.csv', startWellCsv(tables));
  await ctx.release.put('start-well/summary.json', `${JSON.stringify(summary, null, 2)}\n`);
  const suppressed = [
    tables.children,
    ...Object.values(tables.childIndicators),
    tables.pregnanciesByMonth,
    tables.pregnancyIndicators,
  ].flatMap((t) => [
    ...t.cells.flat(),
    ...(t.rowTotals ?? []),
    ...(t.colTotals ?? []),
    ...(t.grandTotal ? [t.grandTotal] : []),
  ]);
  return {
    start_well_children: cohort.filter((m) => m.kind === 'child').length,
    start_well_pregnancies: cohort.filter((m) => m.kind === 'pregnancy').length,
    start_well_cells_primary_suppressed: suppressed.filter((c) => c.suppressed === 'primary').length,
    start_well_cells_secondary_suppressed: suppressed.filter((c) => c.suppressed === 'secondary').length,
    start_well_trend_runs: history.length + 1,
    start_well_indicators_not_evidenced: Object.keys(notEvidenced).length,
    // per mille of non-zero child cells suppressed: every table by month, every table by year of age (the widest
    // uniform band before the rule went table by table), and as published (models/start-well.ts band rule)
    start_well_suppressed_permille_by_month: Math.round(1000 * (tables.suppressedShare.month ?? 0)),
    start_well_suppressed_permille_by_year_of_age: Math.round(1000 * (tables.suppressedShare.year_of_age ?? 0)),
    start_well_suppressed_permille_published: Math.round(1000 * tables.publishedShare),
  };
}
