/**
 * families stage: persons (C1's curated `persons`) + relationships + the secure person records' addresses ->
 * curated `families` and `family_members` as at the run date, with each family's locality.
 *
 * Reads:  curated persons, relationships, facts (current pregnancies); secure as_at=D/person-records.parquet.
 *
 * Sharded (pipelines/stages/stage.ts) by connected component of the person graph family formation reads
 * (familyComponents: shared address clusters, active relationships, groupings): no family, also_in membership,
 * communal guard or household address crosses a component. `plan` counts the persons and makes
 * ceil(persons / sharding.families.rowsPerShard) shards; with more than one it reads the inputs, clusters the whole
 * population's addresses, finds the components and packs them, in order of their smallest person id, into shards of
 * about equal persons, and writes each shard its own persons, relationships and address clusters. `shard` k forms
 * its components' families. `merge` puts them in family id order, carries family ids over from the previous run
 * (global: a previous family's members may now be in several components), assigns localities and writes the three
 * tables: the same bytes as the stage run whole.
 * With one shard the plan writes only its plan, the shard does nothing and the merge runs the stage whole (the one
 * shard forming every family and writing them out for the merge to read back three times cost more than the forming).
 *
 * Writes: curated families (family_id, locality, ward_code, postcode_district only, member counts, flags),
 *         curated family_members (family_id, person_id, role, membership, age_band, is_child, evidence JSON),
 *         curated id_lineage part 1: family ids carried over from the previous run by their primary members,
 *         secure  as_at=D/families/person-dobs.parquet (person_id, date_of_birth) for the rules' age-at-event tests
 *         and the Start Well cohort: dates of birth never leave the secure zone.
 */
import { serialize } from 'node:v8';
import type { z } from 'zod';
import {
  buildFamilies,
  parseFamiliesConfig,
  type FamiliesConfig,
  type Family,
  type FamilyPerson,
  type FamilyRelationship,
} from '../../matching/families/index.ts';
import { assignLocality } from '../../models/localities.ts';
import { parseStratifyConfig, type StratifyConfig } from '../../models/config.ts';
import { cmp } from '../../models/order.ts';
import { modeOf, planShardInputs, readExpectantMothers } from './families-plan.ts';
import { framesOf, readFrames } from '../io/frames.ts';
import { writeParquet, type ParquetRow } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { loadLocalityLookups, type LocalityLookups } from '../localities/lookups.ts';
import { factsTable } from '../tables/facts.ts';
import { FAMILIES, familyToRow, type FamilyRow } from '../tables/families.ts';
import { FAMILY_MEMBERS, memberRowsOf } from '../tables/family-members.ts';
import { PERSON_DOBS, personDobsKey } from '../tables/person-dobs.ts';
import { PERSON_ADDRESS_COLUMNS, personAddressFromRow, personRecordsKey } from '../tables/person-records.ts';
import { personOfRecordIn, personsTable, readPersonIndex, type PersonIndex } from '../tables/persons.ts';
import { closeTables, openTable, rowsOf, type TableRead } from '../tables/read.ts';
import { relationshipEnds, relationshipFromRow, relationshipsTable } from '../tables/relationships.ts';
import { parquetColumns, selectColumns } from '../tables/table.ts';
import type { StageContext } from './context.ts';
import { allSettledOrThrow } from './all-settled.ts';
import { defineShardedStage, shardPhaseInput, type ShardPlanOutput, type StageOutput } from './stage.ts';
import {
  readShardFile as readCheckedShardFile,
  readShardPlan,
  removeShardFolder,
  type ShardFileHead,
} from './shard-files.ts';
import { shardCountFor, shardFile, shardFolder, shardItems } from './sharding.ts';
import { carryOverFamilyIds } from './lineage.ts';

export const familiesInputSchema = shardPhaseInput.loose().default({});

// ------------------------------------------------------------------ the stage

export async function familiesStage(ctx: StageContext, _input: z.infer<typeof familiesInputSchema> = {}) {
  const famCfg = parseFamiliesConfig(ctx.config.families);
  const stratCfg = parseStratifyConfig(ctx.config.stratify);
  const tables = familyTables(ctx);
  try {
    return await formFamilies(ctx, tables, famCfg, stratCfg);
  } finally {
    await closeTables(Object.values(tables));
  }
}

