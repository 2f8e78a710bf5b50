/**
 * families stage: persons (C1's curated `persons`) + relationships + the secure person records' addresses ->
 * curated `families` and `family_members` as at the run date, with each family's locality.
 *
 * Reads:  curated persons, relationships, facts (current pregnancies); secure as_at=D/person-records.parquet.
 * Writes: curated families (family_id, locality, ward_code, postcode_district only, member counts, flags),
 *         curated family_members (family_id, person_id, role, membership, age_band, is_child, evidence JSON),
 *         secure  as_at=D/families/person-dobs.parquet (person_id, date_of_birth) for the rules' age-at-event tests
 *         and the Start Well cohort: dates of birth never leave the secure zone.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { buildFamilies, parseFamiliesConfig, type FamiliesConfig, type Family, type FamilyPerson, type FamilyRelationship, type MembershipEvidence } from '../../matching/families/index.ts';
import { assignLocality, buildLocalityMap, buildPostcodeLookup, type LocalityMap, type PostcodeLookup } from '../../models/localities.ts';
import { parseStratifyConfig, type StratifyConfig } from '../../models/config.ts';
import { addDays } from '../../models/dates.ts';
import { FACT_TYPES, type Fact, type FactType } from '../../models/facts.ts';
import { parseCsvColumns } from '../../matching/csv.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { iterateParquet, writeParquet, type ParquetColumn, type ParquetRow } from '../io/parquet.ts';
import { readAhead, type ReadAhead } from '../io/read-ahead.ts';
import { isIsoDate, keys, PERSON_DOBS_KEY, PERSON_RECORDS_KEY } from '../layout.ts';
import type { StageContext } from './context.ts';
import { allSettledOrThrow } from './all-settled.ts';
import { defineStage } from './index.ts';

export const familiesInputSchema = z.object({}).loose().default({});

export { PERSON_DOBS_KEY };

// ------------------------------------------------------------------ tolerant row readers (snake_case or camelCase)

export function str(row: ParquetRow, ...names: string[]): string | null {
  for (const n of names) {
    const v = row[n];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') return v === '' ? null : v;
    if (!Array.isArray(v)) return String(v);
  }
  return null;
}

function num(row: ParquetRow, ...names: string[]): number | null {
  for (const n of names) {
    const v = row[n];
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  }
  return null;
}

/**
 * The row rowsOf yielded last and where it came from: rows are checked as they are read, so an error names
 * "<what> <store>/<key> row <n>" without building that text (or a map entry) for every row.
 */
const lastRow: { row: ParquetRow | null; what: string; file: string; n: number } = { row: null, what: '', file: '', n: 0 };

/** Where a row came from, for error messages (the table's name for a row not being read just now). */
export function originOf(row: ParquetRow, table: string): string {
  return row === lastRow.row ? `${lastRow.what} ${lastRow.file} row ${lastRow.n}` : table;
}

function need(row: ParquetRow, table: string, ...names: string[]): string {
  const v = str(row, ...names);
  if (v === null) throw new Error(`${originOf(row, table)}, field ${names[0]}: missing (columns: ${Object.keys(row).join(', ')})`);
  return v;
}

const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
/** A real calendar date YYYY-MM-DD (cheap: the regex, then the calendar only for days 29-31). */
function isDate(v: string): boolean {
  if (!ISO_DATE.test(v)) return false;
  return Number(v.slice(8, 10)) <= 28 || isIsoDate(v);
}

function needDate(row: ParquetRow, table: string, ...names: string[]): string {
  const v = need(row, table, ...names);
  if (!isDate(v)) throw new Error(`${originOf(row, table)}, field ${names[0]}: not a date (YYYY-MM-DD)`);
  return v;
}

/** A Parquet table being read: DuckDB exports it as soon as it is opened (see openTable), rows are read later. */
export interface TableRead {
  what: string;
  file: string;
  batches: ReadAhead<ParquetRow[]>;
}

async function* batchesOf(store: ObjectStore, key: string, what: string, sql?: string): AsyncGenerator<ParquetRow[]> {
  if (!(await store.exists(key))) throw new Error(`${what}: ${store.location}/${key} is missing: run the earlier stages first`);
  yield* iterateParquet(store, key, sql);
}

/**
 * Starts reading a Parquet table now (DuckDB exports it on its own threads while the stage works on something else);
 * `sql` (with `{{file}}`) may project columns or filter rows. Read its rows once with rowsOf, or close it unread.
 */
