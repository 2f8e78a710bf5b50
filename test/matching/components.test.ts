/**
 * Clustering by connected component (matching/components.ts), the ground of a link phase sharded by component: on a
 * generated partnership (generate -> validate -> standardise -> the engine), the records cut into 1, 3 and 7 parts of
 * whole components (at the lowest threshold-sensitivity weight, with the age-order pairs) cluster to exactly what one
 * clustering of all the records gives, at the run's threshold and every sensitivity offset: clusters, accepted links,
 * refused merges (reasons, weights, sizes, in the same order) and the size distribution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import {
  clusterByParts,
  componentSizes,
  countsByComponent,
  linkComponents,
  packComponents,
} from '../../matching/components.ts';
import { clusterRecords } from '../../matching/clustering.ts';
import { linkRecords, thresholdSensitivity, type LinkResult } from '../../matching/engine.ts';
import { matchSettings, readConstraints, readPersonColumns } from '../../pipelines/stages/match.ts';
import { SENSITIVITY_OFFSETS } from '../../pipelines/stages/match-config.ts';
import { standardiseStage } from '../../pipelines/stages/standardise.ts';
import { discoverFeeds, validateStage } from '../../pipelines/stages/validate.ts';
import { testTree, type TestTree } from '../stages/validate-support.ts';

const AS_AT = '2026-06-30';
let tree: TestTree;
let res: LinkResult;

beforeAll(async () => {
  tree = await testTree();
  generate({
    families: 400,
    seed: 'match-components',
    asAt: AS_AT,
    extracts: 2,
    every: 'month',
    out: tree.root,
    force: true,
  });
  const ctx = tree.ctx(AS_AT);
  for (const f of await discoverFeeds(ctx)) await validateStage(ctx, f);
  await standardiseStage(ctx);
  const columns = await readPersonColumns(ctx);
  res = await linkRecords([{ name: 'person-records', columns }], matchSettings(ctx), await readConstraints(ctx));
}, 180_000);
afterAll(async () => {
  await tree?.dispose();
});

function snapshot(c: ReturnType<LinkResult['clusterAt']>) {
  return {
    cluster: Buffer.from(c.cluster.buffer, c.cluster.byteOffset, c.cluster.byteLength).toString('base64'),
    accepted: Buffer.from(c.accepted).toString('base64'),
    refused: JSON.stringify(c.refused),
    sizeDistribution: JSON.stringify(c.sizeDistribution),
  };
}

describe('clustering by connected component', () => {
  it('gives the same clustering as the whole, in 1, 3 or 7 parts, at the threshold and every sensitivity offset', () => {
    const n = res.table.n;
    const lowest = res.thresholdWeight + Math.min(...SENSITIVITY_OFFSETS);
    const age = res.clusterOptions.ageOrder?.pairs ?? [];
    expect(age.length, 'the generated partnership has parent-child pairs').toBeGreaterThan(0);
    const component = linkComponents(n, [
      res.linksAt(lowest).links,
      { count: age.length, l: age.map((p) => p[0]), r: age.map((p) => p[1]) },
    ]);
    // the components at the run's threshold: finer (at 100k the graph percolates below it, docs/benchmarks.md), and
    // enough for the run's clustering and every offset above it
    const atThreshold = linkComponents(n, [
      res.linksAt(res.thresholdWeight).links,
      { count: age.length, l: age.map((p) => p[0]), r: age.map((p) => p[1]) },
    ]);
    expect(componentSizes(atThreshold).length).toBeGreaterThan(componentSizes(component).length);
    const sizes = componentSizes(component);
    expect(sizes.length).toBeGreaterThan(100);
    expect(sizes[0]![1]).toBeLessThan(n / 10);
    let refusedSeen = 0;
    const reasons = new Set<string>();
    for (const offset of SENSITIVITY_OFFSETS) {
      const t = res.thresholdWeight + offset;
      const whole = res.clusterAt(t);
      refusedSeen += whole.refused.length;
      for (const r of whole.refused) reasons.add(r.reason);
      const { links, order } = res.linksAt(t);
      for (const parts of [1, 3, 7]) {
        const partOf = packComponents(component, parts);
        const cut = clusterByParts(n, links, res.clusterOptions, order, partOf, parts);
        expect(snapshot(cut), `offset ${offset}, ${parts} parts`).toEqual(snapshot(whole));
        if (offset < 0) continue;
        const fine = packComponents(atThreshold, parts);
        const cutFine = clusterByParts(n, links, res.clusterOptions, order, fine, parts);
        expect(snapshot(cutFine), `offset ${offset}, ${parts} parts of components at the threshold`).toEqual(
          snapshot(whole),
        );
      }
    }
    // not vacuous: merges were refused for every reason, the held ambiguous links and the age order among them
    expect(refusedSeen).toBeGreaterThan(100);
    expect([...reasons].sort()).toEqual([
      'ambiguous',
      'different_strong_identifier',
      'implausible_age',
      'known_different_people',
      'single_weak_link',
    ]);
  });

  it('counts links and persons at each threshold by component exactly as one clustering of all the records', () => {
    const n = res.table.n;
    const whole = (t: number) => {
      const c = res.clusterAt(t);
      return { links: c.accepted.reduce((s, a) => s + a, 0), persons: new Set(c.cluster).size };
    };
    const offsets = [...SENSITIVITY_OFFSETS];
    const expected = offsets.map((o) => whole(res.thresholdWeight + o));
    // components at the lowest offset (one part of most records) and at the threshold (many small parts)
    for (const from of [Math.min(...offsets), 0]) {
      const { links } = res.linksAt(res.thresholdWeight + from);
      const at = offsets.filter((o) => o >= from);
      for (const maxPartRecords of [1, 40, 500, n]) {
        const got = countsByComponent(
          n,
          links,
          res.clusterOptions,
          at.map((o) => res.thresholdWeight + o),
          maxPartRecords,
        );
        expect(got, `components at offset ${from}, parts of up to ${maxPartRecords} records`).toEqual(
          expected.filter((_, k) => offsets[k]! >= from),
        );
      }
    }
    // each threshold clustered over the scored pairs in place, the links at it included (the sensitivity's offsets
    // below the threshold): the same clusters, accepted links and refused merges as a clustering of a copy of them
    const { weight, vetoed } = res.pairs;
    expect(
      vetoed.some((v) => v > 0),
      'some scored pairs are vetoed: left out as links',
    ).toBe(true);
    for (const offset of offsets) {
      const t = res.thresholdWeight + offset;
      const include = (i: number) => weight[i]! >= t && vetoed[i] === 0;
      const inPlace = clusterRecords(n, res.pairs, res.clusterOptions, res.strongestAt(t), include);
      const copy = res.clusterAt(t);
      expect(inPlace.cluster, `offset ${offset}`).toEqual(copy.cluster);
      expect(inPlace.refused, `offset ${offset}`).toEqual(copy.refused);
      expect(inPlace.sizeDistribution, `offset ${offset}`).toEqual(copy.sizeDistribution);
      // accepted: per scored pair in place, per link in the copy
      const links = res.linksAt(t).links;
      const acceptedPairs: number[] = [];
      for (let i = 0; i < res.pairs.count; i++) if (inPlace.accepted[i]) acceptedPairs.push(i);
      expect(acceptedPairs.every(include)).toBe(true);
      expect(acceptedPairs.map((i) => [res.pairs.l[i], res.pairs.r[i]])).toEqual(
        [...copy.accepted.keys()].filter((k) => copy.accepted[k]).map((k) => [links.l[k], links.r[k]]),
      );
    }
    // a clustering only counted lists no refused merge, and clusters and accepts exactly the same
    for (const offset of offsets) {
      const t = res.thresholdWeight + offset;
      const { links, order } = res.linksAt(t);
      const counted = clusterRecords(n, links, { ...res.clusterOptions, listRefusals: false }, order);
      const full = res.clusterAt(t);
      expect(full.refused.length).toBeGreaterThan(0);
      expect(counted.refused).toEqual([]);
      expect(Buffer.from(counted.cluster.buffer).equals(Buffer.from(full.cluster.buffer)), `offset ${offset}`).toBe(
        true,
      );
      expect(Buffer.from(counted.accepted).equals(Buffer.from(full.accepted)), `offset ${offset}`).toBe(true);
    }
    // the link phase's sensitivity rows are those counts; not vacuous: they differ between offsets
    const rows = thresholdSensitivity(res, offsets);
    expect(rows.map(({ links, persons }) => ({ links, persons }))).toEqual(expected);
    expect(new Set(expected.map((e) => e.persons)).size).toBeGreaterThan(5);
  });

  it('packs whole components into parts of about equal records, and refuses a cut through a component', () => {
    const n = res.table.n;
    const lowest = res.thresholdWeight + Math.min(...SENSITIVITY_OFFSETS);
    const { links, order } = res.linksAt(lowest);
    const component = linkComponents(n, [links]);
    const partOf = packComponents(component, 7);
    const load = new Array<number>(7).fill(0);
    for (let i = 0; i < n; i++) {
      load[partOf[i]!]!++;
      expect(partOf[i], `record ${i}`).toBe(partOf[component[i]!]);
    }
    expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(componentSizes(component)[0]![1]);
    // records by index, not by component: some link joins two parts
    const striped = Int32Array.from({ length: n }, (_, i) => i % 3);
    expect(() => clusterByParts(n, links, res.clusterOptions, order, striped, 3)).toThrow(
      /joins records of parts \d and \d: parts must hold whole components/,
    );
    expect(() => packComponents(component, 0)).toThrow(/parts must be a positive integer/);
  });
});
