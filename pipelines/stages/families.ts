/**
 * families stage: persons (C1's curated `persons`) + relationships + the secure person records' addresses ->
 * curated `families` and `family_members` as at the run date, with each family's locality.
 *
 * Reads:  curated persons, relationships, facts (current pregnancies); secure as_at=D/person-records.parquet.
 * Writes: curated families (family_id, locality, ward_code, postcode_district only, member counts, flags),
 *         curated family_members (family_id, person_id, role, membership, age_band, is_child, evidence JSON),
 *         curated id_lineage part 1: family ids carried over from the previous run by their primary members,
 *         secure  as_at=D/families/person-dobs.parquet (person_id, date_of_birth) for the rules' age-at-event tests
 *         and the Start Well cohort: dates of birth never leave the secure zone.
 */
import { z } from 'zod';
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
import { deliveredRows, isCurrentPregnancy } from '../../models/pregnancy.ts';
import { writeParquet } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { loadLocalityLookups, type LocalityLookups } from '../localities/lookups.ts';
import { factsTable, readFacts } from '../tables/facts.ts';
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
import { defineStage } from './stage.ts';
import { carryOverFamilyIds } from './lineage.ts';

export const familiesInputSchema = z.object({}).loose().default({});

// ------------------------------------------------------------------ the stage

function modeOf(values: Array<{ v: string; date: string }>): string | null {
  // the usual case: every record agrees (or there is one)
  if (values.length === 0) return null;
  const first = values[0]!.v;
  let agree = true;
  for (let i = 1; i < values.length && agree; i++) agree = values[i]!.v === first;
  if (agree) return first;
  const tally = new Map<string, { n: number; latest: string }>();
  for (const { v, date } of values) {
    const t = tally.get(v) ?? { n: 0, latest: '' };
    t.n += 1;
    if (date > t.latest) t.latest = date;
    tally.set(v, t);
  }
  const best = [...tally.entries()].sort(
    (a, b) => b[1].n - a[1].n || cmp(b[1].latest, a[1].latest) || cmp(a[0], b[0]),
  )[0];
  return best ? best[0] : null;
}

export async function familiesStage(ctx: StageContext, _input: z.infer<typeof familiesInputSchema> = {}) {
  const famCfg = parseFamiliesConfig(ctx.config.families);
  const stratCfg = parseStratifyConfig(ctx.config.stratify);
  const asAt = ctx.asAt;
  // every input table is exported by DuckDB at once, while the ones before it are being read
  // only the columns family formation needs from the secure records (names and tokens stay unread)
  const tables = {
    persons: personsTable(ctx),
    records: openTable(
      ctx,
      'secure',
      personRecordsKey(asAt),
      'secure person records',
      selectColumns(PERSON_ADDRESS_COLUMNS),
    ),
    facts: factsTable(ctx, ['maternity_booking', 'birth']),
    relationships: relationshipsTable(ctx),
  };
  try {
    return await formFamilies(ctx, tables, famCfg, stratCfg);
  } finally {
    await closeTables(Object.values(tables));
  }
}

type FamilyTables = Record<'persons' | 'records' | 'facts' | 'relationships', TableRead>;

