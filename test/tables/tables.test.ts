import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CURATED_TABLE_COLUMNS, GLUE_TYPE } from '../../infra/glue-tables.ts';
import { CURATED_TABLES } from '../../pipelines/layout.ts';
import { readAhead } from '../../pipelines/io/read-ahead.ts';
import type { ParquetRow } from '../../pipelines/io/parquet.ts';
import { factFromRow, factToRow } from '../../pipelines/tables/facts.ts';
import { CURATED_TABLE_DEFS, SECURE_TABLE_DEFS, tablesReference } from '../../pipelines/tables/index.ts';
import { personRecordFromRow, personRecordToRow, PERSON_RECORDS } from '../../pipelines/tables/person-records.ts';
import { personLinkOf } from '../../pipelines/tables/persons.ts';
import { originOf, rowsOf, type TableRead } from '../../pipelines/tables/read.ts';
import { relationshipFromRow, relationshipToRow } from '../../pipelines/tables/relationships.ts';
import { scoreFromRow, scoreRow } from '../../pipelines/tables/scores.ts';
import type { Fact } from '../../models/facts.ts';
import type { PersonRecord, RelationshipRecord } from '../../matching/records.ts';

describe('the tables layer', () => {
  it('defines every curated table, and the Glue columns are its columns less the as_at partition key', () => {
    expect(Object.keys(CURATED_TABLE_DEFS).sort()).toEqual([...CURATED_TABLES].sort());
    for (const t of CURATED_TABLES) {
      const def = CURATED_TABLE_DEFS[t];
      expect(def.name, t).toBe(t);
      expect(CURATED_TABLE_COLUMNS[t], t).toEqual(
        def.columns.filter((c) => c.name !== 'as_at').map((c) => ({ name: c.name, type: GLUE_TYPE[c.type] })),
      );
    }
  });

  it('column names are snake_case, unique within a table, and every column says what it holds', () => {
    for (const def of [...Object.values(CURATED_TABLE_DEFS), ...SECURE_TABLE_DEFS]) {
      const names = def.columns.map((c) => c.name);
      expect(new Set(names).size, def.name).toBe(names.length);
      for (const c of def.columns) {
        expect(c.name, def.name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
        expect(c.about.length, `${def.name}.${c.name}`).toBeGreaterThan(2);
      }
    }
  });

  it('docs/tables.md is the reference made from the definitions (npm run docs:tables)', () => {
    expect(readFileSync(join(import.meta.dirname, '../../docs/tables.md'), 'utf8')).toBe(tablesReference());
  });

  it("each writer writes exactly its table's columns, and each reader reads back what was written", () => {
    const person: PersonRecord = {
      recordId: 'health:people:H1',
      source: 'health',
      feed: 'people',
      sourcePersonRef: 'H1',
      extractDate: '2026-06-01',
      forename: 'ALEX',
      forenameAlternatives: ['AL'],
      middleNames: null,
      surname: 'SMITH',
      surnameParts: ['SMITH'],
      dateOfBirth: '2019-04-07',
      sex: 'F',
      postcode: 'M14 5RB',
      postcodeSector: 'M14 5',
      postcodeDistrict: 'M14',
      postcodeArea: 'M',
      addressLine1: '12 ACACIA AVENUE',
      nhsNumberToken: 'tok',
      upnToken: null,
      attributes: { gp_practice: 'P1' },
    };
    const row = personRecordToRow(person);
    expect(Object.keys(row)).toEqual(PERSON_RECORDS.columns.map((c) => c.name));
    expect(personRecordFromRow(row)).toEqual(person);

    const fact: Fact = {
      factId: 'health:births:B1',
      type: 'birth',
      source: 'health',
      feed: 'births',
      recordRef: 'B1',
      recordId: 'health:people:H1',
      date: '2026-01-02',
      endDate: null,
      value: null,
      detail: { weight: '3.1' },
    };
    expect(Object.keys(factToRow(fact))).toEqual(CURATED_TABLE_DEFS.facts.columns.map((c) => c.name));
    expect(factFromRow(factToRow(fact))).toEqual(fact);

    const rel: RelationshipRecord = {
      relationshipId: 'sc:rel:R1',
      source: 'sc',
      feed: 'rel',
      recordRef: 'R1',
      fromRecordId: 'a',
      toRecordId: 'b',
      relationship: 'mother',
      groupRef: null,
      startDate: '2020-01-01',
      endDate: null,
    };
    expect(Object.keys(relationshipToRow(rel))).toEqual(CURATED_TABLE_DEFS.relationships.columns.map((c) => c.name));
    expect(relationshipFromRow(relationshipToRow(rel))).toEqual(rel);

    const score = {
      familyId: 'F1',
      score: 3.5,
      tier: 'high',
      headlines: ['health'],
      threeNeeds: false,
      openToStatutory: true,
      reasons: [],
      statutoryEvidence: [],
      ruleSetVersion: 'rs@1',
    };
    const written = scoreRow(score as unknown as Parameters<typeof scoreRow>[0], '2026-10-31');
    expect(Object.keys(written)).toEqual(CURATED_TABLE_DEFS.scores.columns.map((c) => c.name));
    expect(scoreFromRow(written)).toEqual(score);
  });

  it('readers are strict: a column under another spelling is missing, named by table and field; a bad date or type is refused', () => {
    const fact = factToRow({
      factId: 'f',
      type: 'birth',
      source: 's',
      feed: 'f',
      recordRef: 'r',
      recordId: 'x',
      date: '2026-01-02',
      endDate: null,
      value: null,
      detail: {},
    });
    const { record_id: _id, ...rest } = fact;
    expect(() => factFromRow({ ...rest, recordId: 'x' })).toThrow(/^facts, field record_id: missing/);
    expect(() => factFromRow({ ...fact, date: '2026-02-30' })).toThrow(/facts, field date: not a date/);
    expect(() => factFromRow({ ...fact, type: 'burglary' })).toThrow(/field type: unknown fact type "burglary"/);
    const rel = relationshipToRow({
      relationshipId: 'r',
      source: 's',
      feed: 'f',
      recordRef: 'r',
      fromRecordId: 'a',
      toRecordId: 'b',
      relationship: 'mother',
      groupRef: null,
      startDate: null,
      endDate: null,
    });
    expect(() => relationshipFromRow({ ...rel, relationship: 'aunt' })).toThrow(/unknown relationship "aunt"/);
  });

  it('an error names the file and row of its own read, also while another read of the same table is under way', async () => {
    const read = (file: string, batches: ParquetRow[][]): TableRead => ({
      what: 'persons',
      file,
      batches: readAhead(
        (async function* () {
          yield* batches;
        })(),
        false,
      ),
      at: { row: null, n: 0 },
    });
    const ok = (i: number): ParquetRow => ({ record_id: `R${i}`, person_id: `P${i}` });
    const a = read('curated/persons/a.parquet', [[ok(1), ok(2)], [{ record_id: 'R3' }]]);
    const b = read('curated/persons/b.parquet', [[ok(4), { person_id: 'P5' }]]);
    const ia = rowsOf(a)[Symbol.asyncIterator]();
    const ib = rowsOf(b)[Symbol.asyncIterator]();
    const a1 = (await ia.next()).value as ParquetRow;
    await ia.next();
    const a3 = (await ia.next()).value as ParquetRow; // a's third row, from its second batch
    await ib.next();
    const b2 = (await ib.next()).value as ParquetRow; // b read since: a's position is a's own
    expect(() => personLinkOf(a3, a)).toThrow(
      /^persons curated\/persons\/a\.parquet row 3, field person_id: missing \(columns: record_id\)$/,
    );
    expect(() => personLinkOf(b2, b)).toThrow(/^persons curated\/persons\/b\.parquet row 2, field record_id: missing/);
    // a row that is not the one its read yielded last, or checked without its read: the table's name only
    expect(originOf(a1, a)).toBe('persons');
    expect(() => personLinkOf(a3)).toThrow(/^persons, field person_id: missing/);
    expect(personLinkOf(a1, a)).toEqual({ recordId: 'R1', personId: 'P1' });
  });
});
