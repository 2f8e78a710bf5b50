/**
 * Clustering by connected component: persons never span two components of the graph of links (accepted pairs)
 * joined with the age-order pairs (a parent's record and a child's, whose clusters' birth days the age-order guard
 * reads). So the records can be cut into parts, each a union of whole components, clustered apart (a link shard
 * each) and put back together: the same clusters, accepted links and refused merges, in the same order, as one
 * clustering of all the records (clusterRecords). What is not per component, and how it is kept exact:
 * - the strongest-first order of the links: each part takes the whole's order restricted to its links;
 * - refused merges: reported in the order of the whole, by their RefusalTag (position in that order; held
 *   ambiguous records by identifier, then record index);
 * - cannot-link pairs: one spanning two parts can never be inside one cluster of a part, so each part keeps its own;
 * - age-order pairs: the guard reads the other record's cluster, so they are edges of the components (a pair
 *   spanning two parts is an error);
 * - the size distribution: summed over the parts.
 * Components at the lowest threshold clustering is asked at hold the components at every higher one (fewer links),
 * so one cut serves the run's clustering and every threshold-sensitivity re-clustering.
 */
import {
  clusterRecords,
  clusterRecordsTagged,
  strongestFirst,
  type ClusterLinks,
  type ClusterOptions,
  type Clustering,
  type RefusalTag,
  type RefusedMerge,
} from './clustering.ts';
import { UnionFind } from './union-find.ts';

/** Record pairs (two record index columns), e.g. the links at the lowest threshold, or the age-order pairs. */
export interface RecordEdges {
  count: number;
  l: ArrayLike<number>;
  r: ArrayLike<number>;
}

/** Per record its connected component over the edges: the smallest record index in it. */
export function linkComponents(n: number, edges: readonly RecordEdges[]): Int32Array {
  const uf = new UnionFind(n);
  for (const e of edges) for (let k = 0; k < e.count; k++) uf.union(e.l[k]!, e.r[k]!);
  const component = new Int32Array(n);
  const smallest = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const root = uf.find(i);
    if (smallest[root] === -1) smallest[root] = i;
    component[i] = smallest[root]!;
  }
  return component;
}