/** The families stage in its steps: persons, their addresses and dates of birth, expectant mothers, relationships; families; localities; the three tables. */
async function formFamilies(ctx: StageContext, tables: FamilyTables, famCfg: FamiliesConfig, stratCfg: StratifyConfig) {
  const asAt = ctx.asAt;
  ctx.progress.start('families: reading persons');
  const personIndex = await readPersonIndex(tables.persons);
  const secure = await readAddressesAndDobs(tables.records, personIndex);
  const expectant = await readExpectantMothers(ctx, tables.facts, personIndex);
  const persons = familyPersons(personIndex.personIds, secure, expectant);
  const { relationships, unmatched: relationshipsUnmatched } = await readRelationships(
    tables.relationships,
    personIndex,
  );
  ctx.progress.stop();

  ctx.progress.start('families: forming family units', persons.length);
  const formed = buildFamilies(persons, relationships, asAt, famCfg);
  ctx.progress.stop();
  // family ids carry over from the previous run where the same persons are together (stages/lineage.ts)
  const carried = await carryOverFamilyIds(ctx, formed.families);
  const built = { ...formed, families: carried.families };
  ctx.progress.start('families: locality lookup', built.families.length);
  const located = familyRowsWithLocality(built.families, await loadLocalityLookups(stratCfg, ctx.stores.landing), asAt);
  ctx.progress.stop();
  ctx.progress.start('families: writing tables');
  await writeFamilyTables(ctx, located.rows, built.families, persons);

  const counts: Record<string, number> = {
    ...built.counts,
    ...carried.counts,
    family_members_rows: located.memberRows,
    families_unassigned_locality: located.unassigned,
    relationships_without_person: relationshipsUnmatched,
    person_records_without_person: secure.recordsWithoutPerson,
    expectant_mothers: expectant.size,
  };
  ctx.progress.stop();
  ctx.log.info('families formed', {
    families: built.families.length,
    unassigned: located.unassigned,
    alsoIn: built.counts.also_in_memberships,
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

/** Mothers with a current pregnancy on the as-at date (models/pregnancy.ts). */
async function readExpectantMothers(
  ctx: StageContext,
  facts: TableRead,
  { personOfRecord, personIds }: PersonIndex,
): Promise<Set<string>> {
  const personOf = {
    get: (recordId: string): string | undefined => {
      const i = personOfRecord.get(recordId);
      return i === undefined ? undefined : personIds[i];
    },
  };
  const read = await readFacts(ctx, personOf, ['maternity_booking', 'birth'], facts);
  const delivered = deliveredRows(read.facts, ctx.asAt);
  const expectant = new Set<string>();
  for (const f of read.facts) if (isCurrentPregnancy(f, ctx.asAt, delivered)) expectant.add(f.personId);
  return expectant;
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

/** Each family's row with its locality (a family the lookups cannot place is flagged why), and the counts by locality. */
function familyRowsWithLocality(
  families: Family[],
  lookups: LocalityLookups,
  asAt: string,
): { rows: FamilyRow[]; byLocality: Record<string, number>; unassigned: number; memberRows: number } {
  const byLocality: Record<string, number> = {};
  let unassigned = 0;
  const rows: FamilyRow[] = [];
  let memberRows = 0;
  for (const f of families) {
    const loc = assignLocality(f.postcode, lookups.postcodes, lookups.localities, lookups.unassigned);
    if (!loc.assigned) unassigned += 1;
    byLocality[loc.locality] = (byLocality[loc.locality] ?? 0) + 1;
    const primary = f.members.filter((m) => m.membership === 'primary');
    rows.push({
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
    });
    memberRows += f.members.length;
  }
  return { rows, byLocality, unassigned, memberRows };
}

/** curated families and family_members, secure person-dobs (persons are in person id order). */
async function writeFamilyTables(
  ctx: StageContext,
  familyRows: FamilyRow[],
  families: Family[],
  persons: FamilyPerson[],
): Promise<void> {
  const asAt = ctx.asAt;
  const dobRows = persons.map((p) => ({ person_id: p.personId, date_of_birth: p.dateOfBirth }));
  // three independent files: DuckDB compresses one while the next one's rows are being serialised
  await allSettledOrThrow([
    writeParquet(
      ctx.stores.curated,
      keys.curated('families', asAt),
      parquetColumns(FAMILIES),
      familyRows.map(familyToRow),
    ),
    writeParquet(
      ctx.stores.curated,
      keys.curated('family_members', asAt),
      parquetColumns(FAMILY_MEMBERS),
      memberRowsOf(families),
    ),
    writeParquet(ctx.stores.secure, personDobsKey(asAt), parquetColumns(PERSON_DOBS), dobRows),
  ]);
}

export const stage = defineStage('families', familiesInputSchema, familiesStage);
