/**
 * stratify stage: each family's facts through the rule set -> curated `scores`
 * (family_id, score, tier, headlines, three_needs, open_to_statutory, reasons JSON, rule_set_version).
 *
 * Reads: curated families, family_members, persons, facts; secure as_at=D/families/person-dobs.parquet.
 *
 * Sharded (pipelines/stages/stage.ts): `plan` reads the members, makes ceil(families / sharding.stratify.rowsPerShard)
 * shards (shard k: the families whose id hashes to k, familyShardOf: FNV-1a of the id, mod the shard count) and
 * writes each shard only its own rows: its members with their dates of birth, and its members' scored facts, streamed
 * in part files (the plan never holds the facts; with one shard it writes nothing, the shard does nothing and the
 * merge runs the stage whole); `shard` k scores its families from those files and writes their
 * scores rows; `merge` puts every shard's rows in family id order and writes `scores` and the counts, the same bytes
 * as the stage run whole.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { serialize } from 'node:v8';
import { createGzip } from 'node:zlib';
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
import { scratchOf } from '../io/object-store.ts';
import {
  openScratchDuckDb,
  rowLinesToParquet,
  writeParquet,
  writeRowLines,
  type ParquetColumn,
  type ParquetRow,
} from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { factFromRow, factsTable, readFacts } from '../tables/facts.ts';
import { memberOf, SCORING_MEMBER_COLUMNS, type MemberRow } from '../tables/family-members.ts';
import { PERSON_DOBS, personDobsKey, personDobsTable, readPersonDobs } from '../tables/person-dobs.ts';
import { personsTable, readPersonMap } from '../tables/persons.ts';
import { closeTables, openTable, str } from '../tables/read.ts';
import { SCORES, scoreRow } from '../tables/scores.ts';
import { parquetColumns, selectColumns } from '../tables/table.ts';
import type { StageContext } from './context.ts';
import { defineShardedStage, shardPhaseInput, type ShardPlanOutput, type StageOutput } from './stage.ts';
import {
  readShardFile as readCheckedShardFile,
  readShardPlan,
  removeShardFolder,
  type ShardFileHead,
} from './shard-files.ts';
import { shardCountFor, shardFile, shardFolder, shardItems } from './sharding.ts';
import { runHeadlineCoverage } from './headline-coverage.ts';
import { openStratifyRouting, type RoutingTables } from './stratify-routing.ts';
import { mergeSortedParts } from './sorted-parts.ts';
import { cmp } from '../../models/order.ts';

/** Appends to the list under key (creating it): linear, unlike re-spreading the list on every add. */
function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export const stratifyInputSchema = shardPhaseInput.loose().default({});

/** The tables stratify reads (every input table is exported by DuckDB at once, while the ones before it are being read). */
function scoringTables(ctx: StageContext) {
  return {
    members: openTable(
      ctx,
      'curated',
      keys.curated('family_members', ctx.asAt),
      'family members',
      selectColumns(SCORING_MEMBER_COLUMNS),
      { windowed: true },
    ),
    dobs: personDobsTable(ctx),
    persons: personsTable(ctx),
    facts: factsTable(ctx),
  };
}

/** Which facts are scored: those that can affect the rule set's scores (canAffectScore), of the sources used. */
function scoredFacts(ctx: StageContext, ruleSet: RuleSet, sources?: readonly string[]): (f: Fact) => boolean {
  const affects = canAffectScore(ruleSet, { asAt: ctx.asAt });
  // a source the partnership does not use (stratify.sources) is not scored, even when its files landed
  return sources === undefined ? affects : (f: Fact) => sources.includes(f.source) && affects(f);
}

/** A member as scoring takes it: the family_members row's fields and the person's date of birth. */
type MemberForScoring = Pick<MemberRow, 'familyId' | 'personId' | 'role' | 'membership' | 'isChild'> & {
  dateOfBirth: string | null;
};