/** Component sizes, largest first: [component, records]. */
export function componentSizes(component: Int32Array): Array<[number, number]> {
  const size = new Map<number, number>();
  for (let i = 0; i < component.length; i++) size.set(component[i]!, (size.get(component[i]!) ?? 0) + 1);
  return [...size.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

/**
 * Whole components packed into `parts` parts of about equal records (largest component first, each to the part
 * with fewest records so far; ties to the lower part): per record its part. Deterministic.
 */
export function packComponents(component: Int32Array, parts: number): Int32Array {
  if (!Number.isInteger(parts) || parts < 1)
    throw new Error(`packComponents: parts must be a positive integer, got ${parts}`);
  const load = new Float64Array(parts);
  const partOfComponent = new Map<number, number>();
  for (const [c, records] of componentSizes(component)) {
    let best = 0;
    for (let p = 1; p < parts; p++) if (load[p]! < load[best]!) best = p;
    load[best]! += records;
    partOfComponent.set(c, best);
  }
  return Int32Array.from(component, (c) => partOfComponent.get(c)!);
}

/**
 * clusterRecords(n, links, opts, order) computed part by part (partOf: per record its part, each part a union of
 * whole components of the links and age-order pairs): the same Clustering, byte for byte once written.
 */
export function clusterByParts(
  n: number,
  links: ClusterLinks,
  opts: ClusterOptions,
  order: Int32Array,
  partOf: Int32Array,
  parts: number,
): Clustering {
  const { records, local } = recordsOfParts(n, partOf, parts);
  const linksOf = linksOfParts(links, partOf, parts);
  const positionsOf = orderOfParts(order, links, partOf, linksOf.localLink, parts);
  const cannotOf = pairsOfParts(opts.cannotLink ?? [], partOf, local, parts, null);
  const ageOf = pairsOfParts(opts.ageOrder?.pairs ?? [], partOf, local, parts, 'age-order');
  const cluster = new Int32Array(n);
  const accepted = new Uint8Array(links.count);
  const refused: Array<{ merge: RefusedMerge; tag: RefusalTag }> = [];
  const sizes = new Map<number, number>();
  for (let p = 0; p < parts; p++) {
    const rec = records[p]!;
    const idx = linksOf.links[p]!;
    const partLinks = linksOfPart(links, idx, local);
    const partOpts: ClusterOptions = {
      ...opts,
      strongIdentifiers: opts.strongIdentifiers.map((s) => ({
        column: s.column,
        codes: Int32Array.from(rec, (i) => s.codes[i]!),
      })),
      cannotLink: cannotOf[p]!,
      ...(opts.ageOrder
        ? {
            ageOrder: {
              ...opts.ageOrder,
              born: Float64Array.from(rec, (i) => opts.ageOrder!.born[i]!),
              pairs: ageOf[p]!,
            },
          }
        : {}),
    };
    const { order: partOrder, position } = positionsOf[p]!;
    const { clustering, tags } = clusterRecordsTagged(rec.length, partLinks, partOpts, partOrder);
    for (let k = 0; k < rec.length; k++) cluster[rec[k]!] = rec[clustering.cluster[k]!]!;
    for (let j = 0; j < idx.length; j++) accepted[idx[j]!] = clustering.accepted[j]!;
    clustering.refused.forEach((r, k) => {
      const t = tags[k]!;
      refused.push({
        merge: { ...r, recordL: rec[r.recordL]!, recordR: rec[r.recordR]! },
        // back into the whole's terms: its position in the whole's order, the held record's own index
        tag: t[0] === 0 ? [0, position[t[1]]!, 0, 0] : [1, t[1], rec[t[2]]!, t[3]],
      });
    });
    for (const [size, count] of Object.entries(clustering.sizeDistribution))
      sizes.set(Number(size), (sizes.get(Number(size)) ?? 0) + count);
  }
  refused.sort((x, y) => compareTags(x.tag, y.tag));
  const sizeDistribution: Record<string, number> = {};
  for (const size of [...sizes.keys()].sort((a, b) => a - b)) sizeDistribution[String(size)] = sizes.get(size)!;
  return { cluster, accepted, refused: refused.map((r) => r.merge), sizeDistribution };
}

function compareTags(x: RefusalTag, y: RefusalTag): number {
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || x[3] - y[3];
}

/** Per part its records in record order, and per record its index within its part. */
function recordsOfParts(n: number, partOf: Int32Array, parts: number): { records: Int32Array[]; local: Int32Array } {
  if (partOf.length !== n) throw new Error(`clusterByParts: ${partOf.length} parts given for ${n} records`);
  const counts = new Int32Array(parts);
  for (let i = 0; i < n; i++) {
    const p = partOf[i]!;
    if (p < 0 || p >= parts) throw new Error(`clusterByParts: record ${i} is in part ${p}, not one of ${parts}`);
    counts[p]!++;
  }
  const records = Array.from(counts, (c) => new Int32Array(c));
  const local = new Int32Array(n);
  const fill = new Int32Array(parts);
  for (let i = 0; i < n; i++) {
    const p = partOf[i]!;
    local[i] = fill[p]!;
    records[p]![fill[p]!++] = i;
  }
  return { records, local };
}

/** Per part the indexes of its links, ascending (a link's two records must be in one part), and each link's local index. */
function linksOfParts(
  links: ClusterLinks,
  partOf: Int32Array,
  parts: number,
): { links: number[][]; localLink: Int32Array } {
  const out: number[][] = Array.from({ length: parts }, () => []);
  const localLink = new Int32Array(links.count);
  for (let i = 0; i < links.count; i++) {
    const p = partOf[links.l[i]!]!;
    if (partOf[links.r[i]!] !== p)
      throw new Error(
        `clusterByParts: link ${i} joins records of parts ${p} and ${partOf[links.r[i]!]}: parts must hold whole components`,
      );
    localLink[i] = out[p]!.length;
    out[p]!.push(i);
  }
  return { links: out, localLink };
}

/** Per part the whole's order restricted to its links (as local link indexes), and each one's position in the whole's. */
function orderOfParts(
  order: Int32Array,
  links: ClusterLinks,
  partOf: Int32Array,
  localLink: Int32Array,
  parts: number,
): Array<{ order: Int32Array; position: Int32Array }> {
  const counts = new Int32Array(parts);
  for (let k = 0; k < order.length; k++) counts[partOf[links.l[order[k]!]!]!]!++;
  const out = Array.from(counts, (c) => ({ order: new Int32Array(c), position: new Int32Array(c) }));
  const fill = new Int32Array(parts);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const p = partOf[links.l[i]!]!;
    out[p]!.order[fill[p]!] = localLink[i]!;
    out[p]!.position[fill[p]!++] = k;
  }
  return out;
}

/**
 * Record pairs per part, in their given order, as local indexes. A pair spanning two parts is dropped when `spanning`
 * is null (cannot-link: never inside one cluster of a part), else an error naming the kind.
 */
function pairsOfParts(
  pairs: ReadonlyArray<readonly [number, number]>,
  partOf: Int32Array,
  local: Int32Array,
  parts: number,
  spanning: string | null,
): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = Array.from({ length: parts }, () => []);
  for (const [x, y] of pairs) {
    const p = partOf[x]!;
    if (partOf[y] !== p) {
      if (spanning === null) continue;
      throw new Error(
        `clusterByParts: the ${spanning} pair of records ${x} and ${y} spans parts ${p} and ${partOf[y]}: join such pairs into the components`,
      );
    }
    out[p]!.push([local[x]!, local[y]!]);
  }
  return out;
}