export function openTable(ctx: StageContext, zone: 'curated' | 'secure', key: string, what: string, sql?: string): TableRead {
  const store = ctx.stores[zone];
  // In a Lambda (runtime.readAhead false) the tables are read one after another: /tmp and memory are not there for all their exports at once.
  return { what, file: `${store.location}/${key}`, batches: readAhead(batchesOf(store, key, what, sql), ctx.runtime.readAhead) };
}

/** Closes tables that may not have been read (a stage that failed part way): frees their DuckDB instances and temp files. */
export async function closeTables(tables: Iterable<TableRead>): Promise<void> {
  await Promise.all([...tables].map((t) => t.batches.close()));
}

/** Rows of an opened table, in file order. */
async function* rowsOf(table: TableRead): AsyncGenerator<ParquetRow> {
  let n = 0;
  for await (const batch of table.batches) {
    for (const row of batch) {
      n += 1;
      lastRow.row = row;
      lastRow.what = table.what;
      lastRow.file = table.file;
      lastRow.n = n;
      yield row;
    }
  }
}

export const personsTable = (ctx: StageContext): TableRead => openTable(ctx, 'curated', keys.curated('persons', ctx.asAt), 'persons');

/** record_id -> person_id from C1's curated persons table. */
export async function readPersonMap(ctx: StageContext, table = personsTable(ctx)): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for await (const r of rowsOf(table)) map.set(need(r, 'persons', 'record_id', 'recordId'), need(r, 'persons', 'person_id', 'personId'));
  return map;
}

/**
 * record_id -> person from C1's curated persons table, persons numbered in order of first sight (personIds[i] is
 * person i's id): the family stage works on these numbers, not on maps keyed by person id.
 */
async function readPersonIndex(table: TableRead): Promise<{ personOfRecord: Map<string, number>; personIds: string[]; inOrder: { recordIds: string[]; persons: number[] } | null }> {
  const personOfRecord = new Map<string, number>();
  const indexOf = new Map<string, number>();
  const personIds: string[] = [];
  const recordIds: string[] = [];
  const persons: number[] = [];
  let ascending = true;
  for await (const r of rowsOf(table)) {
    const recordId = need(r, 'persons', 'record_id', 'recordId');
    const personId = need(r, 'persons', 'person_id', 'personId');
    let i = indexOf.get(personId);
    if (i === undefined) {
      i = personIds.length;
      indexOf.set(personId, i);
      personIds.push(personId);
    }
    personOfRecord.set(recordId, i);
    if (ascending) {
      ascending = recordIds.length === 0 || recordIds[recordIds.length - 1]! < recordId;
      recordIds.push(recordId);
      persons.push(i);
    }
  }
  // record ids strictly ascending (each once): a table in the same record order can be walked beside it
  return { personOfRecord, personIds, inOrder: ascending ? { recordIds, persons } : null };
}

/**
 * Person index of each record of a table read in file order: when the persons table lists record ids in ascending
 * order and this table follows the same order (C1 and B both write by record id), the next record is found by one
 * comparison; otherwise (or after a record the persons table does not have) by the map.
 */
function personOfRecordIn(index: Awaited<ReturnType<typeof readPersonIndex>>): (recordId: string) => number | undefined {
  const { personOfRecord, inOrder } = index;
  if (!inOrder) return (recordId) => personOfRecord.get(recordId);
  const { recordIds, persons } = inOrder;
  let at = 0;
  return (recordId) => {
    if (at < recordIds.length && recordIds[at] === recordId) return persons[at++];
    return personOfRecord.get(recordId);
  };
}

function detailOf(o: object): Record<string, string> {
  return Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, x]) => [k, x === null ? '' : String(x)]));
}

/**
 * A fact's detail as text values. `cache` (detail JSON -> parsed detail) shares one frozen object among facts with
 * the same detail text: most facts repeat a few shapes (an attendance term, an episode type), so each is parsed once.
 */
function parseDetail(v: unknown, cache?: Map<string, Readonly<Record<string, string>>>): Record<string, string> {
  if (v === null || v === undefined || v === '') return {};
  if (typeof v === 'string') {
    const known = cache?.get(v);
    if (known) return known;
    let o: unknown;
    try {
      o = JSON.parse(v);
    } catch {
      throw new Error('facts: a detail is not JSON (value not shown)');
    }
    const d = o && typeof o === 'object' && !Array.isArray(o) ? detailOf(o) : {};
    if (cache) cache.set(v, Object.freeze(d));
    return d;
  }
  if (typeof v === 'object' && !Array.isArray(v)) return detailOf(v);
  return {};
}