/** The tables family formation reads (every input table is exported by DuckDB at once, read in turn). */
function familyTables(ctx: StageContext): FamilyTables {
  const asAt = ctx.asAt;
  // only the columns family formation needs from the secure records (names and tokens stay unread)
  return {
    persons: personsTable(ctx),
    records: openTable(
      ctx,
      'secure',
      personRecordsKey(asAt),
      'secure person records',
      selectColumns(PERSON_ADDRESS_COLUMNS),
      { windowed: true },
    ),
    facts: factsTable(ctx, ['maternity_booking', 'birth']),
    relationships: relationshipsTable(ctx),
  };
}

type FamilyTables = Record<'persons' | 'records' | 'facts' | 'relationships', TableRead>;

/** What family formation reads: the persons (person id order) and relationships, and what was left out, counted. */
interface FamilyInputs {
  persons: FamilyPerson[];
  relationships: FamilyRelationship[];
  relationshipsUnmatched: number;
  recordsWithoutPerson: number;
  expectantMothers: number;
}

/** The inputs: persons, their addresses and dates of birth, expectant mothers, relationships. */
async function readFamilyInputs(ctx: StageContext, tables: FamilyTables): Promise<FamilyInputs> {
  ctx.progress.start('families: reading persons');
  const personIndex = await readPersonIndex(tables.persons);
  const secure = await readAddressesAndDobs(tables.records, personIndex);
  const { personOfRecord, personIds } = personIndex;
  const personOf = {
    get: (recordId: string): string | undefined => {
      const i = personOfRecord.get(recordId);
      return i === undefined ? undefined : personIds[i];
    },
  };
  const expectant = await readExpectantMothers(ctx, tables.facts, personOf);
  const persons = familyPersons(personIndex.personIds, secure, expectant);
  const { relationships, unmatched } = await readRelationships(tables.relationships, personIndex);
  ctx.progress.stop();
  return {
    persons,
    relationships,
    relationshipsUnmatched: unmatched,
    recordsWithoutPerson: secure.recordsWithoutPerson,
    expectantMothers: expectant.size,
  };
}

/** The families stage in its steps: the inputs; families; then ids, localities and the three tables (finishFamilies). */
async function formFamilies(ctx: StageContext, tables: FamilyTables, famCfg: FamiliesConfig, stratCfg: StratifyConfig) {
  const inputs = await readFamilyInputs(ctx, tables);
  ctx.progress.start('families: forming family units', inputs.persons.length);
  const formed = buildFamilies(inputs.persons, inputs.relationships, ctx.asAt, famCfg);
  ctx.progress.stop();
  const dobRows = () => dobRowsOf(inputs.persons);
  return finishFamilies(ctx, stratCfg, () => inOrder(formed.families), formed.counts, inputs, dobRows);
}

type DobRow = { person_id: string; date_of_birth: string | null };

function* dobRowsOf(persons: readonly FamilyPerson[]): Generator<DobRow> {
  for (const p of persons) yield { person_id: p.personId, date_of_birth: p.dateOfBirth };
}

async function* inOrder<T>(values: readonly T[]): AsyncGenerator<T> {
  yield* values;
}

/**
 * The formed families in family id order (two of one id, a hash collision, by smallest primary member), read from
 * the start each time it is called: an array (the stage run whole) or the shards' files merged frame by frame.
 */
type FormedFamilies = () => AsyncIterable<Family>;

const primariesOf = (f: Family): string[] => f.members.filter((m) => m.membership === 'primary').map((m) => m.personId);

/**
 * Family ids carried over from the previous run, the families in their final order (family id, then formed order):
 * a first pass reads only each family's primary members; a family whose id changed is held (renamed) and put in its
 * place among the others, which keep their order, as they are streamed again. Memory: the primary members, not the
 * families.
 */
