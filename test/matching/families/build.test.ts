import { describe, expect, it } from 'vitest';
import {
  buildFamilies,
  clusterAddresses,
  familyPairwise,
  parseFamiliesConfig,
  withinOneEdit,
  type FamilyPerson,
  type FamilyRelationship,
  type Family,
} from '../../../matching/families/index.ts';

const AS_AT = '2026-06-30';
const cfg = parseFamiliesConfig({});

let rec = 0;
function person(id: string, dob: string | null, addr: string | null, extra: Partial<FamilyPerson> = {}): FamilyPerson {
  rec += 1;
  const [postcode, line] = addr ? (addr.split('|') as [string, string]) : [null, null];
  return {
    personId: id,
    dateOfBirth: dob,
    addresses: addr
      ? [{ recordId: `health:people:R${rec}`, extractDate: '2026-06-01', postcode, addressLine1: line }]
      : [],
    ...extra,
  };
}
function rel(
  from: string,
  to: string,
  relationship: FamilyRelationship['relationship'],
  opts: Partial<FamilyRelationship> = {},
): FamilyRelationship {
  rec += 1;
  return {
    relationshipId: `social_care:relationships:X${rec}`,
    source: 'social_care',
    feed: 'relationships',
    recordRef: `X${rec}`,
    fromPersonId: from,
    toPersonId: to,
    relationship,
    groupRef: null,
    startDate: null,
    endDate: null,
    ...opts,
  };
}
const A = 'M14 5RB|12 ACACIA AVENUE';
const B = 'M8 0AA|3 BIRCH ROAD';
const H = 'M1 1AA|CITY NIGHT SHELTER';

function familyOf(families: Family[], personId: string): Family | undefined {
  return families.find((f) => f.members.some((m) => m.personId === personId && m.membership === 'primary'));
}
function membersOf(f: Family | undefined, membership: 'primary' | 'also_in' = 'primary'): string[] {
  return (f?.members ?? [])
    .filter((m) => m.membership === membership)
    .map((m) => m.personId)
    .sort();
}

