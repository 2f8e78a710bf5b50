import { IDENTIFYING_PERSON_COLUMNS } from '../support/person-records.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { writeParquet } from '../../pipelines/io/parquet.ts';
import { jsonLog } from '../../pipelines/log.ts';
import { loadIdentifierIndex } from '../../pipelines/privacy/identifiers.ts';
import { describeFinding, scanPublished } from '../../pipelines/privacy/scan.ts';
import { configurationVocabulary } from '../../pipelines/privacy/vocabulary.ts';
import { csvRows } from '../../pipelines/privacy/extract.ts';

const AS_AT = '2026-03-31';
const TOKEN = 'a3f1'.repeat(16);

const PEOPLE = [
  {
    record_id: 'health:people:H1',
    forename: 'ZEBEDEE',
    middle_names: null,
    surname: 'QUILLFEATHER',
    surname_parts: ['QUILLFEATHER'],
    date_of_birth: '2019-04-07',
    postcode: 'M14 5RB',
    address_line1: '12 ACACIA AVENUE',
    nhs_number_token: TOKEN,
    upn_token: null,
  },
  {
    record_id: 'schools:pupils:S9',
    forename: 'MARGOT',
    middle_names: 'ELSPETH',
    surname: 'WARD',
    surname_parts: ['WARD'],
    date_of_birth: '2015-11-30',
    postcode: 'M20 2AB',
    address_line1: 'FLAT 3 ORCHARD COURT',
    nhs_number_token: null,
    upn_token: null,
  },
];

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'privacy-'));
  roots.push(root);
  const stores = {
    secure: new LocalObjectStore(join(root, 'secure')),
    curated: new LocalObjectStore(join(root, 'curated')),
    outputs: new LocalObjectStore(join(root, 'outputs')),
  };
  await writeParquet(stores.secure, `as_at=${AS_AT}/person-records.parquet`, [...IDENTIFYING_PERSON_COLUMNS], PEOPLE);
  // A clean publication: pseudonymous ids, the report's own vocabulary ("Ward" heading), an event date equal
  // to a child's birthday in an event column, a SHA-256 file hash that is not a token.
  await stores.outputs.put(
    `as_at=${AS_AT}/target-lists/North.csv`,
    'family_id,locality,score,latest_event_date,reasons\nF00012,North,14,2019-04-07,"Police incident: domestic abuse, child present"\nF00031,North,9,2026-01-02,Persistent absence\n',
  );
  await stores.outputs.put(
    `as_at=${AS_AT}/target-lists/index.html`,
    '<!DOCTYPE html><html><head><style>td{color:red}</style></head><body><h1>Target lists</h1><table><thead><tr><th scope="col">Ward</th></tr></thead><tbody><tr><td>E05011364</td></tr></tbody></table><p>Families by ward.</p></body></html>',
  );
  await stores.outputs.put(
    `as_at=${AS_AT}/manifest.json`,
    JSON.stringify({ inputs: [{ key: 'health/people/dt=2026-03-31/people.csv', sha256: 'b'.repeat(64) }] }),
  );
  await writeParquet(
    stores.curated,
    `families/as_at=${AS_AT}/part-00000.parquet`,
    [
      { name: 'family_id', type: 'VARCHAR' },
      { name: 'postcode_district', type: 'VARCHAR' },
    ],
    [{ family_id: 'F00012', postcode_district: 'M14' }],
  );
  return { root, stores };
}

