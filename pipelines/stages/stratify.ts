/**
 * stratify stage: each family's facts through the rule set -> curated `scores`
 * (family_id, score, tier, headlines, three_needs, open_to_statutory, reasons JSON, rule_set_version).
 *
 * Reads: curated families, family_members, persons, facts; secure as_at=D/families/person-dobs.parquet.
 *
 * Sharded (pipelines/stages/stage.ts): `plan` counts the families and makes ceil(families / sharding.stratify.rowsPerShard)
 * shards; `shard` k scores the families whose id hashes to k (familyShardOf: FNV-1a of the id, mod the shard count),
 * reading only their members' facts into memory, and writes the scores to its shard file; `merge` puts every shard's
 * scores in family id order and writes `scores` and the counts, the same bytes as the stage run whole.
 */
import { deserialize, serialize } from 'node:v8';
import type { z } from 'zod';
import { parseStratifyConfig, ruleSetOf } from '../../models/config.ts';
import {
  scoreFamily,
  type FamilyForScoring,
  type FamilyScore,
  type PersonFact,
  type ScoringMember,
} from '../../models/rules/engine.ts';
import type { Fact } from '../../models/facts.ts';
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
import { defineShardedStage, shardPhaseInput, type ShardPlanOutput } from './stage.ts';
import { shardCountFor, shardFile, shardFolder, shardItems } from './sharding.ts';
import { runHeadlineCoverage } from './headline-coverage.ts';
import { cmp } from '../../models/order.ts';

/** Appends to the list under key (creating it): linear, unlike re-spreading the list on every add. */
function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export const stratifyInputSchema = shardPhaseInput.loose().default({});

/**
 * Families with their members and facts, ready for the rule engine (dates of birth from the secure zone).
 * `ruleSet`: keep only the facts that can affect its scores (see canAffectScore); all facts are still checked and counted.
 */
