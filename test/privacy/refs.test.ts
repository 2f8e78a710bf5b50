/**
 * Refs that carry a clear identifier get a keyed pseudonym (privacy/refs.ts): every shape the privacy scan finds in
 * a reference is replaced, ordinary refs are kept as delivered, the pseudonym is stable for a key and differs across
 * keys, and a list carrying the pseudonyms passes the scan (the list stays usable). Same secure zone as shapes.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { sqlString, writeParquet } from '../../pipelines/io/parquet.ts';
import {
  addPerson,
  emptyIndex,
  loadIdentifierIndex,
  normaliseText,
  quarantinedPeople,
  securePersonFromRow,
} from '../../pipelines/privacy/identifiers.ts';
import { DuckDBInstance } from '@duckdb/node-api';
import { pseudonymiseDeliveredRefs } from '../../pipelines/stages/standardise/refs.ts';
import {
  addToSieve,
  emptySieve,
  loadRefKey,
  mayCarryIdentifier,
  PLAIN_REF_SQL,
  plainRefLetters,
  PSEUDONYM,
  refLookupKey,
  TOKEN_LENGTH,
  pseudonymiseRefs,
  pseudonymOf,
  REF_KEY_KEY,
} from '../../pipelines/privacy/refs.ts';
import { scanPublished } from '../../pipelines/privacy/scan.ts';
import { configurationVocabulary } from '../../pipelines/privacy/vocabulary.ts';

const AS_AT = '2026-03-31';
const PEOPLE = [
  {
    record_id: 'police:people:N1',
    forename: 'HAMZA',
    surname: 'BUTT',
    date_of_birth: '1996-10-26',
    postcode: 'M1 4BT',
    address_line1: '7 MILL LANE',
  },
  {
    record_id: 'health:people:H2',
    forename: 'PRIYA',
    surname: 'KOWALCZYK',
    date_of_birth: '2001-03-05',
    postcode: 'M20 2AB',
    address_line1: '3 ELM ROAD',
  },
];
const QUARANTINED = {
  line: 14,
  row: {
    person_ref: 'NOM77',
    forename: 'Ignatius',
    surname: 'Threlfall',
    date_of_birth: '01/12/1988',
    sex: '?',
    postcode: 'M8 9QQ',
  },
};
const CARRY = [
  'HamzaButt01',
  'Hamza.Butt.DA1',
  'BUTT_HAMZA_2',
  'HAMZAButt',
  'BUTT-1996-10-26',
  'BUTT19961026',
  'butt_26101996',
  '26.10.1996.Butt',
  'M1_4BT',
  'REF-M1-4BT',
  'DA1M14BT',
  '1996-10-26',
  '19961026',
  'PriyaButt',
  'Ignatius.Threlfall',
  'THRELFALL-1988-12-01',
  'M8_9QQ',
];
const ORDINARY = [
  'PIR03363998',
  'INC98162400',
  'NOM93237303',
  'F00012',
  'SF-DA-01',
  'DA1',
  'BT2026',
  'REF-2026-03-05-001',
  'GRP4548259',
  'ref:9f3a0c1d2e4b',
];

/** Shapes near the plain one (letters then digits): case mixes, accents, "ref", a whole value, a token's length. */
const TRICKY = [
  'Abc123',
  'ABc123',
  'aBC1',
  'abc12',
  'A1',
  'REF19961026',
  'Ref19961026',
  'MAT123',
  'Mat19961026',
  'FLAT12',
  'Flat12',
  'ÉLAN12',
  'Butt١٢',
  'ABC12 ',
  'ABC12\n',
  '12ABC',
  `A${'1'.repeat(TOKEN_LENGTH - 2)}`,
  `A${'1'.repeat(TOKEN_LENGTH - 1)}`,
];

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'refs-'));
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
      { name: 'surname', type: 'VARCHAR' },
      { name: 'date_of_birth', type: 'VARCHAR' },
      { name: 'postcode', type: 'VARCHAR' },
      { name: 'address_line1', type: 'VARCHAR' },
    ],
    PEOPLE,
  );
  await stores.secure.put(
    `as_at=${AS_AT}/quarantine/police/people/dt=${AS_AT}/people.jsonl`,
    `${JSON.stringify(QUARANTINED)}\n`,
  );
  return stores;
}

