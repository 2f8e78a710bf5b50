/**
 * Supporting Families outcome tracking, each run (models/sf-outcomes.ts): every family a lead worked with (the
 * leads' `worked_with` outcomes in the secure zone), its needs at the start of the case (the scores of the run the
 * lead worked from: the latest completed run on or before the day the case opened) and, at this run, each need's
 * outcome per its outcome rule, measured on this run's facts.
 *
 * Writes into the run's staged set (released as outputs/as_at=D/supporting-families/):
 *   report.html, report.csv  the per-locality outcome report for boards: counts of families only, after the same
 *                            disclosure control as every board report (publish.disclosure)
 *   claims/index.csv         one row per family worked with, for the Supporting Families team
 *   claims/<family id>.json  the claim evidence of one family: pseudonymous ids, rule ids, dates and the providers'
 *                            evidence refs (as the target lists cite them); never the lead practitioner
 *   claims/state.json        the tracking state the next run reads (needs at the start, every run's statuses)
 * Pseudonymous, like the target lists (published outputs are privacy-scanned before release); the leads' outcome
 * rows themselves stay in the secure zone.
 */
import { parseStratifyConfig, ruleSetOf } from '../../../models/config.ts';
import { FACT_TYPES, type FactType } from '../../../models/facts.ts';
import type { PersonFact, ScoringMember } from '../../../models/rules/engine.ts';
import {
  casesFrom,
  needsOf,
  sfOutcomeSettingsSchema,
  trackOutcomes,
  type CaseStart,
  type FamilyNow,
  type SfOutcomeSettings,
  type SfState,
} from '../../../models/sf-outcomes.ts';
import { issuesText } from '../../../models/zod-issues.ts';
import { completedRunsBefore, previousRunOf } from '../../history.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { keys } from '../../layout.ts';
import { loadLocalityLookups } from '../../localities/lookups.ts';
import { readOutcomes } from '../../outcomes/store.ts';
import type { StageContext } from '../../stages/context.ts';
import { readFacts } from '../../tables/facts.ts';
import { readFamilies } from '../../tables/families.ts';
import { readFamilyMembers } from '../../tables/family-members.ts';
import { readPersonMap } from '../../tables/persons.ts';
import { readScores, type ScoreRow } from '../../tables/scores.ts';
import { disclosureOf } from '../start-well/publish.ts';
import { claimFile, claimsIndexCsv, outcomeTables, renderSfReport, sfReportCsv } from './render.ts';

export const SF_DIR = 'supporting-families/';
export const SF_STATE = `${SF_DIR}claims/state.json`;

export function sfSettingsOf(publish: unknown): SfOutcomeSettings {
  const raw = (publish as { supportingFamilies?: unknown } | undefined)?.supportingFamilies ?? {};
  const r = sfOutcomeSettingsSchema.safeParse(raw);
  if (!r.success) throw new Error(`config publish.supportingFamilies: ${issuesText(r.error)}`);
  return r.data;
}

/** The previous run's tracking state (null before the first run that tracked outcomes). */
async function previousState(ctx: StageContext): Promise<SfState | null> {
  const prev = await previousRunOf(ctx);
  if (!prev) return null;
  const key = keys.output(prev.asAt, SF_STATE);
  if (!(await ctx.stores.outputs.exists(key))) return null;
  return JSON.parse((await ctx.stores.outputs.get(key)).toString('utf8')) as SfState;
}