async function carriedFamilies(
  ctx: StageContext,
  formed: FormedFamilies,
): Promise<{ families: () => AsyncGenerator<Family>; counts: Record<string, number>; total: number }> {
  const groups: string[][] = [];
  const formedIds: string[] = [];
  for await (const f of formed()) {
    groups.push(primariesOf(f));
    formedIds.push(f.familyId);
  }
  const { ids, counts } = await carryOverFamilyIds(ctx, groups, formedIds);
  groups.length = 0;
  const renamed: Array<{ g: number; f: Family }> = [];
  if (ids.some((id, g) => id !== formedIds[g])) {
    let g = 0;
    for await (const f of formed()) {
      const familyId = ids[g]!;
      if (familyId !== f.familyId)
        renamed.push({ g, f: { ...f, familyId, members: f.members.map((m) => ({ ...m, familyId })) } });
      g += 1;
    }
    // as a stable sort of all of them by id would place them: by id, then formed order
    renamed.sort((a, b) => (a.f.familyId < b.f.familyId ? -1 : a.f.familyId > b.f.familyId ? 1 : a.g - b.g));
  }
  const before = (r: { g: number; f: Family }, id: string, g: number) =>
    r.f.familyId < id || (r.f.familyId === id && r.g < g);
  async function* families(): AsyncGenerator<Family> {
    let g = 0;
    let next = 0;
    for await (const f of formed()) {
      if (ids[g] !== f.familyId) {
        g += 1;
        continue; // renamed: put in its place below
      }
      while (next < renamed.length && before(renamed[next]!, f.familyId, g)) yield renamed[next++]!.f;
      yield f;
      g += 1;
    }
    while (next < renamed.length) yield renamed[next++]!.f;
  }
  return { families, counts, total: formedIds.length };
}

/** Family ids carried over, localities, the three tables and the counts (the stage whole and the merge). */
async function finishFamilies(
  ctx: StageContext,
  stratCfg: StratifyConfig,
  formedFamilies: FormedFamilies,
  formedCounts: Record<string, number>,
  inputs: Omit<FamilyInputs, 'persons' | 'relationships'>,
  dobRows: () => Iterable<DobRow> | AsyncIterable<DobRow>,
) {
  // family ids carry over from the previous run where the same persons are together (stages/lineage.ts)
  const carried = await carriedFamilies(ctx, formedFamilies);
  ctx.progress.start('families: locality lookup', carried.total);
  const lookups = await loadLocalityLookups(stratCfg, ctx.stores.landing);
  ctx.progress.stop();
  ctx.progress.start('families: writing tables');
  const located = await writeFamilyTables(ctx, carried.families, lookups, dobRows);

  const counts: Record<string, number> = {
    ...formedCounts,
    ...carried.counts,
    family_members_rows: located.memberRows,
    families_unassigned_locality: located.unassigned,
    relationships_without_person: inputs.relationshipsUnmatched,
    person_records_without_person: inputs.recordsWithoutPerson,
    expectant_mothers: inputs.expectantMothers,
  };
  ctx.progress.stop();
  ctx.log.info('families formed', {
    families: carried.total,
    unassigned: located.unassigned,
    alsoIn: formedCounts.also_in_memberships,
  });
  return { counts, byLocality: located.byLocality };
}

interface SecureOfPersons {
  /** Each person's dates of birth with the extract each came from (undefined: none recorded). */
  dobsOf: Array<Array<{ v: string; date: string }> | undefined>;
  addressesOf: FamilyPerson['addresses'][];
  recordsWithoutPerson: number;
}

/**
 * The secure person records: addresses and dates of birth per person (persons with no secure record still exist:
 * their records were matched; they have no address).
 */
async function readAddressesAndDobs(records: TableRead, personIndex: PersonIndex): Promise<SecureOfPersons> {
  const n = personIndex.personIds.length;
  const dobsOf: SecureOfPersons['dobsOf'] = new Array<Array<{ v: string; date: string }> | undefined>(n);
  const addressesOf: FamilyPerson['addresses'][] = Array.from({ length: n }, () => []);
  let recordsWithoutPerson = 0;
  const personOfNextRecord = personOfRecordIn(personIndex);
  for await (const r of rowsOf(records)) {
    const { recordId, extractDate, dateOfBirth: dob, postcode, addressLine1 } = personAddressFromRow(r, records);
    const i = personOfNextRecord(recordId);
    if (i === undefined) {
      recordsWithoutPerson += 1;
      continue;
    }
    if (dob) {
      const l = dobsOf[i];
      if (l) l.push({ v: dob, date: extractDate });
      else dobsOf[i] = [{ v: dob, date: extractDate }];
    }
    addressesOf[i]!.push({ recordId, extractDate, postcode, addressLine1 });
  }
  return { dobsOf, addressesOf, recordsWithoutPerson };
}