const vocabulary = new Set(configurationVocabulary(['North']).map(normaliseText));
const delivered = (refs: string[]) =>
  refs.map((ref) => ({ source: 'police', feed: 'incidents', column: 'record_ref', ref }));

describe('keyed pseudonyms for refs that carry an identifier', () => {
  it('replaces every shape the scan finds in a ref, keeps ordinary refs, and the list then passes the scan', async () => {
    const stores = await setup();
    const ix = await loadIdentifierIndex(stores.secure, AS_AT);
    const key = await loadRefKey(stores.secure);
    const { map, lookup } = pseudonymiseRefs(ix, key, delivered([...CARRY, ...ORDINARY, 'HamzaButt01']), vocabulary);
    expect([...map.keys()].sort()).toEqual([...CARRY].sort());
    for (const p of map.values()) expect(p).toMatch(PSEUDONYM);
    expect(new Set(map.values()).size).toBe(CARRY.length);
    // the lookup table re-identifies each (one row per place delivered), naming what the ref carried
    expect(lookup.filter((l) => l.ref === 'HamzaButt01')).toHaveLength(2);
    expect(lookup.find((l) => l.ref === 'BUTT-1996-10-26')).toMatchObject({
      source: 'police',
      feed: 'incidents',
      column: 'record_ref',
      carries: expect.arrayContaining(['surname next to its date of birth']),
    });

    const rows = [...CARRY, ...ORDINARY].map((r, i) => {
      const ref = map.get(r) ?? r;
      return `F${i},${ref},"Police incident (police/incidents, 2026-01-02, ref ${ref})"`;
    });
    await stores.outputs.put(
      `as_at=${AS_AT}/target-lists/North.csv`,
      `family_id,record_ref,reasons\n${rows.join('\n')}\n`,
    );
    const { result } = await scanPublished(ix, stores, AS_AT, { vocabulary: configurationVocabulary(['North']) });
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('pass');
  });

  it('the sieve that spares most refs the full check lets every carrying shape through and stops ordinary refs', async () => {
    const stores = await setup();
    const sieve = emptySieve();
    for (const p of PEOPLE) addToSieve(sieve, securePersonFromRow(p));
    for await (const p of quarantinedPeople(stores.secure, AS_AT, () => true)) addToSieve(sieve, p);
    expect(CARRY.filter((r) => !mayCarryIdentifier(sieve, r))).toEqual([]);
    expect(ORDINARY.filter((r) => mayCarryIdentifier(sieve, r))).toEqual([]);
  });

  it('the stage finds the same refs as the sieve and index over everyone, though plain refs are sifted in DuckDB', async () => {
    const stores = await setup();
    // validated people (no record ids, as standardise reads them) and an event feed delivering every ref
    const people = [
      ...PEOPLE.map(({ record_id, address_line1, ...p }) => ({
        person_ref: record_id,
        ...p,
        address_line_1: address_line1,
      })),
      // a whole value that is itself a plain ref's shape, a name that is a plain ref's letters
      {
        person_ref: 'P3',
        forename: 'MAT',
        surname: 'FLAT12',
        date_of_birth: '1990-01-02',
        postcode: 'M3 1AA',
        address_line_1: 'FLAT12',
      },
    ];
    const refs = [...CARRY, ...ORDINARY, ...TRICKY];
    const cols = (names: string[]) => names.map((name) => ({ name, type: 'VARCHAR' as const }));
    const peopleKey = `as_at=${AS_AT}/validated/police/people/dt=${AS_AT}/people.parquet`;
    const eventsKey = `as_at=${AS_AT}/validated/police/incidents/dt=${AS_AT}/incidents.parquet`;
    await writeParquet(stores.secure, peopleKey, cols(Object.keys(people[0]!)), people);
    await writeParquet(
      stores.secure,
      eventsKey,
      cols(['record_ref', 'incident_ref', 'person_ref']),
      refs.map((r, i) => ({ record_ref: r, incident_ref: `INC${i}`, person_ref: 'P3' })),
    );
    const filesOf = new Map([
      ['police/people', [{ key: peopleKey, extractDate: AS_AT }]],
      ['police/incidents', [{ key: eventsKey, extractDate: AS_AT }]],
    ]);
    const got = await pseudonymiseDeliveredRefs(stores.secure, AS_AT, filesOf);
    const gotLookup = (await stores.secure.get(refLookupKey(AS_AT))).toString();

    // the same in JavaScript over everyone: every person in the sieve and the index, every delivered ref read
    const everyone = people.map((p) => securePersonFromRow(p));
    for await (const p of quarantinedPeople(stores.secure, AS_AT, () => true)) everyone.push(p);
    const sieve = emptySieve();
    const ix = emptyIndex();
    for (const p of everyone) {
      addToSieve(sieve, p);
      addPerson(ix, p);
    }
    // every ref delivered, by place, in the order the stage reads them (source, feed, column, ref)
    const at = (feed: string, column: string, values: string[]) =>
      [...new Set(values)].map((ref) => ({ source: 'police', feed, column, ref }));
    const all = [
      ...at(
        'incidents',
        'incident_ref',
        refs.map((_, i) => `INC${i}`),
      ),
      ...at('incidents', 'person_ref', ['P3']),
      ...at('incidents', 'record_ref', refs),
      ...at(
        'people',
        'person_ref',
        people.map((p) => p.person_ref),
      ),
    ].sort((a, b) =>
      `${a.feed}\u0000${a.column}\u0000${a.ref}` < `${b.feed}\u0000${b.column}\u0000${b.ref}` ? -1 : 1,
    );
    const byHand = pseudonymiseRefs(
      ix,
      await loadRefKey(stores.secure),
      all.filter((r) => mayCarryIdentifier(sieve, r.ref)),
      vocabulary,
    );
    expect([...got.map].sort()).toEqual([...byHand.map].sort());
    expect(gotLookup).toBe(byHand.lookup.map((l) => `${JSON.stringify(l)}\n`).join(''));
    for (const r of CARRY) expect(got.map.has(r)).toBe(true);
    expect(got.checked).toBe(new Set(all.map((r) => r.ref)).size);
  });

  it('plain refs read the same in DuckDB (PLAIN_REF_SQL) as in JavaScript', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const refs = [...CARRY, ...ORDINARY, ...TRICKY];
      const rows = await (
        await conn.run(
          `SELECT ref, regexp_full_match(ref, ${sqlString(PLAIN_REF_SQL)}) AND length(ref) < ${TOKEN_LENGTH} AS plain,
            upper(regexp_extract(ref, '^[A-Za-z]+')) AS letters FROM (VALUES ${refs.map((r) => `(${sqlString(r)})`).join(', ')}) t(ref)`,
        )
      ).getRowObjectsJS();
      for (const r of rows) {
        const letters = plainRefLetters(String(r.ref));
        expect([r.ref, r.plain ? r.letters : null]).toEqual([r.ref, letters]);
      }
      expect(rows.filter((r) => r.plain).length).toBeGreaterThan(5);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  it('the key is made once and kept: the same ref gives the same pseudonym in every run, another key another one', async () => {
    const stores = await setup();
    const k1 = await loadRefKey(stores.secure);
    expect((await stores.secure.get(REF_KEY_KEY)).toString()).toMatch(/^[0-9a-f]{64}\n$/);
    const k2 = await loadRefKey(stores.secure);
    expect(pseudonymOf(k1, 'Hamza.Butt.DA1')).toBe(pseudonymOf(k2, 'Hamza.Butt.DA1'));
    expect(pseudonymOf(Buffer.alloc(32, 1), 'Hamza.Butt.DA1')).not.toBe(pseudonymOf(k1, 'Hamza.Butt.DA1'));
    await stores.secure.put(REF_KEY_KEY, 'not a key\n');
    await expect(loadRefKey(stores.secure)).rejects.toThrow('not 64 hex characters');
  });
});
