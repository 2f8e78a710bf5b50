import { describe, expect, it } from 'vitest';
import { backTest, lift, verdictOf, wilson, type BackTestFamily } from '../../models/back-test.ts';

const fam = (i: number, tier: string | null, extra: Partial<BackTestFamily> = {}): BackTestFamily => ({
  familyId: `F${i}`,
  tier,
  openToStatutory: false,
  groups: { locality: i % 2 ? 'North' : 'South' },
  personIds: [`P${i}`],
  ...extra,
});

describe('back-test', () => {
  it('Wilson intervals and the Katz lift interval match worked values', () => {
    const w = wilson(10, 100);
    expect(w.rate).toBe(0.1);
    expect(w.low).toBeCloseTo(0.0552, 3);
    expect(w.high).toBeCloseTo(0.1744, 3);
    const l = lift(wilson(20, 100), wilson(10, 100));
    expect(l.value).toBeCloseTo(2, 6);
    expect(l.low).toBeCloseTo(0.9866, 3); // 2 / exp(1.96 * sqrt(1/20 - 1/100 + 1/10 - 1/100))
    expect(l.high).toBeCloseTo(4.0545, 3);
  });

  it('counts later statutory involvement per tier within the window, and judges the lift', () => {
    // 100 high-tier families, 30 of them open to CIN within 6 months; 400 not listed, 20 of them; 1 already statutory
    const fams = [
      ...Array.from({ length: 100 }, (_, i) => fam(i, 'high')),
      ...Array.from({ length: 400 }, (_, i) => fam(1000 + i, null)),
      fam(9999, 'high', { openToStatutory: true }),
    ];
    const starts = new Map<string, string[]>();
    for (let i = 0; i < 30; i++) starts.set(`P${i}`, ['2026-05-01']);
    for (let i = 0; i < 20; i++) starts.set(`P${1000 + i}`, ['2026-06-30']);
    starts.set('P40', ['2026-01-01']); // before the date: not "later"
    starts.set('P41', ['2026-10-01']); // after the 6-month window
    const r = backTest(fams, starts, '2026-03-31', 6, ['high', 'low']);
    expect(r.alreadyStatutory).toBe(1);
    expect(r.byTier[0]!.later).toMatchObject({ n: 100, k: 30 });
    expect(r.byTier[1]!.later).toMatchObject({ n: 0, k: 0, rate: null });
    expect(r.notListed).toMatchObject({ n: 400, k: 20 });
    expect(r.lift.value).toBeCloseTo(6, 6);
    expect(r.recall).toMatchObject({ n: 50, k: 30 });
    expect(r.betterThanChance).toBe(true);
    expect(verdictOf(r)).toContain('The rules do better than chance.');
    expect(r.breakdowns.locality!.map((b) => b.group)).toEqual(['North', 'South']);
    // each group's lift has its interval: North holds the odd-numbered families (15 of 50 high-tier later open; 10 of 200 not listed)
    const north = r.breakdowns.locality!.find((g) => g.group === 'North')!;
    expect(north.listed).toMatchObject({ n: 50, k: 15 });
    expect(north.notListed).toMatchObject({ n: 200, k: 10 });
    expect(north.lift.value).toBeCloseTo(6, 6);
    expect(north.lift.low!).toBeLessThan(6);
    expect(north.lift.high!).toBeGreaterThan(6);
    const twelve = backTest(fams, starts, '2026-03-31', 12, ['high']);
    expect(twelve.listed.k).toBe(31);
  });

  it('says plainly when the rules do no better than chance', () => {
    const fams = [
      ...Array.from({ length: 100 }, (_, i) => fam(i, 'low')),
      ...Array.from({ length: 100 }, (_, i) => fam(500 + i, null)),
    ];
    const starts = new Map<string, string[]>();
    for (let i = 0; i < 5; i++) starts.set(`P${i}`, ['2026-05-01']);
    for (let i = 0; i < 5; i++) starts.set(`P${500 + i}`, ['2026-05-01']);
    const r = backTest(fams, starts, '2026-03-31', 6, ['low']);
    expect(r.betterThanChance).toBe(false);
    expect(verdictOf(r)).toContain('The rules do no better than chance here');
  });

  it('child-level: one unit per child, broken down by sex and age band, and says plainly when no better than chance', () => {
    // 60 girls and 60 boys in listed families, 120 of each not listed; listed girls are later open 12 of 60, listed
    // boys 3 of 60, not listed 6 of 120 each: better than chance for girls, not for boys, and overall
    const child = (i: number, tier: string | null, sex: string): BackTestFamily =>
      fam(i, tier, { groups: { sex, 'age band': i % 3 ? 'aged 5-10' : 'aged 11-15' } });
    const kids = [
      ...Array.from({ length: 60 }, (_, i) => child(i, 'high', 'female')),
      ...Array.from({ length: 60 }, (_, i) => child(100 + i, 'high', 'male')),
      ...Array.from({ length: 120 }, (_, i) => child(1000 + i, null, 'female')),
      ...Array.from({ length: 120 }, (_, i) => child(2000 + i, null, 'male')),
    ];
    const starts = new Map<string, string[]>();
    for (const [from, k] of <Array<[number, number]>>[
      [0, 12],
      [100, 3],
      [1000, 6],
      [2000, 6],
    ])
      for (let i = 0; i < k; i++) starts.set(`P${from + i}`, ['2026-05-01']);
    const r = backTest(kids, starts, '2026-03-31', 6, ['high'], 'child');
    expect(r.unit).toBe('child');
    const bySex = Object.fromEntries(r.breakdowns.sex!.map((g) => [g.group, g]));
    expect(bySex.female!.listed).toMatchObject({ n: 60, k: 12 });
    expect(bySex.male!.listed).toMatchObject({ n: 60, k: 3 });
    expect(bySex.female!.lift.low!).toBeGreaterThan(1);
    expect(bySex.male!.lift.low!).toBeLessThan(1);
    expect(r.breakdowns['age band']!.map((g) => g.group)).toEqual(['aged 11-15', 'aged 5-10']);
    expect(r.listed).toMatchObject({ n: 120, k: 15 });
    expect(verdictOf(r)).toMatch(/^Of 120 children of listed families 12\.5% were open/);
    const none = backTest(
      kids.map((k) => ({ ...k, tier: Number(k.familyId.slice(1)) < 1000 ? 'high' : null })),
      new Map([...starts].filter(([p]) => Number(p.slice(1)) >= 1000 || Number(p.slice(1)) < 3)),
      '2026-03-31',
      6,
      ['high'],
      'child',
    );
    expect(none.betterThanChance).toBe(false);
    expect(verdictOf(none)).toContain('The rules do no better than chance here');
  });
});