/** The persons as family formation takes them, in person id order (as buildFamilies and the dates-of-birth table want them). */
function familyPersons(personIds: string[], secure: SecureOfPersons, expectant: ReadonlySet<string>): FamilyPerson[] {
  const byId = personIds.map((_, i) => i).sort((a, b) => cmp(personIds[a]!, personIds[b]!));
  return byId.map((i) => ({
    personId: personIds[i]!,
    dateOfBirth: modeOf(secure.dobsOf[i] ?? []),
    addresses: secure.addressesOf[i]!.sort((a, b) => cmp(a.recordId, b.recordId)),
    expectant: expectant.has(personIds[i]!),
  }));
}

/** Relationships between persons (one whose records are in no person is counted, not kept). */
async function readRelationships(
  table: TableRead,
  { personOfRecord, personIds }: PersonIndex,
): Promise<{ relationships: FamilyRelationship[]; unmatched: number }> {
  const relationships: FamilyRelationship[] = [];
  let unmatched = 0;
  for await (const r of rowsOf(table)) {
    const ends = relationshipEnds(r, table);
    const fromIndex = personOfRecord.get(ends.fromRecordId);
    const toIndex = personOfRecord.get(ends.toRecordId);
    const from = fromIndex === undefined ? undefined : personIds[fromIndex];
    const to = toIndex === undefined ? undefined : personIds[toIndex];
    if (!from || !to) {
      unmatched += 1;
      continue;
    }
    const rel = relationshipFromRow(r, ends, table);
    relationships.push({
      relationshipId: rel.relationshipId,
      source: rel.source,
      feed: rel.feed,
      recordRef: rel.recordRef,
      fromPersonId: from,
      toPersonId: to,
      relationship: rel.relationship,
      groupRef: rel.groupRef,
      startDate: rel.startDate,
      endDate: rel.endDate,
    });
  }
  return { relationships, unmatched };
}

/** What writing the families table counted: families by locality, those the lookups cannot place, member rows. */
interface Located {
  byLocality: Record<string, number>;
  unassigned: number;
  memberRows: number;
}

/** Each family's row with its locality (a family the lookups cannot place is flagged why), counted into `located`. */
async function* familyRowsWithLocality(
  families: AsyncIterable<Family>,
  lookups: LocalityLookups,
  asAt: string,
  located: Located,
): AsyncGenerator<ParquetRow> {
  const { byLocality } = located;
  for await (const f of families) {
    const loc = assignLocality(f.postcode, lookups.postcodes, lookups.localities, lookups.unassigned);
    if (!loc.assigned) located.unassigned += 1;
    byLocality[loc.locality] = (byLocality[loc.locality] ?? 0) + 1;
    const primary = f.members.filter((m) => m.membership === 'primary');
    const row: FamilyRow = {
      familyId: f.familyId,
      asAt,
      locality: loc.locality,
      wardCode: loc.wardCode,
      postcodeDistrict: loc.postcodeDistrict,
      members: primary.length,
      children: primary.filter((m) => m.isChild).length,
      adults: primary.filter((m) => !m.isChild).length,
      membersElsewhere: f.members.length - primary.length,
      flags: loc.assigned
        ? f.flags
        : [...f.flags, loc.wardCode ? 'ward_not_in_any_locality' : 'postcode_not_in_directory'].sort(cmp),
    };
    located.memberRows += f.members.length;
    yield familyToRow(row);
  }
}

/**
 * curated families and family_members, secure person-dobs (persons in person id order), each streamed from its
 * source (`families` read once per table): what is held is one frame of families, not all of them.
 */
