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
import { writeParquet } from '../../pipelines/io/parquet.ts';
import {
  loadIdentifierIndex,
  normaliseText,
  quarantinedPeople,
  securePersonFromRow,
} from '../../pipelines/privacy/identifiers.ts';
import {
  addToSieve,
  emptySieve,
  loadRefKey,
  mayCarryIdentifier,
  PSEUDONYM,
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