describe('privacy scan', () => {
  it('passes clean outputs, ignoring report vocabulary, event dates and file hashes', async () => {
    const { stores } = await setup();
    const ix = await loadIdentifierIndex(stores.secure, AS_AT);
    expect(ix.records).toBe(2);
    const { result } = await scanPublished(ix, stores, AS_AT);
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('pass');
    expect(result.files.map((f) => `${f.zone}/${f.key}`)).toEqual([
      `curated/families/as_at=${AS_AT}/part-00000.parquet`,
      `outputs/as_at=${AS_AT}/manifest.json`,
      `outputs/as_at=${AS_AT}/target-lists/North.csv`,
      `outputs/as_at=${AS_AT}/target-lists/index.html`,
    ]);
    expect(result.files.every((f) => f.units > 0)).toBe(true);
  });

  it("scans objects of no as-at date too, but not other dates' outputs", async () => {
    const { stores } = await setup();
    await stores.outputs.put('start-well/trend.json', JSON.stringify({ note: 'Margot Ward' }));
    await stores.outputs.put('as_at=2026-02-28/target-lists/North.csv', 'family_id,locality\nF1,Zebedee\n');
    const { result } = await scanPublished(await loadIdentifierIndex(stores.secure, AS_AT), stores, AS_AT);
    expect(result.findings.map((f) => `${f.zone}/${f.key} ${f.kind}`)).toEqual([
      'outputs/start-well/trend.json full_name',
    ]);
  });

  it('catches a forename seeded into a target list, naming file, row and column, without repeating it', async () => {
    const { stores } = await setup();
    const key = `as_at=${AS_AT}/target-lists/North.csv`;
    const clean = (await stores.outputs.get(key)).toString();
    await stores.outputs.put(key, clean.replace('F00031,North', 'F00031,Zebedee'));
    const lines: string[] = [];
    const { result } = await scanPublished(await loadIdentifierIndex(stores.secure, AS_AT), stores, AS_AT, {
      log: jsonLog('debug', (l) => lines.push(l)),
    });
    expect(result.status).toBe('fail');
    expect(result.findingsTotal).toBe(1);
    expect(result.findings[0]).toEqual({
      zone: 'outputs',
      key,
      location: 'row 2 (line 3), column locality',
      kind: 'forename',
      recordIds: ['health:people:H1'],
    });
    expect(describeFinding(result.findings[0]!)).toContain('forename at row 2 (line 3), column locality');
    // The value itself appears neither in the result nor in the logs.
    expect(JSON.stringify(result).toUpperCase()).not.toContain('ZEBEDEE');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n').toUpperCase()).not.toContain('ZEBEDEE');
  });

  it('finds full names in prose, postcodes, tokens, dates of birth in a DOB field and addresses in a spreadsheet', async () => {
    const { stores } = await setup();
    await stores.outputs.put(
      `as_at=${AS_AT}/start-well/report.html`,
      '<html><body><p>Case note: Margot Ward attended.</p><p>Lives at m14 5rb.</p></body></html>',
    );
    await stores.outputs.put(
      `as_at=${AS_AT}/extra.json`,
      JSON.stringify({ rows: [{ person: 'P1', child_dob: '30/11/2015' }, { note: `token ${TOKEN}` }] }),
    );
    await writeParquet(
      stores.curated,
      `scores/as_at=${AS_AT}/part-00000.parquet`,
      [
        { name: 'family_id', type: 'VARCHAR' },
        { name: 'reasons', type: 'VARCHAR' },
      ],
      [{ family_id: 'F1', reasons: '{"evidence":"Quillfeather, Zebedee"}' }],
    );
    await stores.outputs.put(
      `as_at=${AS_AT}/target-lists/North.xlsx`,
      zip({
        'xl/sharedStrings.xml': '<sst><si><t>address</t></si><si><t>Flat 3, Orchard Court</t></si></sst>',
        'xl/worksheets/sheet1.xml':
          '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>3</v></c></row></sheetData></worksheet>',
      }),
    );
    const { result } = await scanPublished(await loadIdentifierIndex(stores.secure, AS_AT), stores, AS_AT);
    const got = result.findings.map((f) => `${f.zone}/${f.key} | ${f.location} | ${f.kind}`);
    expect(got).toEqual([
      `curated/scores/as_at=${AS_AT}/part-00000.parquet | row 1, column reasons | full_name`,
      `outputs/as_at=${AS_AT}/extra.json | $.rows[0].child_dob | date_of_birth`,
      `outputs/as_at=${AS_AT}/extra.json | $.rows[1].note | nhs_number_token`,
      `outputs/as_at=${AS_AT}/start-well/report.html | line 1 <p> | full_name`,
      `outputs/as_at=${AS_AT}/start-well/report.html | line 1 <p> | postcode`,
      `outputs/as_at=${AS_AT}/target-lists/North.xlsx | sheet sheet1 cell A2 (column address) | address`,
    ]);
    expect(result.findingsByKind.full_name).toBe(2);
  });

  /** Secure person records holding only names. */
  const writeNames = (
    secure: LocalObjectStore,
    people: Array<{ record_id: string; forename: string; surname: string; surname_parts: string[] }>,
  ) =>
    writeParquet(
      secure,
      `as_at=${AS_AT}/person-records.parquet`,
      [
        { name: 'record_id', type: 'VARCHAR' },
        { name: 'forename', type: 'VARCHAR' },
        { name: 'surname', type: 'VARCHAR' },
        { name: 'surname_parts', type: 'VARCHAR[]' },
      ],
      people.map((p) => ({
        record_id: p.record_id,
        forename: p.forename,
        surname: p.surname,
        surname_parts: p.surname_parts,
      })),
    );

  it('does not take configuration vocabulary or two-letter enum values for names', async () => {
    const { stores } = await setup();
    const people = [
      ...PEOPLE,
      { ...PEOPLE[1]!, record_id: 'police:people:X1', forename: 'EM', surname: 'SOUTH', surname_parts: ['SOUTH'] },
    ];
    await writeNames(stores.secure, people);
    await stores.outputs.put(`as_at=${AS_AT}/model.json`, JSON.stringify({ comparisons: [{ mSource: 'em' }] }));
    await stores.outputs.put(`as_at=${AS_AT}/target-lists/South.csv`, 'family_id,locality\nF1,South\n');
    const ix = await loadIdentifierIndex(stores.secure, AS_AT);
    const plain = await scanPublished(ix, stores, AS_AT);
    expect(plain.result.findings.map((f) => `${f.key} ${f.kind}`)).toEqual([
      `as_at=${AS_AT}/target-lists/South.csv surname`,
    ]);
    const withVocabulary = await scanPublished(ix, stores, AS_AT, { vocabulary: ['South', 'North'] });
    expect(withVocabulary.result.status).toBe('pass');
    expect(withVocabulary.result.vocabularyExempt).toBe(2);
  });

  it('does not take family roles or relationship types for a surname (someone may be called Carer)', async () => {
    const { stores } = await setup();
    const people = [
      ...PEOPLE,
      { ...PEOPLE[1]!, record_id: 'police:people:X2', forename: 'JO', surname: 'CARER', surname_parts: ['CARER'] },
    ];
    await writeNames(stores.secure, people);
    await writeParquet(
      stores.curated,
      `family_members/as_at=${AS_AT}/part-00000.parquet`,
      [
        { name: 'family_id', type: 'VARCHAR' },
        { name: 'role', type: 'VARCHAR' },
      ],
      [{ family_id: 'F1', role: 'carer' }],
    );
    await writeParquet(
      stores.curated,
      `relationships/as_at=${AS_AT}/part-00000.parquet`,
      [
        { name: 'relationship_id', type: 'VARCHAR' },
        { name: 'relationship', type: 'VARCHAR' },
      ],
      [{ relationship_id: 'R1', relationship: 'carer' }],
    );
    const ix = await loadIdentifierIndex(stores.secure, AS_AT);
    const plain = await scanPublished(ix, stores, AS_AT);
    expect(plain.result.findingsByKind.surname).toBe(2);
    const withVocabulary = await scanPublished(ix, stores, AS_AT, { vocabulary: configurationVocabulary() });
    expect(withVocabulary.result.status).toBe('pass');
  });

  it('fails, rather than vouching, when a published file cannot be read', async () => {
    const { stores } = await setup();
    await stores.outputs.put(`as_at=${AS_AT}/broken.json`, '{"not json');
    const { result } = await scanPublished(await loadIdentifierIndex(stores.secure, AS_AT), stores, AS_AT);
    expect(result.status).toBe('fail');
    expect(result.unreadableFiles).toBe(1);
    expect(result.files.find((f) => f.key.endsWith('broken.json'))?.error).toMatch(/not valid JSON/);
  });

  it('says clearly when there are no secure person records to compare with', async () => {
    const { stores } = await setup();
    await expect(loadIdentifierIndex(stores.secure, '2020-01-01')).rejects.toThrow(
      /no secure person records at as_at=2020-01-01\/person-records.parquet/,
    );
  });

  it('parses quoted CSV fields with commas, quotes and newlines', () => {
    expect([...csvRows('a,b\r\n"x, ""y""","line1\nline2"\n\nz,\n')]).toEqual([
      [1, ['a', 'b']],
      [2, ['x, "y"', 'line1\nline2']],
      [5, ['z', '']],
    ]);
  });
});

/** A minimal deflate ZIP writer for the test's spreadsheet. */
function zip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const comp = deflateRawSync(data);
    const nameBuf = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(comp.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(comp.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, comp);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
