/**
 * The Start Well report does not depend on the order its inputs arrive in (a table read on more threads, a shard
 * merge, a rewritten Parquet file): the same facts, persons and families in any order give the same bytes. The cohort
 * has the cases where a choice is made: a mother with two bookings on one date, a baby with two birth facts, a
 * maternity row with two bookings.
 */
import { describe, expect, it } from 'vitest';
import { buildStartWellCohort, startWellTables, type CohortPerson } from '../../models/start-well.ts';
import { DEFAULT_DISCLOSURE } from '../../models/disclosure.ts';
import type { PersonFact } from '../../models/rules/engine.ts';
import { mulberry32 as rng } from '../../matching/random.ts';
import { startWellCsv, summaryOf } from '../../pipelines/reports/start-well/report.ts';

const AS_AT = '2026-06-30';
const LOCALITIES = ['Central', 'North', 'South'];

function shuffled<T>(xs: readonly T[], next: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');

function population(families: number) {
  const persons: CohortPerson[] = [];
  const familyMembers = new Map<string, Array<{ personId: string; isChild: boolean }>>();
  const facts: PersonFact[] = [];
  const personOfRecord = new Map<string, string>();
  let n = 0;
  const fact = (personId: string, type: PersonFact['type'], date: string, o: Partial<PersonFact>): PersonFact => {
    n += 1;
    return {
      factId: `f${String(n).padStart(6, '0')}`,
      type,
      source: 'health',
      feed: 'maternity',
      recordRef: `M${n}`,
      recordId: `health:people:${personId}`,
      personId,
      date,
      endDate: null,
      value: null,
      detail: {},
      ...o,
    };
  };
  for (let i = 0; i < families; i++) {
    const fam = `F${i}`;
    const locality = LOCALITIES[i % 3]!;
    const mum = `MUM${i}`;
    const baby = `BABY${i}`;
    const month = 1 + (i % 12);
    persons.push({ personId: mum, dateOfBirth: `${1988 + (i % 20)}-03-01`, familyId: fam, locality });
    persons.push({ personId: baby, dateOfBirth: `2025-${pad(month)}-10`, familyId: fam, locality });
    familyMembers.set(fam, [
      { personId: mum, isChild: false },
      { personId: baby, isChild: true },
    ]);
    personOfRecord.set(`health:people:${baby}`, baby);
    const row = `ROW${i}`;
    facts.push(fact(mum, 'maternity_booking', `2024-${pad(month)}-01`, { recordRef: row, value: 8 + (i % 10) }));
    // two birth facts for one baby: different weight and smoking
    for (const w of [2300, 3400])
      facts.push(
        fact(mum, 'birth', `2025-${pad(month)}-10`, {
          recordRef: row,
          value: w + (i % 7),
          detail: { smoking_at_delivery: w < 3000 ? 'Y' : 'N', baby_record_id: `health:people:${baby}` },
        }),
      );
    if (i % 2 === 0) {
      // a current pregnancy: two bookings on one date (different rows, due months and gestations)
      for (const [k, due] of ['2026-09-15', '2026-12-15'].entries())
        facts.push(
          fact(mum, 'maternity_booking', '2026-04-01', {
            recordRef: `P${i}-${k}`,
            value: k === 0 ? 10 : 20,
            detail: { estimated_delivery_date: due },
          }),
        );
    }
    if (i % 3 === 0)
      // a second booking on the birth's row, with another gestation
      facts.push(fact(mum, 'maternity_booking', `2024-${pad(month)}-01`, { recordRef: row, value: 20 }));
  }
  return { persons, familyMembers, facts, personOfRecord };
}

function publishedBytes(p: ReturnType<typeof population>): string {
  const cohort = buildStartWellCohort({
    asAt: AS_AT,
    persons: p.persons,
    familyMembers: p.familyMembers,
    facts: p.facts,
    personOfRecord: p.personOfRecord,
    knownToSocialCare: new Set(),
  });
  const tables = startWellTables(AS_AT, cohort, LOCALITIES, DEFAULT_DISCLOSURE);
  return `${startWellCsv(tables)}\n${JSON.stringify(summaryOf(tables, DEFAULT_DISCLOSURE))}`;
}

describe('Start Well: inputs in any order', () => {
  it('gives the same report CSV and summary for the facts, persons and families shuffled, and reversed', () => {
    const p = population(600);
    const want = publishedBytes(p);
    const orders = [
      { ...p, facts: [...p.facts].reverse(), persons: [...p.persons].reverse() },
      ...[1, 2, 3, 4, 5].map((seed) => {
        const next = rng(seed);
        return {
          ...p,
          facts: shuffled(p.facts, next),
          persons: shuffled(p.persons, next),
          familyMembers: new Map(shuffled([...p.familyMembers], next).map(([k, v]) => [k, shuffled(v, next)])),
        };
      }),
    ];
    for (const o of orders) expect(publishedBytes(o)).toBe(want);
  });
});
