import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { writeParquet } from '../../pipelines/io/parquet.ts';
import { importOutcomes } from '../../pipelines/outcomes/import.ts';
import { applyOutcomes, outcomesSheet } from '../../pipelines/outcomes/lists.ts';
import { excelSerialDate } from '../../pipelines/outcomes/read.ts';
import { outcomesDigest, readOutcomes } from '../../pipelines/outcomes/store.ts';
import { buildLocalityLists, type TargetFamily } from '../../pipelines/reports/target-lists/build.ts';
import { toCsv } from '../../pipelines/reports/target-lists/csv.ts';
import { writeXlsx } from '../../pipelines/reports/target-lists/xlsx.ts';

const A = 'F00000000000a';
const B = 'F00000000000b';
const C = 'F00000000000c';
const HEADER = ['family_id', 'date', 'outcome', 'lead_practitioner', 'case_opened', 'case_closed'];
let dir: string;
let stores: { secure: LocalObjectStore; curated: LocalObjectStore; outputs: LocalObjectStore };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-outcomes-'));
  stores = {
    secure: new LocalObjectStore(join(dir, 'secure')),
    curated: new LocalObjectStore(join(dir, 'curated')),
    outputs: new LocalObjectStore(join(dir, 'outputs')),
  };
  await writeParquet(
    stores.curated,
    'families/as_at=2026-02-28/part-00000.parquet',
    [{ name: 'family_id', type: 'VARCHAR' }],
    [{ family_id: A }, { family_id: B }, { family_id: C }],
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const csv = (rows: Array<Array<string | null>>) => ({ name: 'outcomes.csv', bytes: toCsv(HEADER, rows) });

describe('outcomes import', () => {
  it('reports every bad row by line and field, and imports nothing', async () => {
    const bad = csv([
      [A, '2026-03-02', 'contacted', 'Lead One', null, null], // line 2: fine
      ['F123', '2026-02-30', 'phoned', '', null, null], //        line 3: four problems
      ['F0000000000ff', '2026-03-01', 'declined', 'Lead One', null, null], // line 4: not a family
      [B, '2026-03-01', 'worked_with', 'Lead Two', '2026-03-10', '2026-03-01'], // line 5: closed before opened
    ]);
    const err = await importOutcomes(bad, stores).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toContain('outcomes.csv: 6 bad row field(s), nothing imported');
    for (const p of [
      'line 3, field family_id: not a family id',
      'line 3, field date: not a date',
      'line 3, field outcome: not one of contacted',
      'line 3, field lead_practitioner: blank',
      'line 4, field family_id: not a family in any run under --out',
      'line 5, field case_closed: before case_opened',
    ])
      expect(err).toContain(p);
    expect(err).not.toContain('Lead');
    expect(await stores.secure.list('outcomes/')).toEqual([]);
  });

  it('imports a valid CSV once (append-only history), and a run reads the outcomes dated on or before it', async () => {
    const good = csv([
      [A, '2026-03-02', 'declined', 'Lead One', null, null],
      [B, '2026-03-05', 'Worked with', 'Lead Two', '2026-03-05', null],
      [C, '', '', '', '', ''],
    ]);
    const first = await importOutcomes(good, stores);
    expect(first).toMatchObject({ rows: 2, blank: 1, added: true });
    expect((await importOutcomes(good, stores)).added).toBe(false);
    const later = await importOutcomes(csv([[A, '2026-04-20', 'contacted', 'Lead One', null, null]]), stores);
    expect(later.added).toBe(true);
    expect((await stores.secure.list('outcomes/imports/')).length).toBe(2);
    expect((await readOutcomes(stores.secure, '2026-03-31')).map((r) => [r.familyId, r.outcome])).toEqual([
      [A, 'declined'],
      [B, 'worked_with'],
    ]);
    expect((await readOutcomes(stores.secure, '2026-04-30')).map((r) => [r.familyId, r.date, r.outcome])).toEqual([
      [A, '2026-03-02', 'declined'],
      [A, '2026-04-20', 'contacted'],
      [B, '2026-03-05', 'worked_with'],
    ]);
    // the run id's digest comes from the outputs zone's index: it changes only with rows dated on or before the as-at
    // date, and the index holds no family id, outcome or practitioner in the clear (prepare reads no secure data)
    expect(await outcomesDigest(stores.outputs, '2026-02-28')).toBeUndefined();
    const march = await outcomesDigest(stores.outputs, '2026-03-31');
    expect(march).toMatch(/^[0-9a-f]{64}$/);
    expect(await outcomesDigest(stores.outputs, '2026-04-19')).toBe(march);
    expect(await outcomesDigest(stores.outputs, '2026-04-30')).not.toBe(march);
    const index = await stores.outputs.list('_runs/outcomes/');
    expect(index).toHaveLength(2);
    for (const o of index)
      for (const clear of [A, B, 'Lead', 'declined', 'worked_with'])
        expect((await stores.outputs.get(o.key)).toString('utf8')).not.toContain(clear);
  });

  it('reads the target-list XLSX "Outcomes" sheet, date serials included', async () => {
    const sheet = outcomesSheet([A, B]);
    sheet.rows[0] = [A, 46082, 'not_appropriate', 'Lead Three', null, null]; // 46082 = 2026-03-01
    const xlsx = writeXlsx([{ name: 'Target list', header: ['rank'], rows: [[1]] }, sheet]);
    const r = await importOutcomes({ name: 'North.xlsx', bytes: xlsx }, stores);
    expect(r).toMatchObject({ rows: 1, blank: 1, added: true });
    expect(
      (await readOutcomes(stores.secure, '2026-03-01')).find((x) => x.outcome === 'not_appropriate'),
    ).toMatchObject({ familyId: A, date: '2026-03-01' });
    expect(excelSerialDate(46082)).toBe('2026-03-01');
  });
});

describe('outcomes on the next lists', () => {
  const fam = (familyId: string, score: number): TargetFamily => ({
    familyId,
    locality: 'North',
    wardCode: null,
    score,
    tier: score >= 8 ? 'high' : 'low',
    headlines: [],
    threeNeeds: false,
    openToStatutory: false,
    reasons: [],
    statutoryEvidence: [],
    members: [],
    flags: [],
    ruleSetVersion: 'sf@1',
  });
  const lists = buildLocalityLists([fam(A, 9), fam(B, 8), fam(C, 3)], ['North']);
  const rows = [
    {
      familyId: A,
      date: '2026-01-15',
      outcome: 'declined' as const,
      leadPractitioner: 'x',
      caseOpened: null,
      caseClosed: null,
    },
    {
      familyId: B,
      date: '2026-01-10',
      outcome: 'worked_with' as const,
      leadPractitioner: 'x',
      caseOpened: '2026-01-10',
      caseClosed: null,
    },
  ];

  it('keeps a declined family off the ranked list for the configured months, listed apart, and marks worked-with families', () => {
    const o = applyOutcomes(lists, rows, '2026-03-31', { suppressMonths: 6 });
    expect(o.lists[0]!.ranked.map((f) => [f.rank, f.familyId])).toEqual([
      [1, B],
      [2, C],
    ]);
    expect(o.suppressed.map((s) => [s.family.familyId, s.outcome, s.until])).toEqual([[A, 'declined', '2026-07-15']]);
    expect(o.latest.get(B)).toBe('worked_with 2026-01-10, case open since 2026-01-10');
    expect(o.suppressedWhy.get(A)).toBe('declined on 2026-01-15: kept off the list until 2026-07-15');
  });

  it('lists the family again once the months are over', () => {
    const o = applyOutcomes(lists, rows, '2026-07-31', { suppressMonths: 6 });
    expect(o.lists[0]!.ranked.map((f) => f.familyId)).toEqual([A, B, C]);
    expect(o.suppressed).toEqual([]);
  });
});