function optDate(row: ParquetRow, table: string, ...names: string[]): string | null {
  const v = str(row, ...names);
  if (v !== null && !isDate(v)) throw new Error(`${originOf(row, table)}, field ${names[0]}: not a date (YYYY-MM-DD)`);
  return v;
}

function factType(r: ParquetRow): FactType {
  const t = need(r, 'facts', 'type', 'fact_type', 'factType');
  if (!(FACT_TYPES as readonly string[]).includes(t)) throw new Error(`${originOf(r, 'facts')}, field type: unknown fact type "${t}" (known: ${FACT_TYPES.join(', ')})`);
  return t as FactType;
}

const RELATIONSHIPS = ['mother', 'father', 'carer', 'step_parent', 'grandparent', 'sibling', 'other'] as const;

/** A fact from a curated facts row (`details`: a cache shared by the rows of one read, see parseDetail). */
export function factFromRow(r: ParquetRow, details?: Map<string, Readonly<Record<string, string>>>): Fact {
  const source = need(r, 'facts', 'source');
  const feed = need(r, 'facts', 'feed');
  const recordRef = need(r, 'facts', 'record_ref', 'recordRef');
  return {
    factId: str(r, 'fact_id', 'factId') ?? `${source}:${feed}:${recordRef}`,
    type: factType(r),
    source,
    feed,
    recordRef,
    recordId: need(r, 'facts', 'record_id', 'recordId'),
    date: needDate(r, 'facts', 'date', 'event_date', 'eventDate'),
    endDate: optDate(r, 'facts', 'end_date', 'endDate'),
    value: num(r, 'value'),
    detail: parseDetail(r.detail ?? r.detail_json, details),
  };
}

export const factsTable = (ctx: StageContext, onlyTypes?: FactType[]): TableRead => openTable(ctx, 'curated', keys.curated('facts', ctx.asAt), 'facts',
  onlyTypes ? `SELECT * FROM {{file}} WHERE "type" IN (${onlyTypes.map((t) => `'${t}'`).join(', ')})` : undefined);

/**
 * Facts with their person id (facts whose record is in no person are counted, not silently lost). Every row is
 * checked; `keep` may leave out facts the caller will not use (they are still checked and counted).
 */
export async function readFacts(ctx: StageContext, personOf: Pick<Map<string, string>, 'get'>, onlyTypes?: FactType[], table = factsTable(ctx, onlyTypes), keep?: (f: Fact) => boolean): Promise<{ facts: Array<Fact & { personId: string }>; unmatched: number }> {
  const facts: Array<Fact & { personId: string }> = [];
  let unmatched = 0;
  const details = new Map<string, Readonly<Record<string, string>>>();
  for await (const r of rowsOf(table)) {
    const f = factFromRow(r, details) as Fact & { personId: string };
    const personId = str(r, 'person_id', 'personId') ?? personOf.get(f.recordId);
    if (!personId) {
      unmatched += 1;
      continue;
    }
    if (keep && !keep(f)) continue;
    f.personId = personId;
    facts.push(f);
  }
  return { facts, unmatched };
}

export const personDobsTable = (ctx: StageContext): TableRead => openTable(ctx, 'secure', keys.secure(ctx.asAt, PERSON_DOBS_KEY), 'person dates of birth');

export async function readPersonDobs(ctx: StageContext, table = personDobsTable(ctx)): Promise<Map<string, string | null>> {
  const m = new Map<string, string | null>();
  for await (const r of rowsOf(table)) m.set(need(r, 'person-dobs', 'person_id'), str(r, 'date_of_birth'));
  return m;
}

function relationshipOf(r: ParquetRow): FamilyRelationship['relationship'] {
  const v = need(r, 'relationships', 'relationship');
  if (!(RELATIONSHIPS as readonly string[]).includes(v)) throw new Error(`${originOf(r, 'relationships')}, field relationship: unknown relationship "${v}" (known: ${RELATIONSHIPS.join(', ')})`);
  return v as FamilyRelationship['relationship'];
}

// ------------------------------------------------------------------ lookups

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function lookupPath(p: string): string {
  if (isAbsolute(p)) return p;
  const fromCwd = resolve(p);
  return existsSync(fromCwd) ? fromCwd : join(projectRoot, p);
}

