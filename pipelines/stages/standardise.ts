/**
 * standardise: validated rows (secure zone) -> the tables the rest of the run reads, for one as-at date.
 *
 * Reads  secure as_at=D/validated/<source>/<feed>/_counts.json and the accepted Parquet files it lists.
 * Writes secure  as_at=D/person-records.parquet   PersonRecord per people-feed row, snake_case columns, clear
 *                                                  quasi-identifiers (names, DOB, postcode, address): secure only
 *        curated records/as_at=D/...                record_id, source, feed, source_person_ref, extract_date
 *        curated facts/as_at=D/...                  models/facts.ts, one row per fact (detail as sorted JSON)
 *        curated relationships/as_at=D/...          RelationshipRecord (social care relationships, school
 *                                                  contact -> pupil, maternity mother -> baby)
 * Rules:
 *  - people and relationship feeds are snapshots (validate read only the latest extract); a person_ref (or
 *    record_ref) repeated within it: the later row (file, line) supersedes the earlier one, counted;
 *  - event feeds are incremental: a record_ref repeated in a later extract supersedes the earlier row, counted;
 *  - every output is sorted by its id, so the same inputs give byte-identical files.
 * Curated tables carry no clear identifier: no names, dates of birth, postcodes or address lines, no tokens.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { PersonRecord, RelationshipRecord } from '../../matching/records.ts';
import { standardisePerson } from '../../matching/standardise/person.ts';
import type { Fact } from '../../models/facts.ts';
import { FEEDS, type FeedDefinition, type Source } from '../feeds/catalogue.ts';
import { factsOf, relationshipsOf } from '../feeds/mappers.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { openScratchDuckDb, queryRows, sqlString as q, writeParquet, type ParquetColumn, type ParquetRow } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import type { StageContext } from './context.ts';
import { defineStage } from './index.ts';
import { countsKey, type FeedCounts } from './validate.ts';

export const standardiseInputSchema = z.object({}).loose().default({});
export const PERSON_RECORDS_KEY = 'person-records.parquet';

export const PERSON_RECORD_COLUMNS: ParquetColumn[] = [
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'source_person_ref', type: 'VARCHAR' },
  { name: 'extract_date', type: 'VARCHAR' },
  { name: 'forename', type: 'VARCHAR' },
  { name: 'forename_alternatives', type: 'VARCHAR[]' },
  { name: 'middle_names', type: 'VARCHAR' },
  { name: 'surname', type: 'VARCHAR' },
  { name: 'surname_parts', type: 'VARCHAR[]' },
  { name: 'date_of_birth', type: 'VARCHAR' },
  { name: 'sex', type: 'VARCHAR' },
  { name: 'postcode', type: 'VARCHAR' },
  { name: 'postcode_sector', type: 'VARCHAR' },
  { name: 'postcode_district', type: 'VARCHAR' },
  { name: 'postcode_area', type: 'VARCHAR' },
  { name: 'address_line_1', type: 'VARCHAR' },
  { name: 'nhs_number_token', type: 'VARCHAR' },
  { name: 'upn_token', type: 'VARCHAR' },
  { name: 'attributes', type: 'VARCHAR' },
];

export const RECORD_COLUMNS: ParquetColumn[] = [
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'source_person_ref', type: 'VARCHAR' },
  { name: 'extract_date', type: 'VARCHAR' },
];

export const FACT_COLUMNS: ParquetColumn[] = [
  { name: 'fact_id', type: 'VARCHAR' },
  { name: 'type', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'record_ref', type: 'VARCHAR' },
  { name: 'record_id', type: 'VARCHAR' },
  { name: 'date', type: 'VARCHAR' },
  { name: 'end_date', type: 'VARCHAR' },
  { name: 'value', type: 'DOUBLE' },
  { name: 'detail', type: 'VARCHAR' },
];

export const RELATIONSHIP_COLUMNS: ParquetColumn[] = [
  { name: 'relationship_id', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'feed', type: 'VARCHAR' },
  { name: 'record_ref', type: 'VARCHAR' },
  { name: 'from_record_id', type: 'VARCHAR' },
  { name: 'to_record_id', type: 'VARCHAR' },
  { name: 'relationship', type: 'VARCHAR' },
  { name: 'group_ref', type: 'VARCHAR' },
  { name: 'start_date', type: 'VARCHAR' },
  { name: 'end_date', type: 'VARCHAR' },
];

export function personRecordToRow(p: PersonRecord): ParquetRow {
  return {
    record_id: p.recordId, source: p.source, feed: p.feed, source_person_ref: p.sourcePersonRef, extract_date: p.extractDate,
    forename: p.forename, forename_alternatives: p.forenameAlternatives, middle_names: p.middleNames, surname: p.surname, surname_parts: p.surnameParts,
    date_of_birth: p.dateOfBirth, sex: p.sex, postcode: p.postcode, postcode_sector: p.postcodeSector, postcode_district: p.postcodeDistrict,
    postcode_area: p.postcodeArea, address_line_1: p.addressLine1, nhs_number_token: p.nhsNumberToken, upn_token: p.upnToken,
    attributes: JSON.stringify(p.attributes),
  };
}

/** A secure person-records row back to a PersonRecord (for the linkage engine and tests). */
export function personRecordFromRow(r: ParquetRow): PersonRecord {
  const s = (k: string): string | null => (typeof r[k] === 'string' ? (r[k] as string) : null);
  const list = (k: string): string[] => (Array.isArray(r[k]) ? (r[k] as string[]) : []);
  const sex = s('sex');
  return {
    recordId: s('record_id')!, source: s('source')!, feed: s('feed')!, sourcePersonRef: s('source_person_ref')!, extractDate: s('extract_date')!,
    forename: s('forename'), forenameAlternatives: list('forename_alternatives'), middleNames: s('middle_names'), surname: s('surname'),
    surnameParts: list('surname_parts'), dateOfBirth: s('date_of_birth'), sex: sex === 'M' || sex === 'F' ? sex : null,
    postcode: s('postcode'), postcodeSector: s('postcode_sector'), postcodeDistrict: s('postcode_district'), postcodeArea: s('postcode_area'),
    addressLine1: s('address_line_1'), nhsNumberToken: s('nhs_number_token'), upnToken: s('upn_token'),
    attributes: JSON.parse(s('attributes') ?? '{}') as Record<string, string>,
  };
}

