import { describe, expect, it } from 'vitest';
import {
  evaluateClusters,
  evaluatePairs,
  GroundTruth,
  metricsFromCounts,
  PairEvaluator,
  recordKey,
  thresholdCurve,
  type EvaluationLinkType,
  type TruthRecord,
} from '../../matching/evaluation.ts';

// Dedupe fixture: persons A (3 records), B (2), C (1) -> 3 + 1 + 0 = 4 true pairs.
const dedupeTruth: TruthRecord[] = [
  { id: 'a1', cluster: 'A' },
  { id: 'a2', cluster: 'A' },
  { id: 'a3', cluster: 'A' },
  { id: 'b1', cluster: 'B' },
  { id: 'b2', cluster: 'B' },
  { id: 'c1', cluster: 'C' },
];

// Link fixture: two files L and R that both number their records 1..3.
// A: L1, L2, R1; B: L3, R2; C: R3.
const linkTruth: TruthRecord[] = [
  { id: recordKey('L', '1'), cluster: 'A', dataset: 'L' },
  { id: recordKey('L', '2'), cluster: 'A', dataset: 'L' },
  { id: recordKey('R', '1'), cluster: 'A', dataset: 'R' },
  { id: recordKey('R', '2'), cluster: 'B', dataset: 'R' },
  { id: recordKey('L', '3'), cluster: 'B', dataset: 'L' },
  { id: recordKey('R', '3'), cluster: 'C', dataset: 'R' },
];
const L = (id: string) => recordKey('L', id);
const R = (id: string) => recordKey('R', id);

describe('ground truth pair counts', () => {
  it('counts C(n,2) per cluster for dedupe', () => {
    const truth = new GroundTruth(dedupeTruth, 'dedupe_only');
    expect(truth.truePairs).toBe(4);
    expect(truth.recordCount).toBe(6);
    expect(truth.clusterCount).toBe(3);
  });

  it('counts only cross-dataset pairs for link_only, all pairs for link_and_dedupe', () => {
    // A: 2 in L x 1 in R = 2; B: 1 x 1 = 1; C: 0.
    expect(new GroundTruth(linkTruth, 'link_only').truePairs).toBe(3);
    // A: C(3,2) = 3; B: 1.
    expect(new GroundTruth(linkTruth, 'link_and_dedupe').truePairs).toBe(4);
  });

  it('handles a big cluster without listing its pairs', () => {
    const records: TruthRecord[] = [];
    for (let i = 0; i < 20_000; i++) records.push({ id: `r${i}`, cluster: i < 10_000 ? 'big' : `s${i}` });
    const truth = new GroundTruth(records, 'dedupe_only');
    expect(truth.truePairs).toBe((10_000 * 9_999) / 2);
  });

  it('rejects bad truth with the record position and id', () => {
    expect(
      () =>
        new GroundTruth(
          [
            { id: 'x', cluster: 'A' },
            { id: 'x', cluster: 'B' },
          ],
          'dedupe_only',
        ),
    ).toThrow(/record 2: duplicate record id "x"/);
    expect(() => new GroundTruth([{ id: 'x', cluster: '' }], 'dedupe_only')).toThrow(
      /record 1 \(id "x"\): empty cluster/,
    );
    expect(() => new GroundTruth([{ id: 'x', cluster: 'A' }], 'link_only')).toThrow(/link_only needs a dataset/);
  });
});