export async function publishSupportingFamilies(
  ctx: StageContext & { release: ObjectStore },
): Promise<Record<string, number>> {
  const settings = sfSettingsOf(ctx.config.publish);
  const disclosure = disclosureOf(ctx.config.publish);
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const lookups = await loadLocalityLookups(cfg, ctx.stores.landing);
  // a case opened after this as-at date has not started; a close date after it is not a closure yet
  const cases = casesFrom(await readOutcomes(ctx.stores.secure, ctx.asAt))
    .filter((c) => c.caseOpened <= ctx.asAt)
    .map((c) => ({ ...c, caseClosed: c.caseClosed !== null && c.caseClosed <= ctx.asAt ? c.caseClosed : null }));
  const previous = await previousState(ctx);
  const tracked = new Set([...cases.map((c) => c.familyId), ...(previous?.families ?? []).map((f) => f.familyId)]);

  const families = await readFamilies(ctx.stores.curated, ctx.asAt, lookups.unassigned);
  const localityOf = new Map(families.map((f) => [f.familyId, f.locality]));
  const now = new Map<string, FamilyNow>();
  const starts = new Map<string, CaseStart>();
  if (tracked.size > 0) {
    for (const m of await readFamilyMembers(ctx)) {
      if (!tracked.has(m.familyId)) continue;
      const member: ScoringMember = {
        personId: m.personId,
        role: m.role,
        membership: m.membership,
        isChild: m.isChild,
        dateOfBirth: null,
      };
      const f = now.get(m.familyId);
      if (f) f.members.push(member);
      else now.set(m.familyId, { members: [member], facts: [] });
    }
    const familyOfPerson = new Map<string, string[]>();
    for (const [familyId, f] of now)
      for (const m of f.members) familyOfPerson.set(m.personId, [...(familyOfPerson.get(m.personId) ?? []), familyId]);
    // only the fact types the outcome rules read, of the tracked families' members
    const types = new Set<FactType>();
    for (const r of ruleSet.rules) for (const t of r.outcome ? (r.outcome.facts ?? r.facts) : []) types.add(t);
    const personOf = await readPersonMap(ctx);
    const { facts } = await readFacts(
      ctx,
      personOf,
      FACT_TYPES.filter((t) => types.has(t)),
      undefined,
      (f) => familyOfPerson.has(personOf.get(f.recordId) ?? ''),
    );
    for (const f of facts as PersonFact[]) for (const id of familyOfPerson.get(f.personId)!) now.get(id)!.facts.push(f);

    // the needs at the start of each case not tracked before: the scores of the run the lead worked from
    const seen = new Map((previous?.families ?? []).map((f) => [f.familyId, f.caseOpened]));
    const fresh = cases.filter((c) => seen.get(c.familyId) !== c.caseOpened);
    if (fresh.length > 0) {
      const runs = (await completedRunsBefore(ctx.stores.outputs, ctx.asAt)).map((r) => r.asAt);
      const scoresAt = new Map<string, Map<string, ScoreRow>>();
      const scores = async (asAt: string) => {
        let s = scoresAt.get(asAt);
        if (!s) {
          s = new Map((await readScores(ctx.stores.curated, asAt)).map((x) => [x.familyId, x]));
          scoresAt.set(asAt, s);
        }
        return s;
      };
      for (const c of fresh) {
        const from = runs.filter((d) => d <= c.caseOpened).pop();
        const earlier = from ? (await scores(from)).get(c.familyId) : undefined;
        const row = earlier ?? (await scores(ctx.asAt)).get(c.familyId);
        if (row) starts.set(c.familyId, { needsAsAt: earlier ? from! : ctx.asAt, needs: needsOf(row.reasons) });
      }
    }
  }

  const { state, families: outcomes } = trackOutcomes({
    asAt: ctx.asAt,
    ruleSet,
    settings,
    includeAlsoInMembers: cfg.includeAlsoInMembers,
    previous,
    cases,
    startOf: (c) => starts.get(c.familyId) ?? null,
    now: (id) => (localityOf.has(id) ? (now.get(id) ?? { members: [], facts: [] }) : undefined),
  });
  const locality = (id: string) => localityOf.get(id) ?? lookups.unassigned;
  const tables = outcomeTables(outcomes, locality, lookups.localities.names, settings, ctx.asAt, disclosure);
  await ctx.release.put(`${SF_DIR}report.html`, renderSfReport(ctx.asAt, ctx.runId, tables, settings, disclosure));
  await ctx.release.put(`${SF_DIR}report.csv`, sfReportCsv(tables));
  await ctx.release.put(`${SF_DIR}claims/index.csv`, claimsIndexCsv(outcomes, locality));
  for (const f of outcomes)
    await ctx.release.put(`${SF_DIR}claims/${f.familyId}.json`, claimFile(f, locality(f.familyId), ctx.asAt, settings));
  await ctx.release.put(SF_STATE, `${JSON.stringify(state, null, 1)}\n`);
  return {
    sf_families_worked_with: outcomes.length,
    sf_families_claimable: outcomes.filter((f) => f.claimable).length,
    sf_needs_sustained: outcomes.reduce((n, f) => n + f.outcomes.filter((o) => o.status === 'sustained').length, 0),
    sf_needs_relapsed: outcomes.reduce((n, f) => n + f.outcomes.filter((o) => o.status === 'relapsed').length, 0),
  };
}
