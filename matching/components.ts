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
  clusterRecordsTagged,
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
    const partLinks: ClusterLinks = {
      count: idx.length,
      l: Int32Array.from(idx, (i) => local[links.l[i]!]!),
      r: Int32Array.from(idx, (i) => local[links.r[i]!]!),
      weight: Float64Array.from(idx, (i) => links.weight[i]!),
      probability: Float64Array.from(idx, (i) => links.probability[i]!),
    };
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
