import { FEEDS } from '../../pipelines/feeds/catalogue.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys } from '../../pipelines/layout.ts';
import { personRecordFromRow, standardiseStage } from '../../pipelines/stages/standardise.ts';
import { discoverFeeds, validateStage } from '../../pipelines/stages/validate.ts';
import { testTree, TOKEN_A, TOKEN_B, type TestTree } from './validate-support.ts';

let t: TestTree;
beforeEach(async () => {
  t = await testTree();
});
afterEach(async () => t.dispose());

const AS_AT = '2026-02-15';

async function landing(): Promise<void> {
  const hp = 'person_ref,nhs_number_token,forename,surname,date_of_birth,sex,postcode,address_line_1,gp_practice';
  await t.put('health/people/dt=2026-01-01/p.csv', `${hp}\nH1,${TOKEN_A},Kasia,Nowak,1990-01-01,F,M14 5RB,1 Old Rd,\n`);
  await t.put(
    'health/people/dt=2026-02-01/p.csv',
    [
      hp,
      `H1,${TOKEN_A},Kasia,Nowak-Smith,1990-01-01,F,m145rb,"Flat 2, 10 Platt Ln",P84001`,
      `H2,${TOKEN_B},Baby,Nowak-Smith,2026-01-20,M,M14 5RB,"Flat 2, 10 Platt Ln",P84001`,
      `H3,,Old,Name,1970-01-01,U,,,`,
      `H3,,Mohamed,Ali,1970-01-01,M,M8 0AA,3 Cheetham Hill Rd,`, // same ref later in the snapshot: supersedes line 4
    ].join('\n'),
  );
  await t.put(
    'health/maternity/dt=2026-01-01/m.csv',
    'record_ref,person_ref,baby_person_ref,booking_date,gestation_at_booking_weeks,estimated_delivery_date,delivery_date,smoking_at_delivery,birth_weight_grams\nMAT1,H1,,2025-06-01,24,2026-01-25,,,\n',
  );
  await t.put(
    'health/maternity/dt=2026-02-01/m.csv',
    'record_ref,person_ref,baby_person_ref,booking_date,gestation_at_booking_weeks,estimated_delivery_date,delivery_date,smoking_at_delivery,birth_weight_grams\nMAT1,H1,H2,2025-06-01,24,2026-01-25,2026-01-20,Y,2300\n',
  );
  await t.put(
    'health/maternity/dt=2026-03-01/m.csv',
    'record_ref,person_ref,baby_person_ref,booking_date,gestation_at_booking_weeks,estimated_delivery_date,delivery_date,smoking_at_delivery,birth_weight_grams\nMAT9,H1,,2026-02-20,10,2026-09-01,,,\n',
  );
  await t.put(
    'schools/pupils/dt=2026-02-01/p.csv',
    `person_ref,upn_token,forename,surname,date_of_birth,sex,postcode,address_line_1,school_urn,year_group,census_date\nS1,${TOKEN_B},Bobby,Smith,2015-04-03,M,M14 5RB,10 Platt Lane,105432,5,2026-01-15\n`,
  );
  await t.put(
    'schools/contacts/dt=2026-02-01/c.csv',
    'person_ref,pupil_person_ref,relationship,forename,surname,date_of_birth,sex,postcode,address_line_1,priority\nK1,S1,mother,Katarzyna,Nowak-Smith,,F,M14 5RB,Flat 2 10 Platt Lane,1\n',
  );
  await t.put(
    'police/incidents/dt=2026-02-01/i.csv',
    'record_ref,incident_ref,person_ref,incident_date,incident_type,role,postcode\nI1-1,I1,N1,2026-01-30,domestic_abuse,victim,M14 5RB\n',
  );
}

async function runAll(): Promise<Record<string, number>> {
  const ctx = t.ctx(AS_AT);
  for (const f of await discoverFeeds(ctx)) await validateStage(ctx, f);
  return (await standardiseStage(ctx)).counts;
}