describe('evaluatePairs', () => {
  it('scores hand-computed dedupe predictions, counting unpredicted true pairs as FN', () => {
    const truth = new GroundTruth(dedupeTruth, 'dedupe_only');
    const result = evaluatePairs(truth, [
      ['a1', 'a2'], // TP
      ['a2', 'a1'], // duplicate, counted once
      ['a3', 'b1'], // FP
      ['b2', 'b1'], // TP
    ]);
    expect(result).toMatchObject({
      truePositives: 2,
      falsePositives: 1,
      falseNegatives: 2,
      truePairs: 4,
      predictedPairs: 3,
    });
    expect(result.duplicatePairs).toBe(1);
    expect(result.precision).toBeCloseTo(2 / 3, 12);
    expect(result.recall).toBeCloseTo(1 / 2, 12);
    expect(result.f1).toBeCloseTo(4 / 7, 12);
  });

  it('counts a same-file pair as a false positive for link_only but a true positive for link_and_dedupe', () => {
    const predictions: [string, string][] = [
      [L('1'), R('1')], // TP in both
      [L('1'), L('2')], // same person, same file
      [L('3'), R('3')], // FP in both
    ];
    const linkOnly = evaluatePairs(new GroundTruth(linkTruth, 'link_only'), predictions);
    expect(linkOnly).toMatchObject({ truePositives: 1, falsePositives: 2, falseNegatives: 2, sameDatasetPairs: 1 });
    expect(linkOnly.f1).toBeCloseTo((2 * (1 / 3) * (1 / 3)) / (2 / 3), 12);
    const linkAndDedupe = evaluatePairs(new GroundTruth(linkTruth, 'link_and_dedupe'), predictions);
    expect(linkAndDedupe).toMatchObject({
      truePositives: 2,
      falsePositives: 1,
      falseNegatives: 2,
      sameDatasetPairs: 0,
    });
  });

  it('keeps records with the same id in different files apart', () => {
    const truth = new GroundTruth(linkTruth, 'link_only');
    // "1" in L and "1" in R are different records; pairing L1 with R1 is right, R2 with L3 too.
    const result = evaluatePairs(truth, [
      [L('1'), R('1')],
      [R('2'), L('3')],
      [L('2'), R('1')],
    ]);
    expect(result).toMatchObject({ truePositives: 3, falsePositives: 0, falseNegatives: 0 });
    expect(result.f1).toBe(1);
  });

  it('names the pair and the id it cannot place', () => {
    const truth = new GroundTruth(dedupeTruth, 'dedupe_only');
    expect(() =>
      evaluatePairs(truth, [
        ['a1', 'a2'],
        ['a1', 'zz'],
      ]),
    ).toThrow(/predicted pair 2: record id "zz" is not in the ground truth/);
    expect(() => evaluatePairs(truth, [['a1', 'a1']])).toThrow(/predicted pair 1: record "a1" is paired with itself/);
  });

  it('gives recall 0 and F1 0 when nothing is predicted', () => {
    const result = new PairEvaluator(new GroundTruth(dedupeTruth, 'dedupe_only')).result();
    expect(result).toMatchObject({
      truePositives: 0,
      falsePositives: 0,
      falseNegatives: 4,
      precision: 1,
      recall: 0,
      f1: 0,
    });
  });
});

