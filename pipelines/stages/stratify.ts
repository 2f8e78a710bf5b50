/**
 * stratify stage: each family's facts through the rule set -> curated `scores`
 * (family_id, score, tier, headlines, three_needs, open_to_statutory, reasons JSON, rule_set_version).
 *
 * Reads: curated families, family_members, persons, facts; secure as_at=D/families/person-dobs.parquet.
 */
import { z } from 'zod';
import { parseStratifyConfig, ruleSetOf } from '../../models/config.ts';
import {
  scoreFamily,
  type FamilyForScoring,
  type FamilyScore,
  type PersonFact,
  type ScoringMember,
} from '../../models/rules/engine.ts';
import { canAffectScore } from '../../models/rules/relevance.ts';
import type { RuleSet } from '../../models/rules/schema.ts';
import { writeParquet } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { factsTable, readFacts } from '../tables/facts.ts';
import { memberOf, SCORING_MEMBER_COLUMNS, type MemberRow } from '../tables/family-members.ts';
import { personDobsTable, readPersonDobs } from '../tables/person-dobs.ts';
import { personsTable, readPersonMap } from '../tables/persons.ts';
import { closeTables, openTable } from '../tables/read.ts';
import { SCORES, scoreRow } from '../tables/scores.ts';
import { parquetColumns, selectColumns } from '../tables/table.ts';
import type { StageContext } from './context.ts';
import { defineStage } from './stage.ts';
import { runHeadlineCoverage } from './headline-coverage.ts';
import { cmp } from '../../models/order.ts';

/** Appends to the list under key (creating it): linear, unlike re-spreading the list on every add. */
function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export const stratifyInputSchema = z.object({}).loose().default({});

/**
 * Families with their members and facts, ready for the rule engine (dates of birth from the secure zone).
 * `ruleSet`: keep only the facts that can affect its scores (see canAffectScore); all facts are still checked and counted.
 */
export async function loadFamiliesForScoring(
  ctx: StageContext,
  ruleSet: RuleSet,
  sources?: readonly string[],
): Promise<{ families: FamilyForScoring[]; factsWithoutPerson: number }> {
  // every input table is exported by DuckDB at once, while the ones before it are being read
  const tables = {
    members: openTable(
      ctx,
      'curated',
      keys.curated('family_members', ctx.asAt),
      'family members',
      selectColumns(SCORING_MEMBER_COLUMNS),
    ),
    dobs: personDobsTable(ctx),
    persons: personsTable(ctx),
    facts: factsTable(ctx),
  };
  try {
    const fams = new Map<string, ScoringMember[]>();
    const memberRows: MemberRow[] = [];
    for await (const batch of tables.members.batches) for (const r of batch) memberRows.push(memberOf(r));
    const dobs = await readPersonDobs(ctx, tables.dobs);
    const personOf = await readPersonMap(ctx, tables.persons);
    const affects = canAffectScore(ruleSet, { asAt: ctx.asAt });
    // a source the partnership does not use (stratify.sources) is not scored, even when its files landed
    const keep =
      sources === undefined
        ? affects
        : (f: Parameters<typeof affects>[0] & { source: string }) => sources.includes(f.source) && affects(f);
    const { facts, unmatched } = await readFacts(ctx, personOf, undefined, tables.facts, keep);
    const factsByPerson = new Map<string, PersonFact[]>();
    for (const f of facts) pushTo(factsByPerson, f.personId, f);
    for (const m of memberRows)
      pushTo(fams, m.familyId, {
        personId: m.personId,
        role: m.role,
        membership: m.membership,
        isChild: m.isChild,
        dateOfBirth: dobs.get(m.personId) ?? null,
      });
    const families = [...fams.entries()]
      .sort((a, b) => cmp(a[0], b[0]))
      .map(([familyId, ms]) => ({
        familyId,
        members: ms,
        facts: ms.flatMap((m) => factsByPerson.get(m.personId) ?? []),
      }));
    return { families, factsWithoutPerson: unmatched };
  } finally {
    await closeTables(Object.values(tables));
  }
}

export async function stratifyStage(ctx: StageContext, _input: z.infer<typeof stratifyInputSchema> = {}) {
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const { families, factsWithoutPerson } = await loadFamiliesForScoring(ctx, ruleSet, cfg.sources);
  const coverage = await runHeadlineCoverage(ctx);
  ctx.progress.start('stratify: scoring families', families.length);
  const settings = {
    asAt: ctx.asAt,
    tiers: cfg.tiers,
    threeNeedsMinHeadlines: cfg.threeNeedsMinHeadlines,
    statutoryEpisodeTypes: cfg.statutoryEpisodeTypes,
    includeAlsoInMembers: cfg.includeAlsoInMembers,
  };
  const scores: FamilyScore[] = [];
  for (const f of families) {
    scores.push(scoreFamily(f, ruleSet, settings));
    ctx.progress.tick();
  }
  ctx.progress.stop();
  await writeParquet(
    ctx.stores.curated,
    keys.curated('scores', ctx.asAt),
    parquetColumns(SCORES),
    scores.map((s) => scoreRow(s, ctx.asAt)),
  );
  const counts: Record<string, number> = {
    families_scored: scores.length,
    families_with_a_rule_fired: scores.filter((s) => s.reasons.length > 0).length,
    families_three_needs: scores.filter((s) => s.threeNeeds).length,
    families_open_to_statutory: scores.filter((s) => s.openToStatutory).length,
    facts_without_person: factsWithoutPerson,
    headlines_evidenced: coverage.filter((c) => c.status === 'evidenced').length,
    headlines_partly_evidenced: coverage.filter((c) => c.status === 'partly_evidenced').length,
    headlines_not_evidenced: coverage.filter((c) => c.status === 'not_evidenced').length,
  };
  for (const t of cfg.tiers) counts[`tier_${t.name}`] = scores.filter((s) => s.tier === t.name).length;
  for (const r of ruleSet.rules)
    counts[`rule_${r.id}`] = scores.filter((s) => s.reasons.some((x) => x.ruleId === r.id)).length;
  ctx.log.info('families scored', {
    families: scores.length,
    ruleSet: `${ruleSet.id}@${ruleSet.version}`,
    headlinesNotEvidenced: coverage
      .filter((c) => c.status === 'not_evidenced')
      .map((c) => c.headline)
      .join(','),
  });
  return { counts, ruleSetVersion: `${ruleSet.id}@${ruleSet.version}` };
}

export const stage = defineStage('stratify', stratifyInputSchema, stratifyStage);