async function writeFamilyTables(
  ctx: StageContext,
  families: () => AsyncIterable<Family>,
  lookups: LocalityLookups,
  dobRows: () => Iterable<DobRow> | AsyncIterable<DobRow>,
): Promise<Located> {
  const asAt = ctx.asAt;
  const located: Located = { byLocality: {}, unassigned: 0, memberRows: 0 };
  const writes = [
    () =>
      writeParquet(
        ctx.stores.curated,
        keys.curated('families', asAt),
        parquetColumns(FAMILIES),
        familyRowsWithLocality(families(), lookups, asAt, located),
      ),
    () =>
      writeParquet(
        ctx.stores.curated,
        keys.curated('family_members', asAt),
        parquetColumns(FAMILY_MEMBERS),
        memberRowsOf(families()),
      ),
    () => writeParquet(ctx.stores.secure, personDobsKey(asAt), parquetColumns(PERSON_DOBS), dobRows()),
  ];
  // three independent files: DuckDB compresses one while the next one's rows are being serialised; in a Lambda
  // (no read-ahead) one after another, so its /tmp holds one file's rows at a time
  if (ctx.runtime.readAhead) await allSettledOrThrow(writes.map((w) => w()));
  else for (const w of writes) await w();
  return located;
}

// ---- the sharded stage: plan, shard, merge --------------------------------------------------------------

const STAGE = 'families';
const planKey = (ctx: StageContext) => `${shardFolder(STAGE, ctx.asAt, ctx.runId)}plan.json`;
const dobsKey = (ctx: StageContext, shard: number) =>
  shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'person-dobs', 'bin');
const inputKey = (ctx: StageContext, shard: number) => shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'input', 'bin');
const outputKey = (ctx: StageContext, shard: number) => shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'families', 'bin');

type InputCounts = Omit<FamilyInputs, 'persons' | 'relationships'>;

interface FamiliesPlan extends Partial<InputCounts> {
  runId: string;
  shards: number;
  persons: number;
  /** One shard: the merge runs the stage whole, from the tables (the shard does nothing); the plan wrote nothing else. */
  whole?: true;
  components?: number;
  anchoredComponents?: number;
  largestComponent?: number;
}

/** One shard's input: its components' persons (person id order), their relationships and address clusters. */
interface ShardInput {
  runId: string;
  shard: number;
  shards: number;
  persons: FamilyPerson[];
  relationships: FamilyRelationship[];
  /** raw address key -> cluster key, for the raw keys the shard's persons hold (the whole population's clusters). */
  addressClusters: Array<[string, string]>;
}

/**
 * The head of a shard's families file (pipelines/io/frames.ts): frames of at most FAMILIES_PER_FRAME families follow,
 * in family id order (then smallest primary member), so the merge streams every shard's file side by side.
 */
interface ShardFamilies {
  runId: string;
  shard: number;
  shards: number;
  families: number;
  counts: Record<string, number>;
}

/** Families (or persons' dates of birth) per frame of a shard's file: what the merge holds of each shard at a time. */
const FAMILIES_PER_FRAME = 1000;

/** `values` in frames of FAMILIES_PER_FRAME after `head`. */
function* framed<T>(head: ShardFileHead, values: readonly T[]): Generator<unknown> {
  yield head;
  for (let at = 0; at < values.length; at += FAMILIES_PER_FRAME) yield values.slice(at, at + FAMILIES_PER_FRAME);
}

/** The head of a shard's framed file (present, of this plan and this shard) and then its values, one frame at a time. */
async function* shardFrames<H extends ShardFileHead, T>(
  ctx: StageContext,
  key: string,
  shard: number,
  shards: number,
  missing: string,
  onHead?: (head: H) => void,
): AsyncGenerator<T> {
  const secure = ctx.stores.secure;
  if (!(await secure.exists(key))) throw new Error(`${STAGE}: ${key} is missing: ${missing}`);
  const frames = readFrames<unknown>(await secure.getStream(key), `${STAGE}: ${key}`);
  try {
    const first = await frames.next();
    const head = (first.done ? {} : first.value) as H;
    if (head.runId !== ctx.runId || head.shard !== shard || head.shards !== shards)
      throw new Error(`${STAGE}: ${key} is shard ${head.shard} of ${head.shards} of ${head.runId}, not of this plan`);
    onHead?.(head);
    for await (const frame of frames) yield* frame as T[];
  } finally {
    await frames.return(undefined);
  }
}

/** The sources' values merged in `compare` order (each source already in that order; no two sources' values tie). */
async function* mergeSorted<T>(sources: Array<AsyncIterable<T>>, compare: (a: T, b: T) => number): AsyncGenerator<T> {
  const its = sources.map((s) => s[Symbol.asyncIterator]());
  const heads: Array<IteratorResult<T>> = await Promise.all(its.map((it) => it.next()));
  try {
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++)
        if (!heads[i]!.done && (best < 0 || compare(heads[i]!.value as T, heads[best]!.value as T) < 0)) best = i;
      if (best < 0) return;
      yield heads[best]!.value as T;
      heads[best] = await its[best]!.next();
    }
  } finally {
    await Promise.all(its.map((it, i) => (heads[i]!.done ? undefined : it.return?.())));
  }
}