export interface LocalityLookups {
  postcodes: PostcodeLookup;
  localities: LocalityMap;
  unassigned: string;
}

/**
 * Reads a lookup file: a path on this machine (absolute, from the working directory, or from the project root), or
 * else the object `lookups/<file name>` in the landing zone (how a deployed pipeline, with no checkout beside it, gets
 * the partnership's postcode directory and ward-locality configuration).
 */
export async function readLookup(what: string, configured: string, landing?: ObjectStore): Promise<{ text: string; origin: string }> {
  const local = lookupPath(configured);
  if (existsSync(local)) {
    try {
      return { text: await readFile(local, 'utf8'), origin: local };
    } catch (err) {
      throw new Error(`${what} ${local}: cannot read (${(err as Error).message})`, { cause: err });
    }
  }
  const key = keys.lookup(basename(configured));
  if (landing && (await landing.exists(key))) return { text: (await landing.get(key)).toString('utf8'), origin: `${landing.location}/${key}` };
  throw new Error(`${what} ${configured}: not found (looked for ${local}${landing ? ` and ${landing.location}/${key}` : ''})`);
}

export async function loadLocalityLookups(cfg: StratifyConfig, landing?: ObjectStore): Promise<LocalityLookups> {
  const pd = await readLookup('postcode directory', cfg.localities.postcodeDirectory, landing);
  const wlFile = await readLookup('ward-locality configuration', cfg.localities.wardLocalities, landing);
  const [pdText, pdPath, wlText, wlPath] = [pd.text, pd.origin, wlFile.text, wlFile.origin];
  const csv = parseCsvColumns(pdText, pdPath);
  const rows = function* () {
    for (let i = 0; i < csv.rows; i++) {
      const row: Record<string, string> = {};
      for (const h of csv.header) row[h] = csv.columns[h]![i]!;
      yield row;
    }
  };
  let wl: unknown;
  try {
    wl = JSON.parse(wlText);
  } catch (err) {
    throw new Error(`ward-locality configuration ${wlPath}: not JSON (${(err as Error).message})`, { cause: err });
  }
  return { postcodes: buildPostcodeLookup(rows(), pdPath), localities: buildLocalityMap(wl, wlPath), unassigned: cfg.localities.unassigned };
}

// ------------------------------------------------------------------ the stage

const FAMILIES_COLUMNS: ParquetColumn[] = [
  { name: 'family_id', type: 'VARCHAR' },
  { name: 'as_at', type: 'DATE' },
  { name: 'locality', type: 'VARCHAR' },
  { name: 'ward_code', type: 'VARCHAR' },
  { name: 'postcode_district', type: 'VARCHAR' },
  { name: 'members', type: 'INTEGER' },
  { name: 'children', type: 'INTEGER' },
  { name: 'adults', type: 'INTEGER' },
  { name: 'members_elsewhere', type: 'INTEGER' },
  { name: 'flags', type: 'VARCHAR[]' },
];

const MEMBERS_COLUMNS: ParquetColumn[] = [
  { name: 'family_id', type: 'VARCHAR' },
  { name: 'person_id', type: 'VARCHAR' },
  { name: 'role', type: 'VARCHAR' },
  { name: 'membership', type: 'VARCHAR' },
  { name: 'age_band', type: 'VARCHAR' },
  { name: 'is_child', type: 'BOOLEAN' },
  { name: 'evidence', type: 'VARCHAR' },
];

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
  const best = [...tally.entries()].sort((a, b) => b[1].n - a[1].n || cmp(b[1].latest, a[1].latest) || cmp(a[0], b[0]))[0];
  return best ? best[0] : null;
}

/**
 * A member's evidence list as JSON: exactly JSON.stringify(evidence), but the text of a relationship or grouping
 * (shared by every member it names) is made once, not once per member.
 */
function evidenceJson(evidence: MembershipEvidence[], shared: WeakMap<MembershipEvidence, string>): string {
  let out = '[';
  for (let i = 0; i < evidence.length; i++) {
    const e = evidence[i]!;
    let text: string | undefined;
    if (e.kind === 'relationship' || e.kind === 'group') {
      text = shared.get(e);
      if (text === undefined) {
        text = JSON.stringify(e);
        shared.set(e, text);
      }
    } else text = JSON.stringify(e);
    out += i === 0 ? text : `,${text}`;
  }
  return `${out}]`;
}

