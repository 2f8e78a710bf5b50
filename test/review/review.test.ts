import { afterAll, describe, expect, it } from 'vitest';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { buildMatchAuditReport } from '../../pipelines/reports/match-audit/build.ts';
import { allocate, exportReviewSample } from '../../pipelines/review/export.ts';
import { estimateFromDecisions, strataFor, wilson } from '../../pipelines/review/estimate.ts';
import { importDecisions } from '../../pipelines/review/import.ts';
import { csvRows } from '../../pipelines/privacy/extract.ts';
import { AS_AT, THRESHOLD, buildAuditFixture, removeAuditFixtures } from '../reports/match-audit-fixture.ts';

afterAll(removeAuditFixtures);

describe('review: estimates', () => {
  it('Wilson intervals match published values', () => {
    const a = wilson(0.5, 100);
    expect(a.lower).toBeCloseTo(0.4038, 4);
    expect(a.upper).toBeCloseTo(0.5962, 4);
    const b = wilson(1, 10);
    expect(b.upper).toBe(1);
    expect(b.lower).toBeCloseTo(0.7225, 4);
  });

  it('weights strata by their populations', () => {
    const strata = strataFor(0);
    const pop = Object.fromEntries(strata.map((s) => [s.id, 0]));
    pop.N3 = 100; // not linked, [-2, 0)
    pop.L4 = 900; // linked, [0, 2)
    const decisions = [
      ...Array.from({ length: 10 }, (_, i) => ({
        stratum: 'N3',
        decision: (i < 5 ? 'match' : 'non-match') as 'match' | 'non-match',
      })),
      ...Array.from({ length: 10 }, (_, i) => ({
        stratum: 'L4',
        decision: (i < 9 ? 'match' : 'non-match') as 'match' | 'non-match',
      })),
      { stratum: 'L4', decision: 'unsure' as const },
    ];
    const e = estimateFromDecisions(0, strata, pop, { N3: 10, L4: 11 }, decisions);
    expect(e.precision!.estimate).toBeCloseTo(0.9, 12);
    // recall = 900*0.9 / (900*0.9 + 100*0.5)
    expect(e.recall!.estimate).toBeCloseTo(810 / 860, 12);
    expect(e.decisions).toEqual({ total: 21, match: 14, nonMatch: 6, unsure: 1 });
    expect(e.precision!.lower).toBeLessThan(0.9);
    expect(e.precision!.upper).toBeGreaterThan(0.9);
    expect(e.population).toEqual({ pairs: 1000, linked: 900, notLinked: 100 });
  });

  it("an unreviewed stratum widens the intervals; the point estimate takes its side's pooled rate", () => {
    const strata = strataFor(0);
    const pop = Object.fromEntries(strata.map((s) => [s.id, 0]));
    Object.assign(pop, { L7: 900, L5: 100, N0: 5000 });
    const allMatch = Array.from({ length: 10 }, () => ({ stratum: 'L7', decision: 'match' as const }));
    const noMatch = Array.from({ length: 10 }, () => ({ stratum: 'N0', decision: 'non-match' as const }));
    const e = estimateFromDecisions(0, strata, pop, { L7: 10, N0: 10 }, [...allMatch, ...noMatch]);
    expect(e.precision!.estimate).toBe(1);
    expect(e.recall!.estimate).toBe(1);
    expect(e.unreviewedPairs).toBe(100);
    // L5 may hold no match at all: precision could be as low as 900 * p7 / 1000
    expect(e.precision!.lower).toBeLessThan(0.9);
    expect(e.precision!.upper).toBe(1);
    const reviewed = estimateFromDecisions(0, strata, pop, { L7: 10, L5: 1, N0: 10 }, [
      ...allMatch,
      { stratum: 'L5', decision: 'match' },
      ...noMatch,
    ]);
    expect(reviewed.precision!.lower).toBeGreaterThan(e.precision!.lower);
    // with no linked pair reviewed there is no precision to give
    expect(estimateFromDecisions(0, strata, pop, {}, noMatch).precision).toBeNull();
  });

  it('allocates the sample over strata, capped by what each holds', () => {
    expect(allocate(10, [0, 2, 100, 100])).toEqual([0, 1, 5, 4]);
    expect(allocate(2, [5, 50, 500])).toEqual([0, 1, 1]);
    expect(allocate(30, [1, 1000, 2000])).toEqual([1, 10, 19]);
    expect(allocate(3, [1, 1, 1, 1])).toEqual([1, 1, 1, 0]);
    expect(allocate(7, [1, 1, 1, 1])).toEqual([1, 1, 1, 1]);
    expect(allocate(50, [3, 0, 4])).toEqual([3, 0, 4]);
  });
});