describe('family units', () => {
  it('twins, their mother and her partner at one address make one family; the partner joins by living with the children', () => {
    const r = buildFamilies(
      [
        person('PMUM', '1990-01-01', A),
        person('PTW1', '2020-05-05', A),
        person('PTW2', '2020-05-05', A),
        person('PPARTNER', '1988-02-02', A),
      ],
      [rel('PMUM', 'PTW1', 'mother'), rel('PMUM', 'PTW2', 'mother')],
      AS_AT,
      cfg,
    );
    expect(r.families).toHaveLength(1);
    const f = r.families[0]!;
    expect(membersOf(f)).toEqual(['PMUM', 'PPARTNER', 'PTW1', 'PTW2']);
    const role = (id: string) => f.members.find((m) => m.personId === id)!.role;
    expect([role('PMUM'), role('PTW1'), role('PTW2'), role('PPARTNER')]).toEqual(['parent', 'child', 'child', 'adult']);
    // every membership carries evidence; the partner's is co-residence with the children
    for (const m of f.members) expect(m.evidence.length).toBeGreaterThan(0);
    const partnerEv = f.members.find((m) => m.personId === 'PPARTNER')!.evidence;
    expect(partnerEv).toEqual([expect.objectContaining({ kind: 'co_residence', withPersonIds: ['PTW1', 'PTW2'] })]);
    expect(f.members.find((m) => m.personId === 'PTW1')!.evidence).toContainEqual(
      expect.objectContaining({ kind: 'relationship', relationship: 'mother', source: 'social_care' }),
    );
    expect(f.familyId).toMatch(/^F[0-9a-f]{12}$/);
  });

  it('a blended family (step-parent, half-siblings with different parents) living together is one family', () => {
    const r = buildFamilies(
      [
        person('PMUM', '1985-01-01', A),
        person('PSTEP', '1983-01-01', A),
        person('PC1', '2012-01-01', A),
        person('PC2', '2018-01-01', A),
        person('PC3', '2022-01-01', A),
      ],
      [
        rel('PMUM', 'PC1', 'mother'),
        rel('PSTEP', 'PC1', 'step_parent'),
        rel('PSTEP', 'PC2', 'father'),
        rel('PMUM', 'PC3', 'mother'),
        rel('PSTEP', 'PC3', 'father'),
      ],
      AS_AT,
      cfg,
    );
    expect(r.families).toHaveLength(1);
    expect(membersOf(r.families[0])).toEqual(['PC1', 'PC2', 'PC3', 'PMUM', 'PSTEP']);
  });

  it("separated parents: the child lives with mum; dad (elsewhere, with a new family) is also_in, the child also_in dad's household: nobody is forced into one", () => {
    const r = buildFamilies(
      [
        person('PMUM', '1990-01-01', A),
        person('PKID', '2016-01-01', A),
        person('PDAD', '1989-01-01', B),
        person('PNEW', '1992-01-01', B),
        person('PBABY', '2025-10-01', B),
      ],
      [
        rel('PMUM', 'PKID', 'mother'),
        rel('PDAD', 'PKID', 'father'),
        rel('PNEW', 'PBABY', 'mother'),
        rel('PDAD', 'PBABY', 'father'),
      ],
      AS_AT,
      cfg,
    );
    expect(r.families).toHaveLength(2);
    const mumFam = familyOf(r.families, 'PKID')!;
    const dadFam = familyOf(r.families, 'PBABY')!;
    expect(membersOf(mumFam)).toEqual(['PKID', 'PMUM']);
    expect(membersOf(dadFam)).toEqual(['PBABY', 'PDAD', 'PNEW']);
    expect(membersOf(mumFam, 'also_in')).toEqual(['PDAD']);
    expect(membersOf(dadFam, 'also_in')).toEqual(['PKID']);
    const dadAlso = mumFam.members.find((m) => m.personId === 'PDAD')!;
    expect(dadAlso).toMatchObject({ role: 'parent', membership: 'also_in' });
    expect(dadAlso.evidence[0]).toMatchObject({
      kind: 'relationship',
      relationship: 'father',
      fromPersonId: 'PDAD',
      toPersonId: 'PKID',
    });
    expect(mumFam.flags).toContain('has_members_living_elsewhere');
  });

  it('a hostel never makes a family by co-residence; a mother and baby living there stay a family through their relationship', () => {
    const people = [
      person('PM1', '1999-01-01', H),
      person('PB1', '2026-02-01', H),
      person('PM2', '2001-01-01', H),
      person('PK2', '2024-03-01', H),
      person('PMAN', '1970-01-01', H),
    ];
    const r = buildFamilies(people, [rel('PM1', 'PB1', 'mother'), rel('PM2', 'PK2', 'mother')], AS_AT, cfg);
    expect(r.families.map((f) => membersOf(f))).toEqual(
      expect.arrayContaining([
        ['PB1', 'PM1'],
        ['PK2', 'PM2'],
      ]),
    );
    expect(r.families).toHaveLength(2);
    expect(familyOf(r.families, 'PMAN')).toBeUndefined();
    expect(r.families[0]!.flags).toContain('communal_address:keyword');
    expect(r.communalAddresses.keyword).toBe(1);
  });

  it('configured communal addresses and automatic detection (too many unrelated adults, or over the size cap)', () => {
    const HMO = 'M14 6AA|7 ELM STREET';
    const people = [
      person('PK', '2015-01-01', HMO),
      ...['A1', 'A2', 'A3', 'A4', 'A5'].map((a) => person(`P${a}`, '1980-01-01', HMO)),
    ];
    const auto = buildFamilies(people, [], AS_AT, cfg);
    expect(auto.communalAddresses.unrelatedAdults).toBe(1);
    expect(membersOf(familyOf(auto.families, 'PK'))).toEqual(['PK']); // the child is a family of one; no unrelated adult joins
    const listed = buildFamilies(
      [person('PK', '2015-01-01', A), person('PA', '1980-01-01', A)],
      [],
      AS_AT,
      parseFamiliesConfig({ communalAddresses: [{ postcode: 'M14 5RB', note: 'refuge' }] }),
    );
    expect(membersOf(familyOf(listed.families, 'PK'))).toEqual(['PK']);
    expect(listed.communalAddresses.configured).toBe(1);
    const big = buildFamilies(
      Array.from({ length: 14 }, (_, i) => person(`P${String(i).padStart(2, '0')}`, '2012-01-01', B)),
      [],
      AS_AT,
      cfg,
    );
    expect(big.communalAddresses.overCap).toBe(1);
    expect(big.families).toHaveLength(14);
  });

  it('adults alone (no child, no pregnancy) are no family; an expecting couple is one', () => {
    const r = buildFamilies([person('PX', '1980-01-01', A), person('PY', '1982-01-01', A)], [], AS_AT, cfg);
    expect(r.families).toHaveLength(0);
    expect(r.personsWithoutFamily).toBe(2);
    const e = buildFamilies(
      [person('PX', '1980-01-01', A), person('PY', '1982-01-01', A, { expectant: true })],
      [],
      AS_AT,
      cfg,
    );
    expect(e.families).toHaveLength(1);
    expect(e.families[0]!.members.find((m) => m.personId === 'PY')!.role).toBe('expectant_mother');
  });

  it('multi-generational: grandparent living with the family joins; a relationship ended before the as-at date is ignored', () => {
    const r = buildFamilies(
      [person('PG', '1955-01-01', A), person('PM', '1985-01-01', A), person('PC', '2015-01-01', A)],
      [rel('PG', 'PC', 'grandparent'), rel('PM', 'PC', 'mother')],
      AS_AT,
      cfg,
    );
    expect(r.families[0]!.members.find((m) => m.personId === 'PG')!.role).toBe('grandparent');
    const ended = buildFamilies(
      [person('PF', '1980-01-01', null), person('PC', '2015-01-01', A)],
      [rel('PF', 'PC', 'father', { endDate: '2026-01-01' })],
      AS_AT,
      cfg,
    );
    expect(membersOf(familyOf(ended.families, 'PC'))).toEqual(['PC']);
    const current = buildFamilies(
      [person('PF', '1980-01-01', null), person('PC', '2015-01-01', A)],
      [rel('PF', 'PC', 'father')],
      AS_AT,
      cfg,
    );
    expect(membersOf(familyOf(current.families, 'PC'))).toEqual(['PC', 'PF']); // no known address: the relationship decides
  });

  it('is deterministic whatever the input order', () => {
    const people = [person('PMUM', '1990-01-01', A), person('PKID', '2016-01-01', A), person('PDAD', '1989-01-01', B)];
    const rels = [rel('PMUM', 'PKID', 'mother'), rel('PDAD', 'PKID', 'father')];
    const a = buildFamilies(people, rels, AS_AT, cfg);
    const b = buildFamilies([...people].reverse(), [...rels].reverse(), AS_AT, cfg);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});

describe('address clusters', () => {
  it('a postcode typo, a blank postcode or a blank first line still find the household; an ambiguous partial address makes no co-residence', () => {
    const c = clusterAddresses([
      { postcode: 'M12 1GF', addressLine1: '109 KINGSWAY AVENUE' },
      { postcode: 'M12 1GF', addressLine1: '109 KINGSWAY AVENUE' },
      { postcode: 'M12 2GF', addressLine1: '109 KINGSWAY AVENUE' }, // typo
      { postcode: null, addressLine1: '109 KINGSWAY AVENUE' }, // blank postcode, one match
      { postcode: 'M12 1GF', addressLine1: null }, // blank line, one address known at the postcode
      { postcode: 'M1 1AA', addressLine1: '1 HIGH STREET' },
      { postcode: 'M9 9ZZ', addressLine1: '1 HIGH STREET' },
      { postcode: null, addressLine1: '1 HIGH STREET' }, // two candidates: ambiguous
    ]);
    expect(c.get('M12 2GF|109 KINGSWAY AVENUE')).toBe('M12 1GF|109 KINGSWAY AVENUE');
    expect(c.get('|109 KINGSWAY AVENUE')).toBe('M12 1GF|109 KINGSWAY AVENUE');
    expect(c.get('M12 1GF|')).toBe('M12 1GF|109 KINGSWAY AVENUE');
    expect(c.get('M1 1AA|1 HIGH STREET')).toBe('M1 1AA|1 HIGH STREET');
    expect(c.get('M9 9ZZ|1 HIGH STREET')).toBe('M9 9ZZ|1 HIGH STREET');
    expect(c.has('|1 HIGH STREET')).toBe(false);
    expect([
      withinOneEdit('M205XR', 'M025XR'),
      withinOneEdit('M121GF', 'M122GF'),
      withinOneEdit('M14', 'M145'),
      withinOneEdit('M121GF', 'M133GF'),
    ]).toEqual([true, true, true, false]);
  });

  it('a child whose only record has a blank postcode still joins the household', () => {
    const r = buildFamilies(
      [
        person('PM', '1990-01-01', A),
        person('PC', '2020-01-01', null, {
          addresses: [
            {
              recordId: 'health:people:X',
              extractDate: '2026-06-01',
              postcode: null,
              addressLine1: '12 ACACIA AVENUE',
            },
          ],
        }),
      ],
      [],
      AS_AT,
      cfg,
    );
    expect(r.families.map((f) => membersOf(f))).toEqual([['PC', 'PM']]);
  });
});

describe('current address', () => {
  it('a stale address one source still holds makes no co-residence with whoever lives there now', () => {
    const movedMum: FamilyPerson = {
      personId: 'PMUM',
      dateOfBirth: '1990-01-01',
      addresses: [
        { recordId: 'health:people:1', extractDate: '2026-06-01', postcode: 'M8 0AA', addressLine1: '3 BIRCH ROAD' },
        { recordId: 'schools:contacts:1', extractDate: '2026-06-01', postcode: 'M8 0AA', addressLine1: '3 BIRCH ROAD' },
        {
          recordId: 'police:people:1',
          extractDate: '2026-06-01',
          postcode: 'M14 5RB',
          addressLine1: '12 ACACIA AVENUE',
        }, // stale
      ],
    };
    const r = buildFamilies(
      [
        movedMum,
        person('PKID', '2016-01-01', B),
        person('PNEWCHILD', '2019-01-01', A),
        person('PNEWDAD', '1985-01-01', A),
      ],
      [],
      AS_AT,
      cfg,
    );
    expect(r.families.map((f) => membersOf(f)).sort()).toEqual([
      ['PKID', 'PMUM'],
      ['PNEWCHILD', 'PNEWDAD'],
    ]);
  });

  it('families do not depend on the order persons and relationships come in; a person given twice is the last one given', () => {
    const people = [
      person('PMUM', '1990-01-01', A),
      person('PKID1', '2015-03-03', A),
      person('PKID2', '2018-04-04', A),
      person('PDAD', '1987-01-01', B),
      person('PGRAN', '1960-01-01', B),
      person('PLONE', '2012-01-01', 'M8 0AB|3 BIRCH ROAD'),
      person('PNOADDR', '2019-09-09', null),
    ];
    const rels = [
      rel('PMUM', 'PKID1', 'mother'),
      rel('PDAD', 'PKID1', 'father'),
      rel('PGRAN', 'PKID2', 'grandparent'),
      rel('PKID1', 'PKID2', 'sibling'),
      rel('PMUM', 'PNOADDR', 'mother'),
    ];
    const sorted = buildFamilies(people, rels, AS_AT, cfg);
    expect(sorted.families.length).toBeGreaterThan(1);
    expect(sorted.counts.also_in_memberships).toBeGreaterThan(0);
    const reversed = buildFamilies([...people].reverse(), [...rels].reverse(), AS_AT, cfg);
    expect(JSON.stringify(reversed)).toEqual(JSON.stringify(sorted));
    // PDAD given again (later) with no date of birth and at A: that record of him is the one used
    const again = buildFamilies(
      [
        ...people,
        {
          ...people[3]!,
          dateOfBirth: null,
          addresses: [{ ...people[0]!.addresses[0]!, recordId: 'health:people:DAD2' }],
        },
      ],
      rels,
      AS_AT,
      cfg,
    );
    const dad = again.families
      .flatMap((f) => f.members)
      .find((m) => m.personId === 'PDAD' && m.membership === 'primary')!;
    expect([dad.ageBand, familyOf(again.families, 'PDAD')?.familyId]).toEqual([
      'unknown',
      familyOf(again.families, 'PMUM')?.familyId,
    ]);
    expect(again.counts.persons).toBe(people.length);
  });
});

describe('pairwise family accuracy', () => {
  it('counts pairs through the contingency table', () => {
    const truth = new Map([
      ['a', 'T1'],
      ['b', 'T1'],
      ['c', 'T1'],
      ['d', 'T2'],
    ]);
    const pred = new Map([
      ['a', 'F1'],
      ['b', 'F1'],
      ['c', 'F2'],
      ['d', 'F2'],
    ]);
    const m = familyPairwise(pred, truth);
    expect(m).toMatchObject({ truePositives: 1, falsePositives: 1, falseNegatives: 2 });
    expect(m.f1).toBeCloseTo((2 * 0.5 * (1 / 3)) / (0.5 + 1 / 3));
  });
});