describe('evaluateClusters', () => {
  it('scores a hand-computed dedupe clustering, with unassigned records as singletons', () => {
    const truth = new GroundTruth(dedupeTruth, 'dedupe_only');
    // X = {a1,a2,a3,b1}: 6 predicted pairs, 3 of them true; b2 alone; c1 not assigned.
    const result = evaluateClusters(truth, [
      ['a1', 'X'],
      ['a2', 'X'],
      ['a3', 'X'],
      ['b1', 'X'],
      ['b2', 'Y'],
    ]);
    expect(result).toMatchObject({ truePositives: 3, falsePositives: 3, falseNegatives: 1, predictedPairs: 6 });
    expect(result.predictedClusters).toBe(3);
    expect(result.unassignedRecords).toBe(1);
    expect(result.precision).toBeCloseTo(0.5, 12);
    expect(result.recall).toBeCloseTo(0.75, 12);
    expect(result.f1).toBeCloseTo(0.6, 12);
  });

  it('counts only cross-file pairs inside a predicted cluster for link_only', () => {
    const truth = new GroundTruth(linkTruth, 'link_only');
    // X = {L1, L2, R1, R2}: cross pairs (4*4 - (2*2 + 2*2)) / 2 = 4; true among them: L1-R1, L2-R1.
    const result = evaluateClusters(truth, [
      [L('1'), 'X'],
      [L('2'), 'X'],
      [R('1'), 'X'],
      [R('2'), 'X'],
      [L('3'), 'S1'],
      [R('3'), 'S2'],
    ]);
    expect(result).toMatchObject({ predictedPairs: 4, truePositives: 2, falsePositives: 2, falseNegatives: 1 });
    expect(result.f1).toBeCloseTo(4 / 7, 12);
  });

  it('rejects a record placed in two clusters and an unknown record', () => {
    const truth = new GroundTruth(dedupeTruth, 'dedupe_only');
    expect(() =>
      evaluateClusters(truth, [
        ['a1', 'X'],
        ['a1', 'Y'],
      ]),
    ).toThrow(/assignment 2: record id "a1" is assigned to two clusters/);
    expect(() => evaluateClusters(truth, [['nope', 'X']])).toThrow(
      /assignment 1: record id "nope" is not in the ground truth/,
    );
  });

  it('agrees with brute-force pair listing on random data for every link type', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const linkType of ['dedupe_only', 'link_only', 'link_and_dedupe'] as EvaluationLinkType[]) {
      const records: TruthRecord[] = [];
      const predictedLabel = new Map<string, string>();
      for (let i = 0; i < 300; i++) {
        const dataset = random() < 0.5 ? 'L' : 'R';
        const id = recordKey(dataset, String(i));
        records.push({ id, cluster: `t${Math.floor(random() * 60)}`, dataset });
        predictedLabel.set(id, `p${Math.floor(random() * 80)}`);
      }
      const truth = new GroundTruth(records, linkType);
      // Brute force: list every pair implied by the predicted clusters and every true pair.
      const pairs: [string, string][] = [];
      let truePairs = 0;
      for (let i = 0; i < records.length; i++) {
        for (let j = i + 1; j < records.length; j++) {
          const a = records[i] as TruthRecord;
          const b = records[j] as TruthRecord;
          const inScope = linkType !== 'link_only' || a.dataset !== b.dataset;
          if (!inScope) continue;
          if (a.cluster === b.cluster) truePairs += 1;
          if (predictedLabel.get(a.id) === predictedLabel.get(b.id)) pairs.push([a.id, b.id]);
        }
      }
      expect(truth.truePairs).toBe(truePairs);
      const fromClusters = evaluateClusters(truth, predictedLabel);
      const fromPairs = evaluatePairs(truth, pairs);
      expect(fromClusters.truePositives).toBe(fromPairs.truePositives);
      expect(fromClusters.falsePositives).toBe(fromPairs.falsePositives);
      expect(fromClusters.falseNegatives).toBe(fromPairs.falseNegatives);
      expect(fromClusters.f1).toBeCloseTo(fromPairs.f1, 12);
      expect(fromPairs.truePositives).toBeGreaterThan(0);
    }
  });
});

describe('thresholdCurve', () => {
  it('gives the metrics of predicting every pair at or above each distinct score', () => {
    const truth = new GroundTruth(dedupeTruth, 'dedupe_only');
    const curve = thresholdCurve(truth, [
      ['a1', 'a2', 0.99],
      ['a3', 'b1', 0.7],
      ['b1', 'b2', 0.7],
      ['a1', 'a3', 0.2],
      ['a3', 'a1', 0.1], // duplicate of the pair above: ignored
    ]);
    expect(curve.map((p) => p.threshold)).toEqual([0.99, 0.7, 0.2]);
    expect(curve.map((p) => [p.truePositives, p.falsePositives, p.falseNegatives])).toEqual([
      [1, 0, 3],
      [2, 1, 2],
      [3, 1, 1],
    ]);
    expect(curve[2]?.f1).toBeCloseTo(0.75, 12);
  });
});

describe('metricsFromCounts', () => {
  it('computes precision, recall and F1', () => {
    const m = metricsFromCounts({
      truePositives: 4992,
      falsePositives: 0,
      falseNegatives: 8,
      truePairs: 5000,
      predictedPairs: 4992,
    });
    expect(m.precision).toBe(1);
    expect(m.recall).toBeCloseTo(0.9984, 12);
    expect(m.f1).toBeCloseTo(0.9992, 4);
  });
});