/** family_members rows, made as they are written (the evidence JSON of every member is never all held at once). */
function* memberRowsOf(families: Family[]): Generator<ParquetRow> {
  const shared = new WeakMap<MembershipEvidence, string>();
  for (const f of families) {
    for (const m of f.members) {
      yield { family_id: f.familyId, person_id: m.personId, role: m.role, membership: m.membership, age_band: m.ageBand, is_child: m.isChild, evidence: evidenceJson(m.evidence, shared) };
    }
  }
}

export async function familiesStage(ctx: StageContext, _input: z.infer<typeof familiesInputSchema> = {}) {
  const famCfg = parseFamiliesConfig(ctx.config.families);
  const stratCfg = parseStratifyConfig(ctx.config.stratify);
  const asAt = ctx.asAt;
  // every input table is exported by DuckDB at once, while the ones before it are being read
  // only the columns family formation needs from the secure records (names and tokens stay unread)
  const projection = "SELECT COLUMNS('^(record_id|recordId|extract_date|extractDate|date_of_birth|dateOfBirth|postcode|address_line_?1|addressLine1)$') FROM {{file}}";
  const tables = {
    persons: personsTable(ctx),
    records: openTable(ctx, 'secure', keys.secure(asAt, PERSON_RECORDS_KEY), 'secure person records', projection),
    facts: factsTable(ctx, ['maternity_booking', 'birth']),
    relationships: openTable(ctx, 'curated', keys.curated('relationships', asAt), 'relationships'),
  };
  try {
    return await formFamilies(ctx, tables, famCfg, stratCfg);
  } finally {
    await closeTables(Object.values(tables));
  }
}

