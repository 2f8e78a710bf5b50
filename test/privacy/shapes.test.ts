/**
 * The scan finds identifiers in any text: each shape an identifier hides in (joined by camel case, dots,
 * underscores, hyphens or digits; a surname beside its date of birth in any date format; a postcode with any
 * separator or none; a date of birth used as a reference; a forename and surname of different people; a person
 * known only from a quarantined row) planted in a published list is found, with its kind; ordinary references,
 * codes and report vocabulary are not (a false positive blocks the release).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { writeParquet } from '../../pipelines/io/parquet.ts';
import { loadIdentifierIndex, tokenWords } from '../../pipelines/privacy/identifiers.ts';
import { scanPublished } from '../../pipelines/privacy/scan.ts';
import { configurationVocabulary } from '../../pipelines/privacy/vocabulary.ts';

const AS_AT = '2026-03-31';
const PEOPLE = [
  {
    record_id: 'police:people:N1',
    forename: 'HAMZA',
    middle_names: null,
    surname: 'BUTT',
    surname_parts: ['BUTT'],
    date_of_birth: '1996-10-26',
    postcode: 'M1 4BT',
    address_line1: '7 MILL LANE',
  },
  {
    record_id: 'health:people:H2',
    forename: 'PRIYA',
    middle_names: null,
    surname: 'KOWALCZYK',
    surname_parts: ['KOWALCZYK'],
    date_of_birth: '2001-03-05',
    postcode: 'M20 2AB',
    address_line1: '3 ELM ROAD',
  },
];
/** A person whose own people row was quarantined: in no person record. */
const QUARANTINED = {
  file: 'x',
  line: 14,
  field: 'sex',
  reason: 'bad_value',
  row: {
    person_ref: 'NOM77',
    forename: 'Ignatius',
    surname: 'Threlfall',
    date_of_birth: '01/12/1988',
    sex: '?',
    postcode: 'M8 9QQ',
  },
};

/** [shape, where it is planted, kind expected] */
const SHAPES: Array<[string, string, string]> = [
  ['camel-case full name with digits', 'HamzaButt01', 'full_name'],
  ['full name joined by dots and a code', 'Hamza.Butt.DA1', 'full_name'],
  ['surname then forename, underscore', 'BUTT_HAMZA_2', 'full_name'],
  ['upper-case run then camel case', 'HAMZAButt', 'full_name'],
  ['surname-ISO date of birth', 'BUTT-1996-10-26', 'surname_and_dob'],
  ['surname dd/mm/yyyy', 'Butt 26/10/1996', 'surname_and_dob'],
  ['surname yyyymmdd', 'BUTT19961026', 'surname_and_dob'],
  ['surname_ddmmyyyy', 'butt_26101996', 'surname_and_dob'],
  ['date of birth then surname', '26.10.1996.Butt', 'surname_and_dob'],
  ['postcode with underscore', 'M1_4BT', 'postcode'],
  ['postcode with hyphen', 'REF-M1-4BT', 'postcode'],
  ['postcode with no separator', 'DA1M14BT', 'postcode'],
  ['date of birth as a reference (ISO)', '1996-10-26', 'date_of_birth'],
  ['date of birth as a reference (yyyymmdd)', '19961026', 'date_of_birth'],
  ['forename and surname of different people (a third party)', 'PriyaButt', 'name_pair'],
  ['quarantined person, full name', 'Ignatius.Threlfall', 'full_name'],
  ['quarantined person, surname and date of birth', 'THRELFALL-1988-12-01', 'surname_and_dob'],
  ['quarantined person, postcode', 'M8_9QQ', 'postcode'],
];

const NEGATIVES = [
  'PIR03363998',
  'INC98162400',
  'NOM93237303',
  'F00012',
  'E05011364',
  'SF-EDU-03',
  'SF-DA-01',
  'M14',
  'M20 5LF',
  '2026-01-02',
  'Police incident: domestic abuse, child present',
  'Persistent absence',
  'health_visiting',
  'missing_from_home',
  'North',
  'Unassigned',
  'ref:9f3a0c1d2e4b',
  'schools:pupils:PUP37093835',
  '5-10',
  '0-4',
  'also_in',
  'Start Well',
  'DA1',
  'BT2026',
  'REF-2026-03-05-001',
];

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'shapes-'));
  roots.push(root);
  const stores = {
    secure: new LocalObjectStore(join(root, 'secure')),
    curated: new LocalObjectStore(join(root, 'curated')),
    outputs: new LocalObjectStore(join(root, 'outputs')),
  };
  await writeParquet(
    stores.secure,
    `as_at=${AS_AT}/person-records.parquet`,
    [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'forename', type: 'VARCHAR' },
      { name: 'middle_names', type: 'VARCHAR' },
      { name: 'surname', type: 'VARCHAR' },
      { name: 'surname_parts', type: 'VARCHAR[]' },
      { name: 'date_of_birth', type: 'DATE' },
      { name: 'postcode', type: 'VARCHAR' },
      { name: 'address_line1', type: 'VARCHAR' },
    ],
    PEOPLE,
  );
  await stores.secure.put(
    `as_at=${AS_AT}/quarantine/police/people/dt=2026-03-31/people.jsonl`,
    `${JSON.stringify(QUARANTINED)}\n`,
  );
  return stores;
}

const csv = (refs: string[]) =>
  `family_id,record_ref,reasons\n${refs.map((r, i) => `F${String(i).padStart(5, '0')},${r},"Police incident (police/incidents, 2026-01-02, ref ${r})"`).join('\n')}\n`;

describe('the privacy scan finds identifiers in any text', () => {
  it('tokenises as a reader reads', () => {
    expect(tokenWords('HamzaButt01')).toEqual(['HAMZA', 'BUTT', '01']);
    expect(tokenWords('Hamza.Butt.DA1')).toEqual(['HAMZA', 'BUTT', 'DA', '1']);
    expect(tokenWords('HAMZAButt_26101996')).toEqual(['HAMZA', 'BUTT', '26101996']);
  });

  it.each(SHAPES)(
    '%s (%s) is found as %s, in a reference column and inside a reason',
    async (_shape, planted, kind) => {
      const stores = await setup();
      const ix = await loadIdentifierIndex(stores.secure, AS_AT);
      await stores.outputs.put(`as_at=${AS_AT}/target-lists/North.csv`, csv([planted]));
      const { result } = await scanPublished(ix, stores, AS_AT, { vocabulary: configurationVocabulary(['North']) });
      expect(result.status).toBe('fail');
      const where = result.findings
        .filter((f) => f.kind === kind)
        .map((f) => f.location.replace(/^row 1 \(line 2\), column /, ''));
      expect(where).toContain('record_ref');
      // in free text too, except a bare date (a date in a reason is an event date unless a "ref" says otherwise)
      expect(where).toContain('reasons');
      // never the value
      expect(JSON.stringify(result)).not.toContain(planted);
    },
  );

  it('passes ordinary references, codes, dates and report vocabulary', async () => {
    const stores = await setup();
    const ix = await loadIdentifierIndex(stores.secure, AS_AT);
    await stores.outputs.put(`as_at=${AS_AT}/target-lists/North.csv`, csv(NEGATIVES));
    const { result } = await scanPublished(ix, stores, AS_AT, { vocabulary: configurationVocabulary(['North']) });
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('pass');
  });

  it('indexes quarantined rows (a person whose own row was rejected is still searched for)', async () => {
    const stores = await setup();
    const ix = await loadIdentifierIndex(stores.secure, AS_AT);
    expect(ix.records).toBe(2);
    expect(ix.quarantinedRows).toBe(1);
  });
});