/** Links accepted and persons (clusters, singletons included) of one clustering. */
export interface ClusteringCounts {
  links: number;
  persons: number;
}

/**
 * What clusterRecords(n, links at t, opts, strongest first) accepts and how many persons it makes, at each threshold
 * weight t of `thresholds` (each at or above the lowest weight in `links`), without one clustering of all the
 * records per threshold: the records are cut into parts of whole components of `links` joined with the age-order
 * pairs (components at the lowest threshold hold those at every higher one), each part clustered at each threshold
 * on its own, and the counts summed (clusterByParts: the same clustering, part by part). A record in no link and no
 * age-order pair is a person of its own at every threshold and is not clustered. Only one part's arrays are alive at
 * a time, so the memory is that of the largest part, not of the records.
 *
 * `links`: the links (pairs not vetoed) at the lowest threshold, in the whole's link order (ascending pair index),
 * as linksAt gives them. The strongest-first order is the whole's restricted to a part: by weight, then by record
 * indexes, which a part's local indexes keep (they rise with the record indexes).
 */
export function countsByComponent(
  n: number,
  links: ClusterLinks,
  opts: ClusterOptions,
  thresholds: readonly number[],
  maxPartRecords = 50_000,
): ClusteringCounts[] {
  const age = opts.ageOrder?.pairs ?? [];
  const component = linkComponents(n, [links, { count: age.length, l: age.map((p) => p[0]), r: age.map((p) => p[1]) }]);
  const size = new Int32Array(n);
  for (let i = 0; i < n; i++) size[component[i]!]!++;
  // whole components packed into parts in the order of their smallest record, each part up to maxPartRecords
  // records (a larger component is a part of its own); a record alone in its component is in none (-1)
  const partOfComponent = new Int32Array(n).fill(-1);
  let parts = 0;
  let load = 0;
  for (let c = 0; c < n; c++) {
    if (component[c] !== c || size[c]! < 2) continue;
    if (parts === 0 || (load > 0 && load + size[c]! > maxPartRecords)) {
      parts++;
      load = 0;
    }
    partOfComponent[c] = parts - 1;
    load += size[c]!;
  }
  const partOf = Int32Array.from(component, (c) => partOfComponent[c]!);
  const singletons = partOf.reduce((s, p) => s + (p < 0 ? 1 : 0), 0);
  // per part its records (ascending), links (ascending link index), cannot-link and age-order pairs, as CSR
  const byPart = (count: number, partOfItem: (k: number) => number) => {
    const start = new Int32Array(parts + 1);
    for (let k = 0; k < count; k++) {
      const p = partOfItem(k);
      if (p >= 0) start[p + 1]!++;
    }
    for (let p = 0; p < parts; p++) start[p + 1]! += start[p]!;
    const items = new Int32Array(start[parts]!);
    const fill = start.slice(0, parts);
    for (let k = 0; k < count; k++) {
      const p = partOfItem(k);
      if (p >= 0) items[fill[p]!++] = k;
    }
    return { start, items };
  };
  const recordsOf = byPart(n, (i) => partOf[i]!);
  const linksOf = byPart(links.count, (k) => partOf[links.l[k]!]!);
  const cannot = opts.cannotLink ?? [];
  // a cannot-link pair spanning two parts (or with a record alone) can never be inside one cluster: dropped
  const cannotOf = byPart(cannot.length, (k) => {
    const p = partOf[cannot[k]![0]]!;
    return p === partOf[cannot[k]![1]] ? p : -1;
  });
  const ageOf = byPart(age.length, (k) => partOf[age[k]![0]]!);
  const local = new Int32Array(n);
  const totals = thresholds.map(() => ({ links: 0, persons: singletons }));
  for (let p = 0; p < parts; p++) {
    const rec = recordsOf.items.subarray(recordsOf.start[p]!, recordsOf.start[p + 1]!);
    for (let k = 0; k < rec.length; k++) local[rec[k]!] = k;
    const idx = linksOf.items.subarray(linksOf.start[p]!, linksOf.start[p + 1]!);
    const partLinks = linksOfPart(links, idx, local);
    const pairsOf = (all: ReadonlyArray<readonly [number, number]>, of: { start: Int32Array; items: Int32Array }) =>
      Array.from(of.items.subarray(of.start[p]!, of.start[p + 1]!), (k): [number, number] => [
        local[all[k]![0]]!,
        local[all[k]![1]]!,
      ]);
    const partOpts: ClusterOptions = {
      ...opts,
      listRefusals: false, // only counted
      strongIdentifiers: opts.strongIdentifiers.map((s) => ({
        column: s.column,
        codes: Int32Array.from(rec, (i) => s.codes[i]!),
      })),
      cannotLink: pairsOf(cannot, cannotOf),
      ...(opts.ageOrder
        ? {
            ageOrder: {
              ...opts.ageOrder,
              born: Float64Array.from(rec, (i) => opts.ageOrder!.born[i]!),
              pairs: pairsOf(age, ageOf),
            },
          }
        : {}),
    };
    // strongest first once; the links at a threshold are a prefix of that order
    const sorted = strongestFirst(partLinks);
    const position = new Int32Array(partLinks.count);
    thresholds.forEach((t, j) => {
      let count = 0;
      for (let k = 0; k < partLinks.count; k++) if (partLinks.weight[k]! >= t) position[k] = count++;
      const at = new Int32Array(count);
      for (let k = 0, m = 0; k < partLinks.count; k++) if (partLinks.weight[k]! >= t) at[m++] = k;
      const linksAt: ClusterLinks = {
        count,
        l: Int32Array.from(at, (k) => partLinks.l[k]!),
        r: Int32Array.from(at, (k) => partLinks.r[k]!),
        weight: Float64Array.from(at, (k) => partLinks.weight[k]!),
        probability: Float64Array.from(at, (k) => partLinks.probability[k]!),
      };
      const order = Int32Array.from(sorted.subarray(0, count), (k) => position[k]!);
      const { cluster, accepted } = clusterRecords(rec.length, linksAt, partOpts, order);
      let linked = 0;
      for (let k = 0; k < count; k++) linked += accepted[k]!;
      let persons = 0;
      for (let k = 0; k < rec.length; k++) if (cluster[k] === k) persons++;
      totals[j]!.links += linked;
      totals[j]!.persons += persons;
    });
  }
  return totals;
}

/** The links of one part (their indices `idx` into `links`), ends renumbered to the part's local record indices. */
function linksOfPart(links: ClusterLinks, idx: ArrayLike<number>, local: Int32Array): ClusterLinks {
  return {
    count: idx.length,
    l: Int32Array.from(idx, (i) => local[links.l[i]!]!),
    r: Int32Array.from(idx, (i) => local[links.r[i]!]!),
    weight: Float64Array.from(idx, (i) => links.weight[i]!),
    probability: Float64Array.from(idx, (i) => links.probability[i]!),
  };
}