async function formFamilies(ctx: StageContext, tables: Record<'persons' | 'records' | 'facts' | 'relationships', TableRead>, famCfg: FamiliesConfig, stratCfg: StratifyConfig) {
  const asAt = ctx.asAt;
  ctx.progress.start('families: reading persons');
  const personIndex = await readPersonIndex(tables.persons);
  const { personOfRecord, personIds } = personIndex;
  const personOf = { get: (recordId: string): string | undefined => {
    const i = personOfRecord.get(recordId);
    return i === undefined ? undefined : personIds[i];
  } };

  // secure person records: addresses and dates of birth per person (persons with no secure record still exist: their
  // records were matched; they have no address)
  const dobsOf: Array<Array<{ v: string; date: string }> | undefined> = new Array<Array<{ v: string; date: string }> | undefined>(personIds.length);
  const addressesOf: FamilyPerson['addresses'][] = Array.from({ length: personIds.length }, () => []);
  let recordsWithoutPerson = 0;
  const personOfNextRecord = personOfRecordIn(personIndex);
  for await (const r of rowsOf(tables.records)) {
    const recordId = need(r, 'person-records', 'record_id', 'recordId');
    const i = personOfNextRecord(recordId);
    if (i === undefined) {
      recordsWithoutPerson += 1;
      continue;
    }
    const extractDate = str(r, 'extract_date', 'extractDate') ?? '';
    const dob = str(r, 'date_of_birth', 'dateOfBirth');
    if (dob) {
      const l = dobsOf[i];
      if (l) l.push({ v: dob, date: extractDate });
      else dobsOf[i] = [{ v: dob, date: extractDate }];
    }
    addressesOf[i]!.push({ recordId, extractDate, postcode: str(r, 'postcode'), addressLine1: str(r, 'address_line1', 'address_line_1', 'addressLine1') });
  }

  // current pregnancies: a booking on or before the as-at date, not delivered, due no more than six weeks ago
  const { facts } = await readFacts(ctx, personOf, ['maternity_booking', 'birth'], tables.facts);
  const delivered = new Set(facts.filter((f) => f.type === 'birth' && f.date <= asAt).map((f) => `${f.personId}|${f.source}:${f.feed}:${f.recordRef}`));
  const expectant = new Set<string>();
  for (const f of facts) {
    if (f.type !== 'maternity_booking' || f.date > asAt) continue;
    const edd = f.detail.estimated_delivery_date ?? '';
    if (edd && edd < addDays(asAt, -42)) continue;
    if (delivered.has(`${f.personId}|${f.source}:${f.feed}:${f.recordRef}`)) continue;
    expectant.add(f.personId);
  }

  // in person id order (as buildFamilies and the dates-of-birth table want them)
  const byId = personIds.map((_, i) => i).sort((a, b) => cmp(personIds[a]!, personIds[b]!));
  const persons: FamilyPerson[] = byId.map((i) => ({
    personId: personIds[i]!,
    dateOfBirth: modeOf(dobsOf[i] ?? []),
    addresses: addressesOf[i]!.sort((a, b) => cmp(a.recordId, b.recordId)),
    expectant: expectant.has(personIds[i]!),
  }));

  const relationships: FamilyRelationship[] = [];
  let relationshipsUnmatched = 0;
  for await (const r of rowsOf(tables.relationships)) {
    const fromRecord = need(r, 'relationships', 'from_record_id', 'fromRecordId');
    const toRecord = need(r, 'relationships', 'to_record_id', 'toRecordId');
    const fromIndex = personOfRecord.get(fromRecord);
    const toIndex = personOfRecord.get(toRecord);
    const from = fromIndex === undefined ? undefined : personIds[fromIndex];
    const to = toIndex === undefined ? undefined : personIds[toIndex];
    if (!from || !to) {
      relationshipsUnmatched += 1;
      continue;
    }
    const source = need(r, 'relationships', 'source');
    const feed = need(r, 'relationships', 'feed');
    const recordRef = need(r, 'relationships', 'record_ref', 'recordRef');
    relationships.push({
      relationshipId: str(r, 'relationship_id', 'relationshipId') ?? `${source}:${feed}:${recordRef}`,
      source, feed, recordRef, fromPersonId: from, toPersonId: to,
      relationship: relationshipOf(r),
      groupRef: str(r, 'group_ref', 'groupRef'),
      startDate: optDate(r, 'relationships', 'start_date', 'startDate'),
      endDate: optDate(r, 'relationships', 'end_date', 'endDate'),
    });
  }
  ctx.progress.stop();

  ctx.progress.start('families: forming family units', persons.length);
  const built = buildFamilies(persons, relationships, asAt, famCfg);
  ctx.progress.stop();
  ctx.progress.start('families: locality lookup', built.families.length);
  const lookups = await loadLocalityLookups(stratCfg, ctx.stores.landing);

  const byLocality: Record<string, number> = {};
  let unassigned = 0;
  const familyRows: ParquetRow[] = [];
  let memberRowCount = 0;
  for (const f of built.families) {
    const loc = assignLocality(f.postcode, lookups.postcodes, lookups.localities, lookups.unassigned);
    if (!loc.assigned) unassigned += 1;
    byLocality[loc.locality] = (byLocality[loc.locality] ?? 0) + 1;
    const primary = f.members.filter((m) => m.membership === 'primary');
    familyRows.push({
      family_id: f.familyId, as_at: asAt, locality: loc.locality, ward_code: loc.wardCode, postcode_district: loc.postcodeDistrict,
      members: primary.length, children: primary.filter((m) => m.isChild).length, adults: primary.filter((m) => !m.isChild).length,
      members_elsewhere: f.members.length - primary.length,
      flags: loc.assigned ? f.flags : [...f.flags, loc.wardCode ? 'ward_not_in_any_locality' : 'postcode_not_in_directory'].sort(cmp),
    });
    memberRowCount += f.members.length;
  }
  ctx.progress.stop();
  ctx.progress.start('families: writing tables');
  const dobRows = persons.map((p) => ({ person_id: p.personId, date_of_birth: p.dateOfBirth })); // persons are in person id order
  // three independent files: DuckDB compresses one while the next one's rows are being serialised
  await allSettledOrThrow([
    writeParquet(ctx.stores.curated, keys.curated('families', asAt), FAMILIES_COLUMNS, familyRows),
    writeParquet(ctx.stores.curated, keys.curated('family_members', asAt), MEMBERS_COLUMNS, memberRowsOf(built.families)),
    writeParquet(ctx.stores.secure, keys.secure(asAt, PERSON_DOBS_KEY), [{ name: 'person_id', type: 'VARCHAR' }, { name: 'date_of_birth', type: 'DATE' }], dobRows),
  ]);

  const counts: Record<string, number> = {
    ...built.counts,
    family_members_rows: memberRowCount,
    families_unassigned_locality: unassigned,
    relationships_without_person: relationshipsUnmatched,
    person_records_without_person: recordsWithoutPerson,
    expectant_mothers: expectant.size,
  };
  ctx.progress.stop();
  ctx.log.info('families formed', { families: built.families.length, unassigned, alsoIn: built.counts.also_in_memberships });
  return { counts, byLocality };
}

export const stage = defineStage('families', familiesInputSchema, familiesStage);