export async function loadFamiliesForScoring(
  ctx: StageContext,
  ruleSet: RuleSet,
  sources?: readonly string[],
  only?: FamilyShard,
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
    for await (const batch of tables.members.batches)
      for (const r of batch) {
        const m = memberOf(r);
        if (!only || familyShardOf(m.familyId, only.shards) === only.shard) memberRows.push(m);
      }
    const dobs = await readPersonDobs(ctx, tables.dobs);
    const personOf = await readPersonMap(ctx, tables.persons);
    const affects = canAffectScore(ruleSet, { asAt: ctx.asAt });
    // a shard keeps only the facts of its families' members (every fact is still checked and counted)
    const inShard = only ? new Set(memberRows.map((m) => m.personId)) : undefined;
    const mine = inShard ? (f: Fact) => inShard.has(personOf.get(f.recordId)!) && affects(f) : affects;
    // a source the partnership does not use (stratify.sources) is not scored, even when its files landed
    const keep = sources === undefined ? mine : (f: Fact) => sources.includes(f.source) && mine(f);
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

/** One shard of the families: shard `shard` of `shards`. */
export interface FamilyShard {
  shard: number;
  shards: number;
}

/** The shard a family belongs to: FNV-1a (32 bits) of its id, mod the shard count. Stable across runs and machines. */
export function familyShardOf(familyId: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < familyId.length; i++) {
    h ^= familyId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

type StratifyConfig = ReturnType<typeof parseStratifyConfig>;

/** Scores the families (in the order given) with the configured rule set and settings. */
function scoreFamilies(ctx: StageContext, cfg: StratifyConfig, ruleSet: RuleSet, families: FamilyForScoring[]) {
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
  return scores;
}

/** Writes `scores` (family id order) and returns the stage's counts: what the stage writes, whole or merged. */
async function writeScores(
  ctx: StageContext,
  cfg: StratifyConfig,
  ruleSet: RuleSet,
  scores: FamilyScore[],
  factsWithoutPerson: number,
) {
  const coverage = await runHeadlineCoverage(ctx);
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

/** The stage unsharded, in one process (tests; the same bytes as plan, shards and merge). */
export async function stratifyStage(ctx: StageContext, _input: z.infer<typeof stratifyInputSchema> = {}) {
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const { families, factsWithoutPerson } = await loadFamiliesForScoring(ctx, ruleSet, cfg.sources);
  return writeScores(ctx, cfg, ruleSet, scoreFamilies(ctx, cfg, ruleSet, families), factsWithoutPerson);
}

// ---- the sharded stage: plan, shard, merge --------------------------------------------------------------

const STAGE = 'stratify';
const planKey = (ctx: StageContext) => `${shardFolder(STAGE, ctx.asAt, ctx.runId)}plan.json`;
const scoresKey = (ctx: StageContext, shard: number) => shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'scores', 'bin');

interface StratifyPlan {
  runId: string;
  shards: number;
  families: number;
}

async function removeShardFiles(ctx: StageContext): Promise<void> {
  for (const o of await ctx.stores.secure.list(shardFolder(STAGE, ctx.asAt, ctx.runId)))
    await ctx.stores.secure.delete(o.key);
}

/** Phase plan: counts the families (their ids only) and decides the shards from the sharding budget. */
async function planStratify(ctx: StageContext): Promise<ShardPlanOutput> {
  const members = openTable(
    ctx,
    'curated',
    keys.curated('family_members', ctx.asAt),
    'family members',
    'SELECT count(DISTINCT family_id)::INTEGER AS families FROM {{file}}',
  );
  let families = 0;
  try {
    for await (const batch of members.batches) for (const r of batch) families = Number(r.families ?? 0);
  } finally {
    await closeTables([members]);
  }
  const shards = shardCountFor(ctx.config, STAGE, families);
  await removeShardFiles(ctx); // a plan starts clean: no shard of an earlier attempt is merged
  const plan: StratifyPlan = { runId: ctx.runId, shards, families };
  await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
  return { counts: { families, shards }, shards: shardItems(shards) };
}

async function readPlan(ctx: StageContext): Promise<StratifyPlan> {
  const key = planKey(ctx);
  if (!(await ctx.stores.secure.exists(key))) throw new Error(`stratify: ${key} is missing: run the plan phase first`);
  const plan = JSON.parse((await ctx.stores.secure.get(key)).toString('utf8')) as StratifyPlan;
  if (plan.runId !== ctx.runId) throw new Error(`stratify: ${key} is the plan of ${plan.runId}, not of ${ctx.runId}`);
  return plan;
}

interface ShardScores {
  runId: string;
  shard: number;
  shards: number;
  scores: FamilyScore[];
  factsWithoutPerson: number;
}

/** Phase shard: scores the families of one shard and writes them to its shard file. */
async function scoreShard(ctx: StageContext, shard: number) {
  const { shards } = await readPlan(ctx);
  if (shard >= shards) throw new Error(`stratify: shard ${shard} of ${shards} does not exist`);
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const { families, factsWithoutPerson } = await loadFamiliesForScoring(ctx, ruleSet, cfg.sources, { shard, shards });
  const scores = scoreFamilies(ctx, cfg, ruleSet, families);
  const file: ShardScores = { runId: ctx.runId, shard, shards, scores, factsWithoutPerson };
  await ctx.stores.secure.put(scoresKey(ctx, shard), serialize(file));
  return { counts: { shard, families_scored: scores.length } };
}

/** Phase merge: every shard's scores (checked against this run's plan), in family id order, written as the stage does. */
async function mergeStratify(ctx: StageContext) {
  const { shards } = await readPlan(ctx);
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const scores: FamilyScore[] = [];
  let factsWithoutPerson = 0;
  for (let shard = 0; shard < shards; shard++) {
    const key = scoresKey(ctx, shard);
    if (!(await ctx.stores.secure.exists(key)))
      throw new Error(`stratify: ${key} is missing: shard ${shard} of ${shards} did not run`);
    const file = deserialize(await ctx.stores.secure.get(key)) as ShardScores;
    if (file.runId !== ctx.runId || file.shard !== shard || file.shards !== shards)
      throw new Error(`stratify: ${key} is shard ${file.shard} of ${file.shards} of ${file.runId}, not of this plan`);
    for (const s of file.scores) scores.push(s);
    factsWithoutPerson = file.factsWithoutPerson; // every shard checks every fact: the same count in each
  }
  scores.sort((a, b) => cmp(a.familyId, b.familyId));
  const out = await writeScores(ctx, cfg, ruleSet, scores, factsWithoutPerson);
  await removeShardFiles(ctx);
  return out;
}

export const stage = defineShardedStage(STAGE, stratifyInputSchema, {
  plan: (ctx) => planStratify(ctx),
  shard: (ctx, _input, shard) => scoreShard(ctx, shard),
  merge: (ctx) => mergeStratify(ctx),
});