/** Families (family id order) from their members (in table order) and their members' facts (in table order). */
function familiesOf(members: MemberForScoring[], facts: PersonFact[]): FamilyForScoring[] {
  const fams = new Map<string, ScoringMember[]>();
  const factsByPerson = new Map<string, PersonFact[]>();
  for (const f of facts) pushTo(factsByPerson, f.personId, f);
  for (const m of members)
    pushTo(fams, m.familyId, {
      personId: m.personId,
      role: m.role,
      membership: m.membership,
      isChild: m.isChild,
      dateOfBirth: m.dateOfBirth,
    });
  return [...fams.entries()]
    .sort((a, b) => cmp(a[0], b[0]))
    .map(([familyId, ms]) => ({
      familyId,
      members: ms,
      facts: ms.flatMap((m) => factsByPerson.get(m.personId) ?? []),
    }));
}

/**
 * Families with their members and facts, ready for the rule engine (dates of birth from the secure zone).
 * `ruleSet`: keep only the facts that can affect its scores (see canAffectScore); all facts are still checked and counted.
 */
export async function loadFamiliesForScoring(
  ctx: StageContext,
  ruleSet: RuleSet,
  sources?: readonly string[],
): Promise<{ families: FamilyForScoring[]; factsWithoutPerson: number }> {
  const tables = scoringTables(ctx);
  try {
    const memberRows: MemberRow[] = [];
    for await (const batch of tables.members.batches) for (const r of batch) memberRows.push(memberOf(r));
    const dobs = await readPersonDobs(ctx, tables.dobs);
    const personOf = await readPersonMap(ctx, tables.persons);
    const keep = scoredFacts(ctx, ruleSet, sources);
    const { facts, unmatched } = await readFacts(ctx, personOf, undefined, tables.facts, keep);
    const members = memberRows.map((m) => ({ ...m, dateOfBirth: dobs.get(m.personId) ?? null }));
    return { families: familiesOf(members, facts), factsWithoutPerson: unmatched };
  } finally {
    await closeTables(Object.values(tables));
  }
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

/** What the counts of a set of scores add up to (per shard, summed by the merge), in the stage's count order. */
function scoreCounts(cfg: StratifyConfig, ruleSet: RuleSet, scores: FamilyScore[]): Record<string, number> {
  const counts: Record<string, number> = {
    families_scored: scores.length,
    families_with_a_rule_fired: scores.filter((s) => s.reasons.length > 0).length,
    families_three_needs: scores.filter((s) => s.threeNeeds).length,
    families_open_to_statutory: scores.filter((s) => s.openToStatutory).length,
  };
  for (const t of cfg.tiers) counts[`tier_${t.name}`] = scores.filter((s) => s.tier === t.name).length;
  for (const r of ruleSet.rules)
    counts[`rule_${r.id}`] = scores.filter((s) => s.reasons.some((x) => x.ruleId === r.id)).length;
  return counts;
}

/**
 * Writes `scores` (`write`: its rows in family id order, returning how many) and returns the stage's counts: what the
 * stage writes, whole or merged.
 */
async function writeScores(
  ctx: StageContext,
  cfg: StratifyConfig,
  ruleSet: RuleSet,
  write: (key: string, columns: readonly ParquetColumn[]) => Promise<number>,
  scored: Record<string, number>,
  factsWithoutPerson: number,
) {
  const coverage = await runHeadlineCoverage(ctx);
  const families = await write(keys.curated('scores', ctx.asAt), parquetColumns(SCORES));
  const counts: Record<string, number> = {
    families_scored: scored.families_scored!,
    families_with_a_rule_fired: scored.families_with_a_rule_fired!,
    families_three_needs: scored.families_three_needs!,
    families_open_to_statutory: scored.families_open_to_statutory!,
    facts_without_person: factsWithoutPerson,
    headlines_evidenced: coverage.filter((c) => c.status === 'evidenced').length,
    headlines_partly_evidenced: coverage.filter((c) => c.status === 'partly_evidenced').length,
    headlines_not_evidenced: coverage.filter((c) => c.status === 'not_evidenced').length,
  };
  for (const t of cfg.tiers) counts[`tier_${t.name}`] = scored[`tier_${t.name}`]!;
  for (const r of ruleSet.rules) counts[`rule_${r.id}`] = scored[`rule_${r.id}`]!;
  ctx.log.info('families scored', {
    families,
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
  const scores = scoreFamilies(ctx, cfg, ruleSet, families);
  const rows = scores.map((s) => scoreRow(s, ctx.asAt));
  const write = (key: string, columns: readonly ParquetColumn[]) =>
    writeParquet(ctx.stores.curated, key, columns, rows);
  return writeScores(ctx, cfg, ruleSet, write, scoreCounts(cfg, ruleSet, scores), factsWithoutPerson);
}

// ---- the sharded stage: plan, shard, merge --------------------------------------------------------------

const STAGE = 'stratify';
const planKey = (ctx: StageContext) => `${shardFolder(STAGE, ctx.asAt, ctx.runId)}plan.json`;
const membersKey = (ctx: StageContext, shard: number, part: number) =>
  shardFile(STAGE, ctx.asAt, ctx.runId, shard, `members-p${part}`, 'bin');
const factsKey = (ctx: StageContext, shard: number, part: number) =>
  shardFile(STAGE, ctx.asAt, ctx.runId, shard, `facts-p${part}`, 'bin');
const scoresKey = (ctx: StageContext, shard: number) => shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'scores', 'bin');
const scoreLinesKey = (ctx: StageContext, shard: number) =>
  shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'scores-rows', 'ndjson.gz');

/** Rows (members or facts) the plan holds over all shards before it writes them out in part files. */
const PART_ROWS = 200_000;

interface StratifyPlan {
  runId: string;
  shards: number;
  families: number;
  /**
   * How many members and facts part files each shard has; absent with one shard: its share is every row, so the merge
   * runs the stage whole from the tables (writing them out to read them back would only cost time).
   */
  memberParts?: number[];
  factParts?: number[];
  /** Counted by the plan when it writes the shards' rows (with one shard, by the merge run whole). */
  factsWithoutPerson?: number;
}

const removeShardFiles = (ctx: StageContext) => removeShardFolder(ctx, STAGE);

/**
 * Rows for the shards, written out in part files: each shard's rows in the order they are added, a part file of a
 * shard holding the rows buffered for it when the plan has PART_ROWS rows buffered over all shards (so the plan
 * holds at most PART_ROWS rows, however many shards), and its last rows at the end (a shard with none: one empty
 * part). Returns how many part files each shard has.
 */
function shardParts<T>(ctx: StageContext, shards: number, name: 'members' | 'facts', keyOf: ShardPartKey) {
  const buffers: T[][] = Array.from({ length: shards }, () => []);
  const parts = new Array<number>(shards).fill(0);
  let buffered = 0;
  const flush = async (k: number) => {
    const file = { runId: ctx.runId, shard: k, shards, part: parts[k]!, [name]: buffers[k]! };
    await ctx.stores.secure.put(keyOf(ctx, k, parts[k]!), serialize(file));
    parts[k]! += 1;
    buffered -= buffers[k]!.length;
    buffers[k] = [];
  };
  return {
    async add(k: number, row: T): Promise<void> {
      buffers[k]!.push(row);
      buffered += 1;
      if (buffered >= PART_ROWS) for (let s = 0; s < shards; s++) if (buffers[s]!.length > 0) await flush(s);
    },
    async finish(): Promise<number[]> {
      for (let k = 0; k < shards; k++) if (buffers[k]!.length > 0 || parts[k] === 0) await flush(k);
      return parts;
    },
  };
}

type ShardPartKey = (ctx: StageContext, shard: number, part: number) => string;

/** The routing tables (stratify-routing.ts) of the as-at date: the same files scoringTables reads. */
function routingTables(ctx: StageContext): RoutingTables {
  const curated = ctx.stores.curated;
  return {
    members: { store: curated, key: keys.curated('family_members', ctx.asAt), what: 'family members' },
    dobs: { store: ctx.stores.secure, key: personDobsKey(ctx.asAt), what: PERSON_DOBS.what },
    persons: { store: curated, key: keys.curated('persons', ctx.asAt), what: 'persons' },
    facts: { store: curated, key: keys.curated('facts', ctx.asAt), what: 'facts' },
  };
}

/**
 * Phase plan: counts the families, splits them into ceil(families / sharding.stratify.rowsPerShard) shards by the
 * hash of the family id, and writes each shard only its own rows in part files: its members (with their dates of
 * birth) and the scored facts of its members (file order kept in both). The joins (date of birth per member, person
 * per record, shards per person) run in a file-backed DuckDB (stratify-routing.ts): the plan holds no map of the
 * population, only the rows of one window and those not yet written out; a shard holds its share.
 */
async function planStratify(ctx: StageContext): Promise<ShardPlanOutput> {
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const tables = routingTables(ctx);
  const route = await openStratifyRouting(ctx, tables);
  try {
    const families = await route.families();
    const shards = shardCountFor(ctx.config, STAGE, families);
    await removeShardFiles(ctx); // a plan starts clean: no shard of an earlier attempt is merged
    if (shards === 1) {
      const plan: StratifyPlan = { runId: ctx.runId, shards, families };
      await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
      return { counts: { families, shards }, shards: shardItems(shards) };
    }
    const members = shardParts<MemberForScoring>(ctx, shards, 'members', membersKey);
    for await (const batch of route.members())
      for (const r of batch) {
        const { familyId, personId, role, membership, isChild } = memberOf(r);
        const k = familyShardOf(familyId, shards);
        await members.add(k, { familyId, personId, role, membership, isChild, dateOfBirth: str(r, 'date_of_birth') });
        route.addPersonShard(personId, k);
      }
    const memberParts = await members.finish();
    const scored = scoredFacts(ctx, ruleSet, cfg.sources);
    const facts = shardParts<PersonFact>(ctx, shards, 'facts', factsKey);
    let unmatched = 0;
    const details = new Map<string, Readonly<Record<string, string>>>();
    const from = {
      what: tables.facts.what,
      file: `${tables.facts.store.location}/${tables.facts.key}`,
      at: { row: null as ParquetRow | null, n: 0 },
    };
    for await (const batch of route.facts())
      for (const r of batch) {
        from.at = { row: r, n: (r.__rn as number) + 1 };
        const f = factFromRow(r, details, from) as PersonFact;
        const personId = r.__person as string | null;
        if (!personId) {
          unmatched += 1;
          continue;
        }
        const to = r.__shards as string[] | null;
        if (!to || !scored(f)) continue; // a fact of no family's member is never scored
        f.personId = personId;
        for (const k of to) await facts.add(Number(k), f);
      }
    const factParts = await facts.finish();
    const plan: StratifyPlan = {
      runId: ctx.runId,
      shards,
      families,
      memberParts,
      factParts,
      factsWithoutPerson: unmatched,
    };
    await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
    return { counts: { families, shards }, shards: shardItems(shards) };
  } finally {
    await route.dispose();
  }
}

const readPlan = (ctx: StageContext) => readShardPlan<StratifyPlan>(ctx, STAGE, planKey(ctx));
const readShardFile = <T extends ShardFileHead>(
  ctx: StageContext,
  key: string,
  shard: number,
  shards: number,
  missing: string,
): Promise<T> => readCheckedShardFile<T>(ctx, STAGE, key, { shard, shards }, missing);

interface ShardScores extends ShardFileHead {
  /** What the shard's scores rows add up to (the rows: its scores-rows file, writeRowLines' lines, family id order). */
  rows: number;
  counts: Record<string, number>;
}

/** Phase shard: scores the families of one shard from its own rows (the plan's files) and writes the scores rows. */
async function scoreShard(ctx: StageContext, shard: number): Promise<StageOutput> {
  const { shards, memberParts, factParts } = await readPlan(ctx);
  if (shard >= shards) throw new Error(`stratify: shard ${shard} of ${shards} does not exist`);
  // the only shard: the merge runs the stage whole (scoring here, writing the rows out and merging them back cost more)
  if (factParts === undefined || memberParts === undefined) return { counts: { shard } };
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const notPlanned = 'run the plan phase first';
  const members: MemberForScoring[] = [];
  for (let part = 0; part < memberParts[shard]!; part++) {
    const file = await readShardFile<ShardFileHead & { members: MemberForScoring[] }>(
      ctx,
      membersKey(ctx, shard, part),
      shard,
      shards,
      notPlanned,
    );
    for (const m of file.members) members.push(m);
  }
  const facts: PersonFact[] = [];
  for (let part = 0; part < factParts[shard]!; part++) {
    const file = await readShardFile<ShardFileHead & { facts: PersonFact[] }>(
      ctx,
      factsKey(ctx, shard, part),
      shard,
      shards,
      notPlanned,
    );
    for (const f of file.facts) facts.push(f);
  }
  return writeShardScores(ctx, cfg, ruleSet, shard, shards, familiesOf(members, facts));
}

function* scoreRows(scores: readonly FamilyScore[], asAt: string): Generator<ParquetRow> {
  for (const s of scores) yield scoreRow(s, asAt);
}

/** Scores a shard's families and writes their scores rows and counts to its shard file. */
async function writeShardScores(
  ctx: StageContext,
  cfg: StratifyConfig,
  ruleSet: RuleSet,
  shard: number,
  shards: number,
  families: FamilyForScoring[],
) {
  const scores = scoreFamilies(ctx, cfg, ruleSet, families);
  const counts = scoreCounts(cfg, ruleSet, scores);
  const db = await openScratchDuckDb(undefined, scratchOf(ctx.stores.secure));
  let rows: number;
  try {
    // family id order (familiesOf), as row lines: the merge joins the shards' lines by a k-way merge on the id
    const lines = join(db.dir, 'scores.ndjson');
    rows = await writeRowLines(lines, scoreLinesKey(ctx, shard), parquetColumns(SCORES), scoreRows(scores, ctx.asAt));
    await pipeline(createReadStream(lines), createGzip({ level: 1 }), createWriteStream(`${lines}.gz`));
    await ctx.stores.secure.put(scoreLinesKey(ctx, shard), createReadStream(`${lines}.gz`));
  } finally {
    await db.dispose();
  }
  const file: ShardScores = { runId: ctx.runId, shard, shards, rows, counts };
  await ctx.stores.secure.put(scoresKey(ctx, shard), serialize(file));
  return { counts: { shard, families_scored: scores.length } };
}

/** Phase merge: every shard's scores rows (checked against this run's plan), in family id order, written as the stage does. */
async function mergeStratify(ctx: StageContext) {
  const plan = await readPlan(ctx);
  if (plan.factParts === undefined || plan.memberParts === undefined) {
    // one shard (it did nothing): the stage run whole, here; the same bytes and counts
    const out = await stratifyStage(ctx);
    await removeShardFiles(ctx);
    return out;
  }
  const { shards } = plan;
  const cfg = parseStratifyConfig(ctx.config.stratify);
  const ruleSet = ruleSetOf(cfg);
  const scored: Record<string, number> = {};
  const parts: string[] = [];
  const factsWithoutPerson = plan.factsWithoutPerson ?? 0;
  for (let shard = 0; shard < shards; shard++) {
    const missing = `shard ${shard} of ${shards} did not run`;
    const file = await readShardFile<ShardScores>(ctx, scoresKey(ctx, shard), shard, shards, missing);
    if (file.rows > 0) parts.push(scoreLinesKey(ctx, shard));
    for (const [k, v] of Object.entries(file.counts)) scored[k] = (scored[k] ?? 0) + v;
  }
  // The shards' rows, each in family id order, merged by family id (ids are unique: each family is in one shard):
  // the rows sorted as the whole stage sorts them, without holding them.
  const write = async (key: string, columns: readonly ParquetColumn[]) => {
    const db = await openScratchDuckDb(undefined, scratchOf(ctx.stores.secure));
    try {
      const lines = join(db.dir, parts.length ? 'scores.ndjson.gz' : 'scores.ndjson');
      let n = 0;
      if (parts.length)
        n = await mergeSortedParts(STAGE, ctx.stores.secure, parts, lines, (line) => {
          return (JSON.parse(line) as { family_id: string }).family_id;
        });
      else await writeFile(lines, '');
      await rowLinesToParquet(db, lines, ctx.stores.curated, key, columns);
      return n;
    } finally {
      await db.dispose();
    }
  };
  const out = await writeScores(ctx, cfg, ruleSet, write, scored, factsWithoutPerson);
  await removeShardFiles(ctx);
  return out;
}

export const stage = defineShardedStage(STAGE, stratifyInputSchema, {
  plan: (ctx) => planStratify(ctx),
  shard: (ctx, _input, shard) => scoreShard(ctx, shard),
  merge: (ctx) => mergeStratify(ctx),
});