const removeShardFiles = (ctx: StageContext) => removeShardFolder(ctx, STAGE);

/**
 * Components (numbered in order of their smallest person) packed into `shards` shards in that order, each shard
 * taking components until it holds its share of the persons not yet placed (remaining persons / remaining shards).
 * A component larger than a share fills a shard alone. Deterministic: the same inputs give the same shards.
 */
export function packComponents(sizes: readonly number[], shards: number): Int32Array {
  const shardOf = new Int32Array(sizes.length);
  let remaining = 0;
  for (const n of sizes) remaining += n;
  let shard = 0;
  let held = 0;
  let share = remaining / shards;
  for (let c = 0; c < sizes.length; c++) {
    if (held > 0 && held + sizes[c]! / 2 > share && shard < shards - 1) {
      remaining -= held;
      shard += 1;
      held = 0;
      share = remaining / (shards - shard);
    }
    shardOf[c] = shard;
    held += sizes[c]!;
  }
  return shardOf;
}

/** Phase plan: reads the inputs, finds the components, packs them into shards and writes each shard its input. */
async function planFamilies(ctx: StageContext): Promise<ShardPlanOutput> {
  const famCfg = parseFamiliesConfig(ctx.config.families);
  // the shard count from the persons (their ids only): one shard reads the tables itself
  const persons = await countPersons(ctx);
  const shards = shardCountFor(ctx.config, STAGE, persons);
  await removeShardFiles(ctx); // a plan starts clean: no shard of an earlier attempt is merged
  if (shards === 1) {
    const plan: FamiliesPlan = { runId: ctx.runId, shards, persons, whole: true };
    await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
    return { counts: { persons, shards }, shards: shardItems(shards) };
  }
  // the components from the tables joined in DuckDB (families-plan.ts), each shard's input written in turn
  const planned = await planShardInputs(ctx, famCfg, shards, packComponents, async (shard, slice) => {
    const input: ShardInput = { runId: ctx.runId, shard, shards, ...slice };
    await ctx.stores.secure.put(inputKey(ctx, shard), serialize(input));
  });
  const plan: FamiliesPlan = { runId: ctx.runId, shards, ...planned };
  await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
  const { components, anchoredComponents, largestComponent } = plan;
  return {
    counts: {
      persons: plan.persons,
      components: components!,
      anchored_components: anchoredComponents!,
      largest_component: largestComponent!,
      shards,
    },
    shards: shardItems(shards),
  };
}

/** The persons (distinct person ids) of the curated persons table. */
async function countPersons(ctx: StageContext): Promise<number> {
  const t = openTable(
    ctx,
    'curated',
    keys.curated('persons', ctx.asAt),
    'persons',
    'SELECT count(DISTINCT person_id)::INTEGER AS persons FROM {{file}}',
  );
  let persons = 0;
  try {
    for await (const batch of t.batches) for (const r of batch) persons = Number(r.persons ?? 0);
  } finally {
    await closeTables([t]);
  }
  return persons;
}

/** A shard's persons' dates of birth (person id order, framed), for the merge to write (secure person-dobs). */
async function writeDobs(ctx: StageContext, shard: number, shards: number, persons: FamilyPerson[]): Promise<void> {
  const dobs = persons.map((p): [string, string | null] => [p.personId, p.dateOfBirth]);
  await ctx.stores.secure.put(dobsKey(ctx, shard), framesOf(framed({ runId: ctx.runId, shard, shards }, dobs)));
}

/** A shard's families, framed after their head (the families in family id order, as buildFamilies gives them). */
async function writeShardFamilies(ctx: StageContext, head: ShardFamilies, families: Family[]): Promise<void> {
  await ctx.stores.secure.put(outputKey(ctx, head.shard), framesOf(framed(head, families)));
}

