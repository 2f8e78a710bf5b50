/**
 * familyComponents (matching/families/build.ts): buildFamilies over any union of the person graph's components,
 * given the whole population's address clusters, gives exactly the families the whole population gives for those
 * persons: the families stage's shards (pipelines/stages/families.ts) rely on it.
 */
import { describe, expect, it } from 'vitest';
import {
  buildFamilies,
  familyComponents,
  parseFamiliesConfig,
  rawAddressKey,
  type Family,
  type FamilyPerson,
  type FamilyRelationship,
} from '../../../matching/families/index.ts';

const AS_AT = '2026-06-30';
const cfg = parseFamiliesConfig({});
const CHILD = '2018-04-01';
const ADULT = '1985-02-03';

let rec = 0;
function person(id: string, dob: string | null, ...addrs: string[]): FamilyPerson {
  return {
    personId: id,
    dateOfBirth: dob,
    addresses: addrs.map((a) => {
      rec += 1;
      const [postcode, line] = a.split('|') as [string, string];
      return {
        recordId: `health:people:R${String(rec).padStart(3, '0')}`,
        extractDate: '2026-06-01',
        postcode: postcode || null,
        addressLine1: line || null,
      };
    }),
  };
}
function rel(
  from: string,
  to: string,
  relationship: FamilyRelationship['relationship'],
  groupRef: string | null = null,
): FamilyRelationship {
  rec += 1;
  return {
    relationshipId: `social_care:relationships:X${String(rec).padStart(3, '0')}`,
    source: 'social_care',
    feed: 'relationships',
    recordRef: `X${rec}`,
    fromPersonId: from,
    toPersonId: to,
    relationship,
    groupRef,
    startDate: null,
    endDate: null,
  };
}

const persons: FamilyPerson[] = [
  person('P01', CHILD, 'M14 5RB|1 HIGH ST'),
  person('P02', ADULT, 'M14 5RB|1 HIGH ST'),
  person('P03', CHILD, 'M20 2AB|1 HIGH ST'), // the same first line elsewhere: a blank postcode there is ambiguous
  person('P04', CHILD, '|1 HIGH ST'), // ambiguous: no address (with P01 alone in a shard it would join P01)
  person('P05', CHILD, 'M8 0AA|3 BIRCH RD'),
  person('P06', ADULT, 'M8 0AB|3 BIRCH RD'), // a postcode typo: the same address as P05's
  person('P07', ADULT, 'M9 1ZZ|7 OAK WAY', 'M9 1ZZ|7 OAK WAY', 'M14 5RB|1 HIGH ST'), // a stale address at P01's
  person('P08', ADULT, 'M3 3CC|9 ELM ST'), // P03's father, living apart: also_in
  person('P09', CHILD, 'M4 4DD|2 ASH CT'),
  person('P10', CHILD, 'M5 5EE|8 YEW LN'),
  person('P11', ADULT, 'M5 5EE|8 YEW LN'),
  person('P12', ADULT, 'M6 6FF|4 FIR PL'),
  person('P13', CHILD, 'M6 6FF|'), // a blank first line at a postcode with one address: P12's
  person('P14', ADULT, 'M7 7GG|6 PINE RD'),
];
const relationships: FamilyRelationship[] = [
  rel('P08', 'P03', 'father'),
  rel('P11', 'P10', 'mother', 'G1'),
  rel('P14', 'P09', 'carer', 'G1'), // the same grouping: P09's and P10's components are one
  rel('P02', 'P01', 'mother'),
];

const norm = (fs: Family[]) => JSON.stringify([...fs].sort((a, b) => (a.familyId < b.familyId ? -1 : 1)));

/** The persons of the given components, their relationships and the whole population's clusters for their keys. */
function slice(componentOf: Int32Array, people: FamilyPerson[], take: (c: number) => boolean) {
  const mine = people.filter((_, i) => take(componentOf[i]!));
  const ids = new Set(mine.map((p) => p.personId));
  const canonical = familyComponents(persons, relationships, AS_AT, cfg).canonical;
  const clusters = new Map<string, string>();
  for (const p of mine)
    for (const a of p.addresses) {
      const raw = rawAddressKey(a);
      const c = raw === null ? undefined : canonical.get(raw);
      if (c !== undefined) clusters.set(raw!, c);
    }
  return { mine, rels: relationships.filter((r) => ids.has(r.fromPersonId)), clusters };
}

describe('familyComponents', () => {
  const whole = buildFamilies(persons, relationships, AS_AT, cfg);
  const comps = familyComponents(persons, relationships, AS_AT, cfg);

  it('joins persons by address cluster (typos, stale addresses), relationship and grouping, numbered by smallest person', () => {
    const c = (id: string) => comps.componentOf[comps.people.findIndex((p) => p.personId === id)]!;
    expect(c('P02')).toBe(c('P01'));
    expect(c('P07')).toBe(c('P01')); // the stale address
    expect(c('P08')).toBe(c('P03')); // the relationship across households
    expect(c('P06')).toBe(c('P05')); // the typo
    expect(c('P09')).toBe(c('P10')); // the grouping
    expect(c('P14')).toBe(c('P10'));
    expect(c('P13')).toBe(c('P12')); // the blank first line
    expect(c('P04')).not.toBe(c('P01'));
    expect(c('P04')).not.toBe(c('P03'));
    expect(c('P01')).toBe(0);
    expect(comps.sizes.reduce((a, b) => a + b, 0)).toBe(persons.length);
    expect(comps.withAnchor).toBe(comps.sizes.length); // every component here holds a child
  });

  it('any union of components, with the whole population clusters, gives exactly its families and counts', () => {
    for (const shards of [2, 3, comps.sizes.length]) {
      const families: Family[] = [];
      const counts: Record<string, number> = {};
      for (let s = 0; s < shards; s++) {
        const { mine, rels, clusters } = slice(comps.componentOf, comps.people, (c) => c % shards === s);
        const part = buildFamilies(mine, rels, AS_AT, cfg, clusters);
        families.push(...part.families);
        for (const [k, v] of Object.entries(part.counts)) counts[k] = (counts[k] ?? 0) + v;
      }
      expect(norm(families), `${shards} shards`).toBe(norm(whole.families));
      expect(counts).toEqual(whole.counts);
    }
    expect(whole.families.some((f) => f.members.some((m) => m.membership === 'also_in'))).toBe(true);
  });

  it('without the whole population clusters a shard would place an ambiguous address: the clusters are needed', () => {
    const c = (id: string) => comps.componentOf[comps.people.findIndex((p) => p.personId === id)]!;
    const take = (k: number) => k === c('P01') || k === c('P04');
    const { mine, rels, clusters } = slice(comps.componentOf, comps.people, take);
    const own = buildFamilies(mine, rels, AS_AT, cfg); // its own clusters: P04's blank postcode is P01's address
    const given = buildFamilies(mine, rels, AS_AT, cfg, clusters);
    const familyWith = (fs: Family[], id: string) =>
      fs.find((f) => f.members.some((m) => m.personId === id && m.membership === 'primary'))!.familyId;
    expect(familyWith(own.families, 'P04')).toBe(familyWith(own.families, 'P01'));
    expect(familyWith(given.families, 'P04')).not.toBe(familyWith(given.families, 'P01'));
    expect(norm(given.families)).toBe(
      norm(whole.families.filter((f) => f.members.some((m) => ['P01', 'P04'].includes(m.personId)))),
    );
  });
});
