import { IDENTIFYING_PERSON_COLUMNS } from '../support/person-records.ts';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextUnit } from '../../pipelines/privacy/extract.ts';
import { IdentifierLookup, KeyFilter, writeIndexTable } from '../../pipelines/privacy/identifier-lookup.ts';
import {
  addPerson,
  emptyIndex,
  IDENTIFIER_KINDS,
  type IdentifierIndex,
  type SecurePerson,
} from '../../pipelines/privacy/identifiers.ts';
import { checkUnit } from '../../pipelines/privacy/scan.ts';

// A publish shard or merge looks the identifier index up on disk instead of loading it (issue #12). Prepared for a
// batch of units, the looked-up index must give every unit exactly the whole index's hits, whatever the shape of the
// identifier and however little of the index it keeps known between batches.

const FORENAMES = ['ZEBEDEE', 'MARGOT', 'OTTILIE', 'JAN', 'ANNE MARIE', 'HAMZA'];
const SURNAMES = ['QUILLFEATHER', 'WARDROBE', 'KOWALSKI', 'DE LA CRUZ', "O'NEILL-SMITH", 'BUTT'];
const hex = (i: number) => createHash('sha256').update(`token ${i}`).digest('hex');

function person(i: number): SecurePerson {
  const surname = SURNAMES[i % SURNAMES.length]!;
  return {
    recordId: `health:people:H${i}`,
    forename: FORENAMES[(i * 7) % FORENAMES.length]!,
    middleNames: i % 3 === 0 ? 'ROSE' : null,
    surname,
    surnameParts: surname.split(/[ -]/),
    dateOfBirth: `20${String(10 + (i % 9)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
    postcode: i % 4 === 0 ? null : `M${1 + (i % 30)} ${i % 10}AB`,
    addressLine1: i % 5 === 0 ? null : `${i} ACACIA AVENUE`,
    nhsNumberToken: i % 2 ? hex(i) : null,
    upnToken: i % 7 === 0 ? hex(1000 + i) : null,
  };
}

let dir: string;
let ix: IdentifierIndex;
let path: string;
let filter: KeyFilter;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-identifier-lookup-'));
  ix = emptyIndex();
  for (let i = 0; i < 80; i++) addPerson(ix, person(i));
  ix.quarantinedRows = 3;
  path = join(dir, 'identifier-index.parquet');
  filter = await writeIndexTable(ix, path, dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Units of every shape the scan finds, each a leak of one of the persons above, and clean ones between them. */
function units(): TextUnit[] {
  const out: TextUnit[] = [];
  const cap = (w: string) => w[0]! + w.slice(1).toLowerCase();
  for (let i = 0; i < 80; i += 3) {
    const p = person(i);
    const [y, m, d] = p.dateOfBirth!.split('-');
    const data = (text: string, field?: string): TextUnit => ({
      location: `r${out.length}`,
      text,
      field,
      position: 'data',
    });
    out.push(
      data(p.forename!), // a whole forename
      data(p.surname!),
      data(`${cap(p.forename!)}${cap(p.surname!.split(' ')[0]!)}01`), // joined by case and digits
      data(`seen with ${p.forename} ${p.surname} at school`), // a full name in text
      data(`${p.surname!.toUpperCase()}-${p.dateOfBirth}`), // surname next to its date of birth
      data(`${cap(p.surname!)} ${d}/${m}/${y}`),
      data(p.dateOfBirth!, 'date_of_birth'), // a date of birth where the field says so
      data(p.dateOfBirth!), // the same date elsewhere: not a leak
      data(`${y}${m}${d}`, 'record_ref'), // a ref that is a date of birth
      data(`note REF ${y} ${m} ${d} filed`),
      data(`${i} Acacia Avenue, flat 2`), // an address line in text
      data(`ordinary note ${i} about attendance`), // clean
      data(`${FORENAMES[(i + 1) % FORENAMES.length]} ${SURNAMES[(i + 2) % SURNAMES.length]}`), // a pair of names
      { location: `t${i}`, text: `Ward ${p.surname} heading`, position: 'template' },
    );
    if (p.postcode) out.push(data(`REF-${p.postcode.replace(' ', '-')}`), data(p.postcode.replace(' ', '_')));
    if (p.nhsNumberToken) out.push(data(`{"token":"${p.nhsNumberToken}","n":${i}}`));
    if (p.upnToken) out.push(data(`{"upn":"${p.upnToken}","n":${i}}`));
  }
  return out;
}

const check = (index: IdentifierIndex, u: TextUnit) => checkUnit(index, u, new Set(['ACACIA']));

describe('the identifier index looked up on disk (publish shards and merge)', () => {
  it('prepared, gives every unit the whole index hits, in batches, with or without keys forgotten between them', async () => {
    const all = units();
    const want = all.map((u) => check(ix, u));
    // the units leak identifiers of every kind (the test would catch a look-up missed)
    const kinds = new Set(want.flat().map((h) => h.kind));
    for (const k of IDENTIFIER_KINDS) expect(kinds, k).toContain(k);
    expect(want.filter((h) => h.length === 0).length).toBeGreaterThan(10);
    const fetched: number[] = [];
    for (const [knownKeysLimit, withFilter] of [
      [1_000_000, false],
      [10, false],
      [1_000_000, true],
      [10, true],
    ] as const) {
      const lookup = await IdentifierLookup.open(path, 'test', dir, {
        knownKeysLimit,
        // the filter as the shards read it back
        ...(withFilter ? { filter: KeyFilter.fromBytes(filter.toBytes(), 'test.filter') } : {}),
      });
      try {
        expect(lookup.ix.counts).toEqual(ix.counts);
        expect(lookup.ix.records).toBe(ix.records);
        expect(lookup.ix.quarantinedRows).toBe(3);
        for (let from = 0; from < all.length; from += 17) {
          const batch = all.slice(from, from + 17);
          // the hits prepare returns, and the checks after it, are the whole index's
          expect(await lookup.prepare(batch, check)).toEqual(want.slice(from, from + 17));
          expect(
            batch.map((u) => check(lookup.ix, u)),
            `units ${from}+, limit ${knownKeysLimit}, filter ${withFilter}`,
          ).toEqual(want.slice(from, from + 17));
        }
        expect(lookup.stats.fetches).toBeGreaterThan(0);
        fetched.push(lookup.stats.keysFetched);
      } finally {
        await lookup.close();
      }
    }
    // the filter rules out most keys the checks ask for (they are in no map) without fetching them
    expect(fetched[2]! * 2).toBeLessThan(fetched[0]!);
  });

  it('unprepared, it knows nothing (so the checks above depend on the prepare), and it follows the units hits lead to', async () => {
    const lookup = await IdentifierLookup.open(path, 'test', dir);
    try {
      const full = { location: 'x', text: `seen with ${FORENAMES[0]} ${SURNAMES[0]}`, position: 'data' } as const;
      expect(check(ix, full).length).toBeGreaterThan(0);
      expect(check(lookup.ix, full)).toEqual([]);
      // a unit a hit leads to (the ref of a record id a finding quotes) is made exact too
      const ref: TextUnit = { location: '', field: 'record_ref', text: SURNAMES[1]!, position: 'data' };
      await lookup.prepare([full], check, () => [ref]);
      expect(check(lookup.ix, full)).toEqual(check(ix, full));
      expect(check(lookup.ix, ref)).toEqual(check(ix, ref));
      expect(check(ix, ref).length).toBeGreaterThan(0);
    } finally {
      await lookup.close();
    }
  });

  it('refuses a file without its head, and a filter that is not one', async () => {
    expect(() => KeyFilter.fromBytes(Buffer.from('not a filter at all'), 'x.filter')).toThrow(/x\.filter is not one/);
    expect(() => KeyFilter.fromBytes(filter.toBytes().subarray(0, 20), 'x.filter')).toThrow(/cut short/);
    const bad = join(dir, 'no-head.parquet');
    const { openScratchDuckDb } = await import('../../pipelines/io/parquet.ts');
    const db = await openScratchDuckDb('256MB', dir);
    await db.conn.run(`COPY (SELECT 'whole' AS m, 'X' AS k, NULL::VARCHAR AS v) TO '${bad}' (FORMAT parquet)`);
    await db.dispose();
    await expect(IdentifierLookup.open(bad, 'secure/x.parquet', dir)).rejects.toThrow(
      /identifier index secure\/x\.parquet has no head/,
    );
  });
});

describe('the identifier index built in parts (the publish plan: never the whole index in memory)', () => {
  it('writes the rows and the filter of the whole index, for any number of parts, and looks up the same hits', async () => {
    const { LocalObjectStore } = await import('../../pipelines/io/local-object-store.ts');
    const { writeParquet, openScratchDuckDb } = await import('../../pipelines/io/parquet.ts');
    const { loadIdentifierIndex } = await import('../../pipelines/privacy/identifiers.ts');
    const { putIndexTable, putIndexTableInParts, filterKeyOf } =
      await import('../../pipelines/privacy/identifier-lookup.ts');
    const { keys } = await import('../../pipelines/layout.ts');
    const AS_AT = '2026-03-31';
    const secure = new LocalObjectStore(join(dir, 'parts-secure'));
    // the persons above, some twice under another record id (a token or surname-and-dob key of several records:
    // the record ids each entry keeps are the first ones seen, in order), as the secure person records
    // first, someone whose forename is person 1's full name: a whole value indexed as a forename, then a full name
    const first: SecurePerson = { ...person(200), forename: 'Margot Wardrobe' };
    const people = [first, ...Array.from({ length: 80 }, (_, i) => person(i)), ...[3, 4, 11].map((i) => person(i))].map(
      (p, n) => ({
        record_id: n <= 80 ? p.recordId : `schools:pupils:S${n}`,
        forename: p.forename,
        middle_names: p.middleNames,
        surname: p.surname,
        surname_parts: p.surnameParts,
        date_of_birth: p.dateOfBirth,
        postcode: p.postcode,
        address_line1: p.addressLine1,
        nhs_number_token: p.nhsNumberToken,
        upn_token: p.upnToken,
      }),
    );
    await writeParquet(secure, keys.secure(AS_AT, 'person-records.parquet'), [...IDENTIFYING_PERSON_COLUMNS], people);
    // a quarantined row naming someone in no person record (its token and surname-and-dob keys too)
    await secure.put(
      keys.quarantine(AS_AT, 'health', 'people', 'dt=2026-03-31.jsonl'),
      `${JSON.stringify({ line: 7, row: { forename: 'Philippa', surname: 'Nettlebed', date_of_birth: '01/02/2011', postcode: 'M3 4ZZ' } })}\n`,
    );
    const wholeKey = 'whole/identifier-index.parquet';
    await putIndexTable(await loadIdentifierIndex(secure, AS_AT), secure, wholeKey, dir);
    const rowsOf = async (key: string) => {
      const db = await openScratchDuckDb('256MB', dir);
      try {
        const path = await secure.localPath(key);
        return (await db.conn.runAndReadAll(`SELECT m, k, v FROM read_parquet('${path}') ORDER BY m, k`))
          .getRows()
          .map(([m, k, v]) => [m, k, v === null ? null : JSON.parse(String(v))]);
      } finally {
        await db.dispose();
      }
    };
    const want = await rowsOf(wholeKey);
    expect(want).toContainEqual([
      'whole',
      'MARGOT WARDROBE',
      { kind: 'full_name', recordIds: [first.recordId, 'health:people:H1', 'health:people:H7'] },
    ]);
    expect(want.filter(([m]) => m === 'token').length).toBeGreaterThan(20);
    expect(want.filter(([m]) => m === 'surnameDob').length).toBeGreaterThan(20);
    const wantFilter = await secure.get(filterKeyOf(wholeKey));
    // 84 person records and a quarantined row: one part (written as an index in memory, also when the people fill it
    // exactly), two (the last person alone), 3, 7, and one person a part
    for (const [peoplePerPart, parts] of [
      [1000, 1],
      [85, 1],
      [84, 2],
      [30, 3],
      [13, 7],
      [1, 85],
    ] as const) {
      const key = `parts-${parts}/identifier-index.parquet`;
      const out = await putIndexTableInParts(secure, AS_AT, key, dir, { peoplePerPart });
      expect(out.parts).toBe(parts);
      expect(await rowsOf(key), `${parts} parts`).toEqual(want);
      expect((await secure.get(filterKeyOf(key))).equals(wantFilter), `${parts} parts: filter`).toBe(true);
    }
    // and the parts' table, looked up, finds a leak of every kind as the whole index does
    const lookup = await IdentifierLookup.open(await secure.localPath('parts-7/identifier-index.parquet'), 'x', dir, {
      filter: KeyFilter.fromBytes(await secure.get(filterKeyOf('parts-7/identifier-index.parquet')), 'x.filter'),
    });
    try {
      const whole = await loadIdentifierIndex(secure, AS_AT);
      const all = units();
      const hits = all.map((u) => check(whole, u));
      for (const k of IDENTIFIER_KINDS) expect(new Set(hits.flat().map((h) => h.kind)), k).toContain(k);
      expect(await lookup.prepare(all, check)).toEqual(hits);
      expect(lookup.ix.counts).toEqual(whole.counts);
      expect(lookup.ix.records).toBe(whole.records);
      expect(lookup.ix.quarantinedRows).toBe(1);
    } finally {
      await lookup.close();
    }
  });
});