function factToRow(f: Fact): ParquetRow {
  return {
    fact_id: f.factId, type: f.type, source: f.source, feed: f.feed, record_ref: f.recordRef, record_id: f.recordId,
    date: f.date, end_date: f.endDate, value: f.value, detail: JSON.stringify(f.detail),
  };
}

function relationshipToRow(r: RelationshipRecord): ParquetRow {
  return {
    relationship_id: r.relationshipId, source: r.source, feed: r.feed, record_ref: r.recordRef, from_record_id: r.fromRecordId,
    to_record_id: r.toRecordId, relationship: r.relationship, group_ref: r.groupRef, start_date: r.startDate, end_date: r.endDate,
  };
}

interface ValidatedFile {
  key: string;
  extractDate: string;
}

async function validatedFiles(secure: ObjectStore, asAt: string, runId: string, def: FeedDefinition): Promise<ValidatedFile[] | null | 'other-run'> {
  const key = countsKey(asAt, def.source, def.feed);
  if (!(await secure.exists(key))) return null;
  const counts = JSON.parse((await secure.get(key)).toString('utf8')) as FeedCounts;
  // Left by an earlier run of this as-at date whose landing had this feed and this run's does not.
  if (counts.runId !== runId) return 'other-run';
  return counts.files
    .filter((f) => f.status === 'accepted' && f.acceptedKey)
    .map((f) => ({ key: f.acceptedKey!, extractDate: f.extractDate }))
    .sort((a, b) => (a.extractDate < b.extractDate ? -1 : a.extractDate > b.extractDate ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Stream the rows of a feed's validated files, one row per `keyColumn` value (the latest: later extract date,
 * then later file, then later line wins), ordered by that key. Reports how many rows were superseded.
 */
async function* latestRows(store: ObjectStore, files: ValidatedFile[], keyColumn: string, counter: { superseded: number; rows: number }): AsyncGenerator<{ row: Record<string, string>; extractDate: string }> {
  if (files.length === 0) return;
  const db = await openScratchDuckDb();
  try {
    const parts: string[] = [];
    for (let i = 0; i < files.length; i++) {
      const path = await store.localPath(files[i]!.key);
      parts.push(`SELECT *, ${i} AS _file_ord, ${q(files[i]!.extractDate)} AS _extract_date FROM read_parquet(${q(path)}, hive_partitioning = false)`);
    }
    await db.conn.run(`CREATE TABLE u AS ${parts.join(' UNION ALL ')}`);
    const total = (await (await db.conn.run('SELECT count(*)::BIGINT AS n FROM u')).getRowObjectsJS())[0]!.n as bigint;
    let kept = 0;
    const rows = queryRows(db, `SELECT * EXCLUDE (_rn) FROM (
        SELECT *, row_number() OVER (PARTITION BY "${keyColumn}" ORDER BY _file_ord DESC, _line DESC) AS _rn FROM u
      ) WHERE _rn = 1 ORDER BY "${keyColumn}"`, `standardise ${files[0]!.key}`);
    for await (const batch of rows) {
      for (const r of batch) {
        const row: Record<string, string> = {};
        for (const n in r) {
          const v = r[n];
          if (!n.startsWith('_')) row[n] = v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
        }
        kept++;
        yield { row, extractDate: String(r._extract_date) };
      }
    }
    counter.rows += Number(total);
    counter.superseded += Number(total) - kept;
  } finally {
    await db.dispose();
  }
}

/** Feeds in record-id order of their prefix (`source:feed:`), so outputs stream out sorted by id. */
function feedsInIdOrder(kind: FeedDefinition['kind'] | 'any'): FeedDefinition[] {
  return FEEDS.filter((f) => kind === 'any' || f.kind === kind).sort((a, b) => (`${a.source}:${a.feed}:` < `${b.source}:${b.feed}:` ? -1 : 1));
}

export async function standardiseStage(ctx: StageContext, _input: z.infer<typeof standardiseInputSchema> = {}): Promise<{ counts: Record<string, number> }> {
  const { asAt } = ctx;
  const secure = ctx.stores.secure;
  const curated = ctx.stores.curated;
  const counts: Record<string, number> = {
    personRecords: 0, peopleRowsSuperseded: 0, facts: 0, eventRowsRead: 0, eventRowsSuperseded: 0,
    relationships: 0, relationshipRowsSuperseded: 0, feedsWithoutValidatedData: 0, feedsValidatedByAnotherRun: 0, factsWithoutPersonRecord: 0, relationshipsWithoutPersonRecord: 0,
  };
  const filesOf = new Map<string, ValidatedFile[]>();
  for (const def of FEEDS) {
    const files = await validatedFiles(secure, asAt, ctx.runId, def);
    if (files === null) counts.feedsWithoutValidatedData!++;
    if (files === 'other-run') {
      counts.feedsValidatedByAnotherRun!++;
      ctx.log.warn('validated data of another run ignored', { source: def.source, feed: def.feed, runId: ctx.runId });
    }
    filesOf.set(`${def.source}/${def.feed}`, Array.isArray(files) ? files : []);
  }

  // 1. people feeds -> secure person records (sorted by record_id); remember the ids for orphan counts.
  const recordIds = new Set<string>();
  const relationships: RelationshipRecord[] = [];
  const peopleCounter = { superseded: 0, rows: 0 };
  ctx.progress.start('standardise: person records');
  async function* people(): AsyncGenerator<ParquetRow> {
    for (const def of feedsInIdOrder('people')) {
      for await (const { row, extractDate } of latestRows(secure, filesOf.get(`${def.source}/${def.feed}`)!, 'person_ref', peopleCounter)) {
        const p = standardisePerson({ source: def.source, feed: def.feed, extractDate }, row);
        recordIds.add(p.recordId);
        relationships.push(...relationshipsOf(def.source, def.feed, row));
        ctx.progress.tick();
        yield personRecordToRow(p);
      }
    }
  }
  counts.personRecords = await writeParquet(secure, keys.secure(asAt, PERSON_RECORDS_KEY), PERSON_RECORD_COLUMNS, people());
  counts.peopleRowsSuperseded = peopleCounter.superseded;
  ctx.progress.stop();

  // 2. curated records: the person records without any clear identifier (straight from the secure file).
  await writeRecords(ctx);

  // 3. event feeds -> curated facts (sorted by fact_id); maternity also gives mother -> baby relationships.
  const eventCounter = { superseded: 0, rows: 0 };
  ctx.progress.start('standardise: facts');
  async function* facts(): AsyncGenerator<ParquetRow> {
    for (const def of feedsInIdOrder('events')) {
      for await (const { row } of latestRows(secure, filesOf.get(`${def.source}/${def.feed}`)!, 'record_ref', eventCounter)) {
        relationships.push(...relationshipsOf(def.source as Source, def.feed, row));
        for (const f of factsOf(def.source as Source, def.feed, row)) {
          if (!recordIds.has(f.recordId)) counts.factsWithoutPersonRecord!++;
          ctx.progress.tick();
          yield factToRow(f);
        }
      }
    }
  }
  counts.facts = await writeParquet(curated, keys.curated('facts', asAt), FACT_COLUMNS, facts());
  counts.eventRowsRead = eventCounter.rows;
  counts.eventRowsSuperseded = eventCounter.superseded;
  ctx.progress.stop();

  // 4. relationship feeds -> relationships, with the contact and maternity links gathered above.
  const relCounter = { superseded: 0, rows: 0 };
  for (const def of feedsInIdOrder('relationships')) {
    for await (const { row } of latestRows(secure, filesOf.get(`${def.source}/${def.feed}`)!, 'record_ref', relCounter)) relationships.push(...relationshipsOf(def.source, def.feed, row));
  }
  counts.relationshipRowsSuperseded = relCounter.superseded;
  relationships.sort((a, b) => (a.relationshipId < b.relationshipId ? -1 : a.relationshipId > b.relationshipId ? 1 : 0));
  for (const r of relationships) if (!recordIds.has(r.fromRecordId) || !recordIds.has(r.toRecordId)) counts.relationshipsWithoutPersonRecord!++;
  counts.relationships = await writeParquet(curated, keys.curated('relationships', asAt), RELATIONSHIP_COLUMNS, relationships.map(relationshipToRow));

  ctx.log.info('standardised', { asAt, ...counts });
  return { counts };
}

async function writeRecords(ctx: StageContext): Promise<void> {
  const path = await ctx.stores.secure.localPath(keys.secure(ctx.asAt, PERSON_RECORDS_KEY));
  const db = await openScratchDuckDb();
  try {
    const file = join(db.dir, 'records.parquet');
    await db.conn.run('SET threads = 1');
    await db.conn.run(`COPY (SELECT ${RECORD_COLUMNS.map((c) => c.name).join(', ')} FROM read_parquet(${q(path)}, hive_partitioning = false) ORDER BY record_id)
      TO ${q(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
    await ctx.stores.curated.put(keys.curated('records', ctx.asAt), createReadStream(file));
  } finally {
    await db.dispose();
  }
}

/** The registry entry (pipelines/stages/index.ts). */
export const stage = defineStage('standardise', standardiseInputSchema, standardiseStage);