describe('review: export and import against a run', () => {
  it('exports a seeded stratified sample only to the secure zone, side by side', async () => {
    const fx = await buildAuditFixture();
    const before = {
      outputs: (await fx.stores.outputs.list('')).map((o) => o.key),
      curated: (await fx.stores.curated.list('')).map((o) => o.key),
    };
    const { sample, keys } = await exportReviewSample(fx.stores, { asAt: AS_AT, size: 40, seed: 5 });
    expect(sample.pairs).toHaveLength(40);
    expect(sample.threshold).toBe(THRESHOLD);
    expect(new Set(sample.pairs.map((p) => p.stratum)).size).toBeGreaterThan(3);
    expect(sample.strata.reduce((s, x) => s + x.population, 0)).toBe(
      (await readParquet(fx.stores.curated, `pairs/as_at=${AS_AT}/part-00000.parquet`)).length,
    );
    for (const k of Object.values(keys)) expect(await fx.stores.secure.exists(k)).toBe(true);
    expect((await fx.stores.outputs.list('')).map((o) => o.key)).toEqual(before.outputs);
    expect((await fx.stores.curated.list('')).map((o) => o.key)).toEqual(before.curated);
    const csv = (await fx.stores.secure.get(keys.csv)).toString();
    const parsed = [...csvRows(csv)];
    const header = parsed[0]![1];
    const first = parsed[1]![1];
    expect(header).toEqual(
      expect.arrayContaining(['pair_id', 'forename_l', 'forename_r', 'date_of_birth_l', 'date_of_birth_r', 'decision']),
    );
    expect(first![header!.indexOf('forename_l')]).toMatch(/^[A-Z]+$/);
    const page = (await fx.stores.secure.get(keys.html)).toString();
    expect(page).toContain('Clerical review: are these the same person?');
    expect(page).toContain('OFFICIAL-SENSITIVE');
    // Same seed, same sample.
    const again = await exportReviewSample(fx.stores, { asAt: AS_AT, size: 40, seed: 5 });
    expect((await fx.stores.secure.get(again.keys.csv)).toString()).toBe(csv);
    // Where the match stage explained a sampled pair, the reviewer page shows how it was scored.
    const p = sample.pairs[0]!;
    await fx.stores.secure.put(
      `as_at=${AS_AT}/match/review-sample.json`,
      JSON.stringify({
        pairs: [
          {
            idL: p.recordIdR,
            idR: p.recordIdL,
            priorWeight: -10,
            matchWeight: p.matchWeight,
            comparisons: [{ comparison: 'surname', level: 'exact', weight: 8, tfAdjustment: -1 }],
          },
        ],
      }),
    );
    await exportReviewSample(fx.stores, { asAt: AS_AT, size: 40, seed: 5 });
    const withWhy = (await fx.stores.secure.get(keys.html)).toString();
    expect(withWhy.match(/<figcaption[^>]*>How the model scored/g)).toHaveLength(1);
    expect(withWhy).toContain(`How the model scored ${p.pairId}`);
  });

  it('imports decisions: estimates cover the truth, labels are written, the audit report shows them', async () => {
    const fx = await buildAuditFixture();
    const { keys } = await exportReviewSample(fx.stores, { asAt: AS_AT, size: 120, seed: 9 });
    const persons = new Map(
      (await readParquet(fx.stores.curated, `persons/as_at=${AS_AT}/part-00000.parquet`)).map((r) => [
        r.record_id as string,
        r.person_id as string,
      ]),
    );
    // The fixture's truth: two records are the same person when they share a person id.
    const rows = [...csvRows((await fx.stores.secure.get(keys.csv)).toString())];
    const header = rows[0]![1];
    const at = (f: string) => header.indexOf(f);
    const filled = [
      header.join(','),
      ...rows.slice(1).map(([, f], i) => {
        const same = persons.get(f[at('record_id_l')]!) === persons.get(f[at('record_id_r')]!);
        const out = [...f];
        out[at('decision')] = i === 3 ? 'unsure' : same ? 'match' : 'Non-match';
        return out.map((v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(',');
      }),
    ].join('\n');
    const res = await importDecisions(fx.stores.secure, AS_AT, filled, 'decisions.csv');
    expect(res.decisions).toHaveLength(120);
    expect(res.estimate.decisions.unsure).toBe(1);
    // the fixture's truth is its persons: every linked pair matches, every pair apart does not
    expect(res.estimate.precision!.estimate).toBe(1);
    expect(res.estimate.recall!.estimate).toBe(1);
    expect(res.estimate.precision!.lower).toBeLessThan(1);
    const labels = (await fx.stores.secure.get(res.keys.labelledPairs)).toString().trim().split('\n');
    expect(labels[0]).toBe('unique_id_l,unique_id_r,clerical_match_score');
    expect(labels).toHaveLength(1 + 119);
    const { report } = await buildMatchAuditReport(fx.ctx);
    expect(report.review?.precision?.estimate).toBe(res.estimate.precision!.estimate);
    const html = (await fx.stores.outputs.get(`as_at=${AS_AT}/match-audit/report.html`)).toString();
    expect(html).toContain('Review results by stratum (linked in this run or not, by match-weight band)');
  });

  it('refuses bad decisions, listing every problem by line and field, and writes nothing', async () => {
    const fx = await buildAuditFixture();
    const { sample } = await exportReviewSample(fx.stores, { asAt: AS_AT, size: 10, seed: 1 });
    const [p1, p2] = sample.pairs;
    const text = `pair_id,decision\n${p1!.pairId},match\n${p2!.pairId},probably\nR9999,match\n${p1!.pairId},non-match\n`;
    await expect(importDecisions(fx.stores.secure, AS_AT, text, 'd.csv')).rejects.toThrow(
      /d\.csv: 3 problems, nothing imported:\n {2}line 3, field decision: "probably" is not one of match, non-match, unsure\n {2}line 4, field pair_id: "R9999" is not a pair of the exported sample for 2026-03-31\n {2}line 5, field pair_id: R\d+ already decided on line 2/,
    );
    expect(await fx.stores.secure.exists(`as_at=${AS_AT}/review/estimate.json`)).toBe(false);
    await expect(importDecisions(fx.stores.secure, AS_AT, 'id,verdict\nx,y\n', 'e.csv')).rejects.toThrow(
      /e\.csv: line 1: the header needs columns pair_id and decision/,
    );
  });
});