const readPlan = (ctx: StageContext) => readShardPlan<FamiliesPlan>(ctx, STAGE, planKey(ctx));
const readShardFile = <T extends ShardFileHead>(
  ctx: StageContext,
  key: string,
  shard: number,
  shards: number,
  missing: string,
): Promise<T> => readCheckedShardFile<T>(ctx, STAGE, key, { shard, shards }, missing);

/** Phase shard: forms the families of one shard's components and writes them to its shard file. */
async function formShard(ctx: StageContext, shard: number): Promise<StageOutput> {
  const { shards, whole } = await readPlan(ctx);
  if (shard >= shards) throw new Error(`families: shard ${shard} of ${shards} does not exist`);
  // the one shard of a plan that wrote nothing: the merge forms the families from the tables, as the stage run whole
  // (writing them to a shard file only for the merge to read them back three times cost more than forming them)
  if (whole) return { counts: { shard } };
  const famCfg = parseFamiliesConfig(ctx.config.families);
  const input = await readShardFile<ShardInput>(ctx, inputKey(ctx, shard), shard, shards, 'run the plan phase first');
  ctx.progress.start('families: forming family units', input.persons.length);
  const formed = buildFamilies(input.persons, input.relationships, ctx.asAt, famCfg, new Map(input.addressClusters));
  ctx.progress.stop();
  const head: ShardFamilies = {
    runId: ctx.runId,
    shard,
    shards,
    families: formed.families.length,
    counts: formed.counts,
  };
  await writeShardFamilies(ctx, head, formed.families);
  await writeDobs(ctx, shard, shards, input.persons);
  return { counts: { shard, persons: input.persons.length, families: formed.families.length } };
}

const firstPrimary = (f: Family) => f.members.find((m) => m.membership === 'primary')?.personId ?? '';

const byFamilyId = (a: Family, b: Family) => cmp(a.familyId, b.familyId) || cmp(firstPrimary(a), firstPrimary(b));

/**
 * Phase merge: every shard's families in family id order (the shards' files streamed side by side, frame by frame),
 * then ids carried over, localities and the three tables.
 */
async function mergeFamilies(ctx: StageContext) {
  const plan = await readPlan(ctx);
  if (plan.whole) {
    // one shard: the stage run whole, here (its shard wrote nothing); the same bytes and counts
    const out = await familiesStage(ctx);
    await removeShardFiles(ctx);
    return out;
  }
  const { shards } = plan;
  const stratCfg = parseStratifyConfig(ctx.config.stratify);
  const counts: Record<string, number> = {};
  const inputs: InputCounts = plan as InputCounts;
  const familiesOf = (shard: number, onHead?: (head: ShardFamilies) => void) =>
    shardFrames<ShardFamilies, Family>(
      ctx,
      outputKey(ctx, shard),
      shard,
      shards,
      `shard ${shard} of ${shards} did not run`,
      onHead,
    );
  // every shard's head first (its counts, in shard order), every file checked before anything is written
  for (let shard = 0; shard < shards; shard++) {
    const frames = familiesOf(shard, (head) => {
      for (const [k, v] of Object.entries(head.counts)) counts[k] = (counts[k] ?? 0) + v;
    });
    await frames.next();
    await frames.return(undefined);
  }
  const shardList = Array.from({ length: shards }, (_, shard) => shard);
  // as buildFamilies orders them whole: by family id, two families of one id (a hash collision) by smallest person
  const formed = () =>
    mergeSorted(
      shardList.map((shard) => familiesOf(shard)),
      byFamilyId,
    );
  const dobRows = () =>
    mergeSorted(
      shardList.map((shard) =>
        shardFrames<ShardFileHead, [string, string | null]>(
          ctx,
          dobsKey(ctx, shard),
          shard,
          shards,
          `shard ${shard} of ${shards} did not run`,
        ),
      ),
      (a, b) => cmp(a[0], b[0]),
    );
  const out = await finishFamilies(ctx, stratCfg, formed, counts, inputs, async function* () {
    for await (const [person_id, date_of_birth] of dobRows()) yield { person_id, date_of_birth };
  });
  await removeShardFiles(ctx);
  return out;
}

export const stage = defineShardedStage(STAGE, familiesInputSchema, {
  plan: (ctx) => planFamilies(ctx),
  shard: (ctx, _input, shard) => formShard(ctx, shard),
  merge: (ctx) => mergeFamilies(ctx),
});