describe('standardise stage', () => {
  it('writes secure person records, curated records, facts and relationships with the snapshot/incremental rules', async () => {
    await landing();
    const counts = await runAll();
    expect(counts).toMatchObject({
      personRecords: 5,
      peopleRowsSuperseded: 1,
      facts: 3,
      eventRowsRead: 3,
      eventRowsSuperseded: 1,
      relationships: 2,
      factsWithoutPersonRecord: 1,
    });

    const people = (await readParquet(t.stores.secure, keys.secure(AS_AT, 'person-records.parquet'))).map(
      personRecordFromRow,
    );
    expect(people.map((p) => p.recordId)).toEqual([
      'health:people:H1',
      'health:people:H2',
      'health:people:H3',
      'schools:contacts:K1',
      'schools:pupils:S1',
    ]);
    expect(people[0]).toMatchObject({
      extractDate: '2026-02-01',
      forename: 'KASIA',
      surname: 'NOWAK-SMITH',
      surnameParts: ['NOWAK', 'SMITH'],
      postcode: 'M14 5RB',
      postcodeSector: 'M14 5',
      addressLine1: 'FLAT 2 10 PLATT LANE',
      nhsNumberToken: TOKEN_A,
      attributes: { gp_practice: 'P84001' },
    });
    expect(people[0]!.forenameAlternatives).toEqual(expect.arrayContaining(['KATARZYNA', 'KASIA', 'KATE']));
    expect(people[2]).toMatchObject({ forename: 'MOHAMED', surname: 'ALI', sex: 'M' });
    expect(people[2]!.forenameAlternatives).toEqual(expect.arrayContaining(['MUHAMMAD', 'MOHAMMED']));
    expect(people[3]).toMatchObject({
      forename: 'KATARZYNA',
      attributes: { priority: '1', pupil_person_ref: 'S1', relationship: 'mother' },
    });

    const facts = await readParquet(t.stores.curated, keys.curated('facts', AS_AT));
    expect(facts.map((f) => [f.fact_id, f.type, f.date, f.value])).toEqual([
      ['health:maternity:MAT1', 'maternity_booking', '2025-06-01', 24],
      ['health:maternity:MAT1#birth', 'birth', '2026-01-20', 2300], // the later extract superseded the booking-only row
      ['police:incidents:I1-1', 'police_incident', '2026-01-30', null],
    ]);
    expect(JSON.parse(facts[1]!.detail as string)).toEqual({
      baby_record_id: 'health:people:H2',
      smoking_at_delivery: 'Y',
    });

    const rels = await readParquet(t.stores.curated, keys.curated('relationships', AS_AT));
    expect(rels.map((r) => [r.relationship_id, r.from_record_id, r.relationship, r.to_record_id])).toEqual([
      ['health:maternity:MAT1', 'health:people:H1', 'mother', 'health:people:H2'],
      ['schools:contacts:K1>S1', 'schools:contacts:K1', 'mother', 'schools:pupils:S1'],
    ]);
    const records = await readParquet(t.stores.curated, keys.curated('records', AS_AT));
    expect(records[0]).toEqual({
      record_id: 'health:people:H1',
      source: 'health',
      feed: 'people',
      source_person_ref: 'H1',
      extract_date: '2026-02-01',
    });
  });

  it('puts no clear identifier in any curated table', async () => {
    await landing();
    await runAll();
    const people = (await readParquet(t.stores.secure, keys.secure(AS_AT, 'person-records.parquet'))).map(
      personRecordFromRow,
    );
    const clear = new Set<string>();
    for (const p of people) {
      // Dates of birth are not searched for in event-date columns: an event date can equal someone's birthday
      // (a birth fact's date is the baby's). No column is a date of birth (checked by name below).
      for (const v of [
        p.forename,
        p.surname,
        p.postcode,
        p.postcode?.replace(' ', ''),
        p.addressLine1,
        p.nhsNumberToken,
        p.upnToken,
        ...p.surnameParts,
      ])
        if (v) clear.add(v.toUpperCase());
    }
    expect(clear.size).toBeGreaterThan(10);
    const allowedColumns =
      /^(record_id|source|feed|source_person_ref|extract_date|fact_id|type|record_ref|date|end_date|value|detail|relationship_id|from_record_id|to_record_id|relationship|group_ref|start_date)$/;
    for (const table of ['records', 'facts', 'relationships'] as const) {
      const rows = await readParquet(t.stores.curated, keys.curated(table, AS_AT));
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        for (const [col, v] of Object.entries(r)) {
          expect(col, `${table}.${col}`).toMatch(allowedColumns);
          expect(col).not.toMatch(/dob|birth|name|postcode$|address|token/);
          const values = col === 'detail' ? Object.values(JSON.parse(v as string) as Record<string, string>) : [v];
          for (const x of values)
            if (typeof x === 'string')
              expect(clear.has(x.toUpperCase()), `${table}.${col} holds a clear identifier`).toBe(false);
        }
      }
    }
  });

  it('is deterministic: a re-run writes byte-identical tables', async () => {
    await landing();
    await runAll();
    const files = ['records', 'facts', 'relationships'].map((k) => keys.curated(k as 'records', AS_AT));
    const before = await Promise.all(files.map((k) => t.stores.curated.get(k)));
    const sec = await t.stores.secure.get(keys.secure(AS_AT, 'person-records.parquet'));
    await runAll();
    const after = await Promise.all(files.map((k) => t.stores.curated.get(k)));
    for (let i = 0; i < files.length; i++) expect(after[i]!.equals(before[i]!), files[i]).toBe(true);
    expect((await t.stores.secure.get(keys.secure(AS_AT, 'person-records.parquet'))).equals(sec)).toBe(true);
  });

  it('ignores validated data left by another run of the same as-at date (a feed gone from the landing)', async () => {
    await landing();
    await runAll();
    const ctx = { ...t.ctx(AS_AT), runId: 'another-run' };
    await validateStage(ctx, { source: 'health', feed: 'people' });
    const counts = (await standardiseStage(ctx)).counts;
    expect(counts).toMatchObject({ personRecords: 3, feedsValidatedByAnotherRun: 4 });
  });

  it('writes empty tables when nothing was validated', async () => {
    const counts = (await standardiseStage(t.ctx(AS_AT))).counts;
    expect(counts).toMatchObject({
      personRecords: 0,
      facts: 0,
      relationships: 0,
      feedsWithoutValidatedData: FEEDS.length,
    });
    expect(await readParquet(t.stores.curated, keys.curated('facts', AS_AT))).toEqual([]);
  });
});
