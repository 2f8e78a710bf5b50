/**
 * The linkage engine, end to end and without I/O: encode -> block (count, refuse, shard) -> compare
 * -> train (u, prior, m) -> score -> threshold -> cluster. Callers bring the data (columns) and an
 * executor for the shards (in-process here; worker threads in matching/parallel.ts).
 */
import {
  countRulePairs,
  enumerateShard,
  layoutShards,
  blockingRefusal,
  MAX_RULES,
  ruleKeys,
  ruleName,
  type LinkType,
  type RuleCount,
  type ShardInput,
  type ShardPairs,
} from './blocking.ts';
import {
  clusterRecords,
  strongestFirst,
  type AgeOrder,
  type ClusterLinks,
  type ClusterOptions,
  type Clustering,
} from './clustering.ts';
import { countsByComponent, type ClusteringCounts } from './components.ts';
import {
  initialM,
  needsValues,
  normaliserFor,
  prepareComparison,
  type PrepareHooks,
  type PreparedComparison,
} from './comparisons.ts';
import { columnsUsed, ruleColumn, thresholdWeightOf, type LinkSettings } from './settings.ts';
import { buildTable, type EngineDataset, type LinkTable, type Normaliser } from './table.ts';
import {
  allPairsUCounts,
  estimateLambda,
  exactU,
  mergePatterns,
  mFromLabels,
  patternCounts,
  type Patterns,
  runEm,
  sampleUCounts,
  totalPairs,
  uFromCounts,
  type EmSession,
} from './training.ts';

/** Progress of long steps (structurally the pipelines' Progress port). */
export interface EngineProgress {
  start(label: string, total?: number): void;
  tick(units?: number): void;
  stop(): void;
}
const noProgress: EngineProgress = { start() {}, tick() {}, stop() {} };

/** Runs the blocking shards: in-process, on worker threads, or (in AWS) as a Distributed Map. */
export interface ShardExecutor {
  run(input: ShardInput, shardCount: number, onShardDone: (pairs: number) => void): Promise<ShardPairs[]>;
  /** u-sampling tasks: level counts per comparison over seeded random pairs. */
  sampleU(input: ShardInput, tasks: UTask[]): Promise<number[][][]>;
  close?(): Promise<void>;
}

export interface UTask {
  pairs: number;
  seed: number;
}

export function runUTask(input: ShardInput, t: UTask): number[][] {
  return sampleUCounts(
    input.comparisons,
    input.n,
    input.source,
    sourceCountOf(input.source),
    input.linkType,
    t.pairs,
    t.seed,
  );
}

function sourceCountOf(source: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < source.length; i++) if (source[i]! > max) max = source[i]!;
  return max + 1;
}

export const inProcessExecutor: ShardExecutor = {
  async run(input, shardCount, onShardDone) {
    const out: ShardPairs[] = [];
    for (let s = 0; s < shardCount; s++) {
      const res = enumerateShard(input, s, shardCount);
      onShardDone(res.count);
      out.push(res);
    }
    return out;
  },
  async sampleU(input, tasks) {
    return tasks.map((t) => runUTask(input, t));
  },
};

/**
 * An executor whose shards were computed elsewhere (a Distributed Map of Lambdas, worker threads of an earlier
 * task): `load` returns shard s of shardCount; u-sampling runs in-process.
 */
export function precomputedShards(load: (shard: number, shardCount: number) => Promise<ShardPairs>): ShardExecutor {
  return {
    async run(_input, shardCount, onShardDone) {
      const out: ShardPairs[] = [];
      for (let s = 0; s < shardCount; s++) {
        const res = await load(s, shardCount);
        onShardDone(res.count);
        out.push(res);
      }
      return out;
    },
    sampleU: inProcessExecutor.sampleU,
  };
}

export interface EngineOptions {
  executor?: ShardExecutor;
  progress?: EngineProgress;
  hooks?: PrepareHooks;
  /** Clerical labels (unique ids; with source_dataset names when linking) for m, when settings.labelledPairs is set. */
  labels?: Array<{ idL: string; idR: string; sourceL?: string; sourceR?: string; match: boolean }>;
  /** Pairs of unique ids (first input) known to be different people, e.g. from relationship feeds: never linked. */
  cannotLink?: Array<[string, string]>;
  /** Pairs of unique ids (first input): the first is a parent or carer of the second (settings.clustering.ageOrder). */
  olderThan?: Array<[string, string]>;
}

/** The `vetoed` code of a pair known to be two different people (cannotLink). */
export const KNOWN_DIFFERENT = 255;

export interface ScoredPairs {
  count: number;
  l: Int32Array;
  r: Int32Array;
  mask: Uint16Array;
  gamma: Uint8Array;
  /**
   * When set, `gamma` is empty and only these pairs' comparison levels are kept (pair index -> its levels): the link
   * phase by shard keeps them for the pairs nearest the threshold only, the review sample's (explainPair).
   */
  gammaOf?: Map<number, Uint8Array>;
  weight: Float64Array;
  probability: Float64Array;
  /** Index + 1 of the veto rule that blocks the pair (0 = none). */
  vetoed: Uint8Array;
}

/** A pair is accepted when its weight reaches the threshold and no veto rule holds. */
export function isAccepted(res: LinkResult, p: number): boolean {
  return res.pairs.weight[p]! >= res.thresholdWeight && res.pairs.vetoed[p] === 0;
}

export interface ModelLevel {
  label: string;
  m: number | null;
  /** With m from clerical labels: the m EM found, for comparison (null: the null level, or EM did not estimate it). */
  mEm?: number | null;
  u: number | null;
  weight: number;
}

export interface ModelComparison {
  name: string;
  column: string;
  type: string;
  termFrequency: boolean;
  mSource: 'em' | 'labels' | 'fixed' | 'default';
  uSource: 'random_sample' | 'fixed';
  levels: ModelLevel[];
}

export interface BlockingAnalysis {
  rules: Array<RuleCount & { newPairs: number; cumulativePairs: number }>;
  candidatePairs: number;
  totalPossiblePairs: number;
  reductionRatio: number;
  /** The blocking guard's limits the run was held to (settings.maxPairsPerRecord, maxBlockRecords, maxPairsPerRule). */
  limits: { maxPairsPerRecord: number; maxBlockRecords: number; maxPairsPerRule: number | null };
  shards: number;
}

/** The model as saved (model.json): parameters and counts only, no value from the data. */
export interface Model {
  version: 1;
  linkType: LinkType;
  records: number;
  sources: Array<{ name: string; records: number }>;
  prior: { probability: number; weight: number; source: 'settings' | 'deterministic_rules' | 'em' };
  threshold: { probability: number; weight: number };
  comparisons: ModelComparison[];
  u: { sampledPairs: number; exhaustive: boolean; seed: number };
  em: { sessions: EmSession[] };
  /** m from clerical labels (settings.labelledPairs): where from, and how many labelled matches are in the input. */
  labels: { labelledPairs: string; matches: number } | null;
  blocking: BlockingAnalysis;
  deterministicRules: { rules: string[]; pairs: number; recall: number };
  scoring: {
    pairsScored: number;
    pairsAtOrAboveThreshold: number;
    vetoes: Array<{ name: string; pairsAtOrAboveThreshold: number }>;
    knownDifferentPeople: { given: number; candidatePairs: number };
  };
  clustering: {
    clusters: number;
    sizeDistribution: Record<string, number>;
    refusedMerges: number;
    refusedByReason: Record<string, number>;
    strongIdentifiers: string[];
    singleLinkMinProbability: number;
  };
  timingsMs: Record<string, number>;
}

export interface LinkResult {
  table: LinkTable;
  comparisons: PreparedComparison[];
  pairs: ScoredPairs;
  /** Per comparison with TF: adjustment weight per distinct value (exact level only), else null. */
  tfAdjustment: Array<Float64Array | null>;
  levelWeights: number[][];
  priorWeight: number;
  thresholdWeight: number;
  clustering: Clustering;
  model: Model;
  /** The same clustering (same vetoes, known-different pairs, guards) at another threshold weight: for sensitivity. */
  clusterAt: (thresholdWeight: number) => Clustering;
  /** What clusterAt clusters at a threshold weight: the links (pairs at or above it, not vetoed) strongest first. */
  linksAt: (thresholdWeight: number) => ClusterInput;
  /** The pair indexes of the links at a threshold weight (pairs at or above it, not vetoed), strongest first. */
  strongestAt: (thresholdWeight: number) => Int32Array;
  /** The guards it clusters with (strong identifiers, known-different pairs, age order) over record indexes. */
  clusterOptions: ClusterOptions;
}

/** Links at a threshold (link k: the k-th pair at or above it and not vetoed) and their strongest-first order. */
export interface ClusterInput {
  links: ClusterLinks;
  order: Int32Array;
}

/**
 * Links accepted and persons at thresholds around the run's, each a full re-clustering (offset 0 is the run itself).
 * The offsets above 0 are clustered by connected component of the links at the run's threshold (countsByComponent:
 * the same counts, only one part's arrays alive at a time); those below it, where the links' graph percolates into
 * one component of most records (docs/benchmarks.md), are each one clustering of all the records, one at a time, over
 * the scored pairs in place (the links at the offset included, nothing copied).
 */
export function thresholdSensitivity(
  res: LinkResult,
  offsets: readonly number[],
): Array<{ offset: number; weight: number; probability: number; links: number; persons: number }> {
  const counts = new Map<number, ClusteringCounts>();
  const above = offsets.filter((o) => o > 0);
  if (above.length > 0) {
    const { links } = res.linksAt(res.thresholdWeight);
    const byComponent = countsByComponent(
      res.table.n,
      links,
      res.clusterOptions,
      above.map((o) => res.thresholdWeight + o),
    );
    above.forEach((o, k) => counts.set(o, byComponent[k]!));
  }
  const countsOf = (c: Clustering): ClusteringCounts => {
    let links = 0;
    for (const a of c.accepted) if (a) links++;
    let persons = 0;
    for (let i = 0; i < c.cluster.length; i++) if (c.cluster[i] === i) persons++;
    return { links, persons };
  };
  return offsets.map((offset) => {
    let c = counts.get(offset);
    if (!c) {
      if (offset === 0) c = countsOf(res.clustering);
      else {
        // one clustering of the scored pairs in place, those that are links at the offset (at or above it, not
        // vetoed) included: no copy of its links (the lowest offset's are most of the pairs the link phase holds);
        // only counted: no refused merge listed (millions at 300,000 families)
        const t = res.thresholdWeight + offset;
        const { weight, vetoed } = res.pairs;
        c = countsOf(
          clusterRecords(
            res.table.n,
            res.pairs,
            { ...res.clusterOptions, listRefusals: false },
            res.strongestAt(t),
            (i) => weight[i]! >= t && vetoed[i] === 0,
          ),
        );
      }
      counts.set(offset, c);
    }
    return {
      offset,
      weight: res.thresholdWeight + offset,
      probability: probabilityOf(res.thresholdWeight + offset),
      links: c.links,
      persons: c.persons,
    };
  });
}

/**
 * Known-different record pairs (cannot-link) as a look-up for the scoring loop: each pair filed under its smaller
 * record, so (a, b) is known different when a < b and b is among a's partners. Arrays, not a Set of a * n + b keys:
 * with n in the hundreds of thousands those keys are not small integers and every look-up hashes a double (the
 * scoring loop does one per candidate pair, tens of millions).
 */
export function knownDifferentIndex(
  pairs: ReadonlyArray<readonly [number, number]>,
  n: number,
): (a: number, b: number) => boolean {
  if (pairs.length === 0) return () => false;
  const start = new Int32Array(n + 1);
  for (const [x, y] of pairs) start[Math.min(x, y) + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const partner = new Int32Array(pairs.length);
  for (const [x, y] of pairs) partner[fill[Math.min(x, y)]!++] = Math.max(x, y);
  return (a, b) => {
    for (let k = start[a]!, end = start[a + 1]!; k < end; k++) if (partner[k] === b) return true;
    return false;
  };
}

/** Record index pairs of the labels saying "match" whose both records are in the input. */
function labelledMatchIndexes(table: LinkTable, labels: NonNullable<EngineOptions['labels']>): Array<[number, number]> {
  const idx = new Map<string, number>();
  for (let i = 0; i < table.n; i++) idx.set(`${table.sources[table.source[i]!]}\u0000${table.ids[i]}`, i);
  const find = (id: string, src?: string) => idx.get(`${src ?? table.sources[0]}\u0000${id}`);
  const matches: Array<[number, number]> = [];
  for (const lab of labels) {
    if (!lab.match) continue;
    const a = find(lab.idL, lab.sourceL);
    const b = find(lab.idR, lab.sourceR);
    if (a !== undefined && b !== undefined) matches.push([a, b]);
  }
  return matches;
}

export function probabilityOf(weight: number): number {
  return 1 / (1 + 2 ** -weight);
}

/** What linking needs before the shards run: the encoded table, prepared comparisons, blocking keys and counts. */
export interface PreparedLinkage {
  table: LinkTable;
  comparisons: PreparedComparison[];
  keys: Int32Array[];
  counts: RuleCount[];
  /** Candidate pairs summed over the blocking rules: an upper bound (a pair found by two rules counts twice). */
  upperBound: number;
  /** What each shard reads (value strings only for comparisons that need them). */
  shardInput: ShardInput;
  shardCount: number;
}

/**
 * The number of blocking-key shards: settings.shards, raised so that no shard is expected to hold more than
 * settings.pairsPerShard candidate pairs (when set). A function of the input and the settings only, so every
 * executor (in-process, worker threads, a Distributed Map of Lambdas) cuts the same shards.
 */
export function shardCountFor(settings: Pick<LinkSettings, 'shards' | 'pairsPerShard'>, upperBound: number): number {
  if (!settings.pairsPerShard) return settings.shards;
  return Math.max(settings.shards, Math.ceil(upperBound / settings.pairsPerShard));
}

/** Steps 1-2 of linking: encode the records, prepare the comparisons, key and count the blocking rules. */
export function prepareLinkage(
  datasets: EngineDataset[],
  settings: LinkSettings,
  hooks?: PrepareHooks,
): PreparedLinkage {
  const linkType = settings.linkType;
  if (linkType === 'dedupe_only' && datasets.length !== 1)
    throw new Error(`linkType dedupe_only takes one input; got ${datasets.length} (use link_only or link_and_dedupe)`);
  if (linkType !== 'dedupe_only' && datasets.length < 2)
    throw new Error(`linkType ${linkType} needs at least two inputs`);
  if (settings.comparisons.length > 13) throw new Error('at most 13 comparisons');
  if (settings.blockingRules.length > MAX_RULES) throw new Error(`at most ${MAX_RULES} blocking rules`);
  const { table, comparisons } = encodeRecords(datasets, settings, hooks);
  const keys = settings.blockingRules.map((r) => ruleKeys(table, r));
  const counts = settings.blockingRules.map((r, i) =>
    countRulePairs(keys[i]!, table.source, table.sources.length, linkType, ruleName(r)),
  );
  for (const c of counts) {
    const refusal = blockingRefusal('blocking', c, table.n, settings);
    if (refusal) throw new Error(refusal);
  }
  const upperBound = counts.reduce((s, c) => s + c.pairs, 0);
  const shardCount = shardCountFor(settings, upperBound);
  const shardInput: ShardInput = {
    n: table.n,
    source: table.source,
    linkType,
    ruleKeys: keys,
    comparisons: comparisons.map((c) => (needsValues(c) ? c : { ...c, values: [] })),
    layout: layoutShards(keys, shardCount),
  };
  return { table, comparisons, keys, counts, upperBound, shardInput, shardCount };
}

/** Step 1: the records as an encoded table, and each comparison prepared over its column. */
function encodeRecords(
  datasets: EngineDataset[],
  settings: LinkSettings,
  hooks?: PrepareHooks,
): { table: LinkTable; comparisons: PreparedComparison[] } {
  const normalisers = new Map<string, Normaliser>();
  for (const c of settings.comparisons) {
    const f = normaliserFor(c);
    if (f && !normalisers.has(c.column)) normalisers.set(c.column, f);
  }
  const table = buildTable(
    datasets,
    settings.uniqueIdColumn,
    columnsUsed(settings).filter((c) => c !== settings.uniqueIdColumn),
    normalisers,
  );
  const comparisons = settings.comparisons.map((c) =>
    prepareComparison(c, table.columns.get(c.column)!, hooks, c.swapWith ? table.columns.get(c.swapWith) : undefined),
  );
  for (const c of comparisons) if (c.levels.length > 15) throw new Error(`comparison ${c.name}: at most 14 levels`);
  for (const [i, c] of settings.comparisons.entries()) {
    const L = comparisons[i]!.levels.length - 1;
    if (c.m && c.m.length !== L)
      throw new Error(
        `comparison ${comparisons[i]!.name}: m has ${c.m.length} values, the comparison has ${L} non-null levels (${comparisons[
          i
        ]!.levels.slice(1)
          .map((l) => l.label)
          .join(', ')})`,
      );
    if (c.u && c.u.length !== L)
      throw new Error(
        `comparison ${comparisons[i]!.name}: u has ${c.u.length} values, the comparison has ${L} non-null levels`,
      );
  }
  return { table, comparisons };
}

export async function linkRecords(
  datasets: EngineDataset[],
  settings: LinkSettings,
  options: EngineOptions = {},
): Promise<LinkResult> {
  const t0 = performance.now();
  const c0 = process.cpuUsage().user;
  const prepared = prepareLinkage(datasets, settings, options.hooks);
  return linkPrepared(prepared, settings, options, {
    ms: performance.now() - t0,
    cpuMs: (process.cpuUsage().user - c0) / 1000,
  });
}

/**
 * The layout-free shard input of a prepared linkage whose table and comparisons were decoded (the link phase of
 * a fanned-out match): what u-sampling reads. Shards are not enumerated from it (their pairs come precomputed).
 */
export function shardInputOf(p: Omit<PreparedLinkage, 'shardInput'>, linkType: LinkSettings['linkType']): ShardInput {
  return {
    n: p.table.n,
    source: p.table.source,
    linkType,
    ruleKeys: p.keys,
    comparisons: p.comparisons.map((c) => (needsValues(c) ? c : { ...c, values: [] })),
  };
}

/**
 * Steps 3-8 of linking over records already encoded and blocked (prepareLinkage): the link phase of a fanned-out
 * match decodes the plan's prepared linkage instead of reading and encoding the records again.
 */
export async function linkPrepared(
  prepared: PreparedLinkage,
  settings: LinkSettings,
  options: EngineOptions = {},
  prepareTime = { ms: 0, cpuMs: 0 },
): Promise<LinkResult> {
  const progress = options.progress ?? noProgress;
  const executor = options.executor ?? inProcessExecutor;
  const clock = stepClock(prepareTime);
  // 1-2. encode, block (count, refuse), lay out the shards: done by the caller (prepareLinkage)
  // 3. compare, shard by shard
  const pairs = await comparePairs(prepared, executor, progress);
  clock.lap('compare');
  // 4-6. u, m, prior; 7. weights, TF, score
  const trained = await trainModel(prepared, settings, pairs, executor, options, clock);
  const scored = scorePairs(pairs, prepared.comparisons, { ...trained.scoring, progress });
  clock.lap('score');
  return clusterScored(prepared, settings, options, clock, trained, {
    pairs,
    scored,
    candidates: { count: pairs.count, newPairsByRule: newPairsByRule(prepared.counts.length, [pairs]) },
  });
}

/** Steps 4-6 (u, m, prior) and what step 7 scores with: trained from the pairs' EM pattern counts. */
export async function trainModel(
  prepared: PreparedLinkage,
  settings: LinkSettings,
  pairs: ComparedPairs,
  executor: ShardExecutor,
  options: EngineOptions,
  clock: ReturnType<typeof stepClock>,
) {
  const progress = options.progress ?? noProgress;
  const { table, comparisons } = prepared;
  const possible = totalPairs(table.n, table.source, table.sources.length, settings.linkType);
  // 4. u
  const uEst = await trainU(prepared, settings, executor, progress, possible);
  clock.lap('train_u');
  // 5. m: fixed, labels, or EM sessions
  const trained = trainM(prepared, settings, pairs, uEst.u, options.labels);
  clock.lap('train_m');
  // 6. prior
  const prior = priorOf(prepared, settings, trained, uEst.u, possible);
  // 7. weights, TF, vetoes
  const levelWeights = trained.m.map((lv, c) => lv.map((mv, l) => (l === 0 ? 0 : Math.log2(mv / uEst.u[c]![l]!))));
  const tfAdjustment = tfAdjustmentsOf(comparisons, uEst.u);
  const thresholdWeight = thresholdWeightOf(settings);
  const vetoes = vetoRulesOf(settings, comparisons);
  const cannot = cannotLinkIndexes(table, options.cannotLink);
  const scoring: ScoringModel = {
    priorWeight: prior.weight,
    levelWeights,
    tfAdjustment,
    thresholdWeight,
    vetoes,
    knownDifferent: knownDifferentIndex(cannot, table.n),
  };
  return { possible, uEst, trained, prior, cannot, scoring };
}

/** What step 7 scores a pair with (trainModel). */
export interface ScoringModel {
  priorWeight: number;
  levelWeights: number[][];
  tfAdjustment: Array<Float64Array | null>;
  thresholdWeight: number;
  /** Their counts of vetoed pairs at or above the threshold grow with each call of scorePairs. */
  vetoes: Veto[];
  knownDifferent: (a: number, b: number) => boolean;
}

/** Step 8 and the model: cluster the scored pairs (all of them, or every pair a clustering can use) at the threshold. */
export function clusterScored(
  prepared: PreparedLinkage | Omit<PreparedLinkage, 'shardInput'>,
  settings: LinkSettings,
  options: EngineOptions,
  clock: ReturnType<typeof stepClock>,
  { possible, uEst, trained, prior, cannot, scoring }: Awaited<ReturnType<typeof trainModel>>,
  x: { pairs: ComparedPairs; scored: Scored; candidates: { count: number; newPairsByRule: number[] } },
): LinkResult {
  const { table, comparisons } = prepared;
  const { pairs, scored } = x;
  const { thresholdWeight, levelWeights, tfAdjustment, vetoes } = scoring;
  const { clusterAt, linksAt, strongestAt, clusterOptions } = clustererOf(
    table,
    settings,
    options.olderThan,
    cannot,
    pairs,
    scored,
  );
  const clustering = clusterAt(thresholdWeight);
  clock.lap('cluster');
  const model = modelOf({
    prepared,
    settings,
    candidates: x.candidates,
    possible,
    uEst,
    trained,
    prior,
    levelWeights,
    thresholdWeight,
    vetoes,
    cannot,
    scored,
    clustering,
    timings: clock.timings,
  });
  return {
    table,
    comparisons,
    pairs: { ...pairs, weight: scored.weight, probability: scored.probability, vetoed: scored.vetoed },
    tfAdjustment,
    levelWeights,
    priorWeight: prior.weight,
    thresholdWeight,
    clustering,
    model,
    clusterAt,
    linksAt,
    strongestAt,
    clusterOptions,
  };
}

/** Per blocking rule, the pairs it found first (the lowest bit of each pair's mask), over the shards' pairs. */
export function newPairsByRule(rules: number, shards: ReadonlyArray<Pick<ShardPairs, 'count' | 'mask'>>): number[] {
  const out = new Array<number>(rules).fill(0);
  for (const s of shards)
    for (let p = 0; p < s.count; p++) {
      const m = s.mask[p]!;
      out[31 - Math.clz32(m & -m)]!++;
    }
  return out;
}

/** Wall and CPU milliseconds per step (model.timingsMs), the caller's prepare step first. */
export function stepClock(prepareTime: { ms: number; cpuMs: number }) {
  const timings: Record<string, number> = {
    prepare: Math.round(prepareTime.ms),
    prepare_cpu: Math.round(prepareTime.cpuMs),
  };
  let t0 = performance.now();
  let c0 = process.cpuUsage().user;
  return {
    timings,
    lap(name: string) {
      const t = performance.now();
      const c = process.cpuUsage().user;
      timings[name] = Math.round(t - t0);
      timings[`${name}_cpu`] = Math.round((c - c0) / 1000);
      t0 = t;
      c0 = c;
    },
  };
}

export type ComparedPairs = Omit<ScoredPairs, 'weight' | 'probability' | 'vetoed'> & {
  /** The EM pattern counts, summed from the shards' own (when every shard brought them: ShardPatterns). */
  patterns?: Patterns;
};

/**
 * A shard's pairs with their EM pattern counts (patternCounts over the shard's pairs, for the EM session rules):
 * a shard computed elsewhere brings them, so the link phase sums counts instead of counting every pair again.
 */
export type ShardPatterns = ShardPairs & { patterns?: Patterns & { sessionRules: number[] } };

/** The blocking rules EM runs a session on (settings.em.sessions, else every rule), checked. */
export function emSessionRules(settings: LinkSettings): number[] {
  const sessionRules = settings.em.sessions ?? settings.blockingRules.map((_, i) => i);
  for (const s of sessionRules)
    if (s >= settings.blockingRules.length) throw new Error(`em.sessions: no blocking rule ${s}`);
  return sessionRules;
}

/** A shard's EM pattern counts, for the link phase to sum (ShardPatterns). */
export function shardPatternsOf(pairs: ShardPairs, settings: LinkSettings): ShardPatterns['patterns'] {
  const sessionRules = emSessionRules(settings);
  const C = settings.comparisons.length;
  return { ...patternCounts(pairs.gamma, pairs.mask, pairs.count, C, sessionRules), sessionRules };
}

/** Step 3: every shard's pairs and comparison levels, in shard order. */
async function comparePairs(
  prepared: PreparedLinkage,
  executor: ShardExecutor,
  progress: EngineProgress,
): Promise<ComparedPairs> {
  progress.start('blocking and comparing pairs', prepared.upperBound);
  const shards = await executor.run(prepared.shardInput, prepared.shardCount, (n) => progress.tick(n));
  progress.stop();
  if (shards.length !== prepared.shardCount)
    throw new Error(`shard executor returned ${shards.length} shards, expected ${prepared.shardCount}`);
  const C = prepared.comparisons.length;
  const pairs: ComparedPairs = concatShards(shards, C);
  const parts = shards.map((s) => (s as ShardPatterns).patterns);
  if (parts.length > 0 && parts.every((p) => p !== undefined)) {
    const rules = JSON.stringify(parts[0]!.sessionRules);
    if (parts.every((p) => JSON.stringify(p!.sessionRules) === rules))
      pairs.patterns = Object.assign(mergePatterns(parts as Patterns[], C, parts[0]!.sessions), {
        sessionRules: parts[0]!.sessionRules,
      });
  }
  return pairs;
}

interface UEstimate {
  /** Per comparison, u per level (index 0: the null level). */
  u: number[][];
  sampledPairs: number;
  exhaustive: boolean;
}

/** Step 4: u per comparison level from random pairs (all pairs when few), the exact level's from value counts. */
async function trainU(
  { table, comparisons, shardInput }: PreparedLinkage,
  settings: LinkSettings,
  executor: ShardExecutor,
  progress: EngineProgress,
  possible: number,
): Promise<UEstimate> {
  const linkType = settings.linkType;
  const exhaustive = possible <= settings.uSamplePairs;
  let uCounts: number[][][];
  if (exhaustive) uCounts = [allPairsUCounts(comparisons, table.n, table.source, table.sources.length, linkType)];
  else {
    // a fixed split into seeded tasks: the same sample whatever the number of workers
    const parts = 8;
    const tasks = Array.from({ length: parts }, (_, i) => ({
      pairs: Math.ceil(settings.uSamplePairs / parts),
      seed: settings.seed * 1000 + i,
    }));
    progress.start('sampling random pairs for u', parts);
    uCounts = await executor.sampleU(shardInput, tasks);
    progress.stop();
  }
  const uSampled = uFromCounts(uCounts);
  if (!exhaustive) {
    // the exact level's u from value counts; the sampled other levels share the rest in their sampled proportions
    for (let c = 0; c < comparisons.length; c++) {
      const ue = Math.max(exactU(comparisons[c]!, table.source, table.sources.length, linkType), 1e-9);
      const us = uSampled[c]!;
      let rest = 0;
      for (let l = 2; l < us.length; l++) rest += us[l]!;
      const scale = rest > 0 ? (1 - ue) / rest : 0;
      us[1] = ue;
      for (let l = 2; l < us.length; l++) us[l] = Math.max(us[l]! * scale, 1e-9);
    }
  }
  const u = comparisons.map((_, i) => {
    const fixed = settings.comparisons[i]!.u;
    return fixed ? [0, ...fixed] : uSampled[i]!;
  });
  return { u, sampledPairs: exhaustive ? possible : Math.ceil(settings.uSamplePairs / 8) * 8, exhaustive };
}

interface TrainedM {
  m: number[][];
  mEm: Array<number[] | null>;
  mSource: ModelComparison['mSource'][];
  sessions: EmSession[];
  patterns: ReturnType<typeof patternCounts>;
  labelledMatches: number;
}

/** Step 5: m per comparison level: fixed in the settings, from clerical labels, else averaged over EM sessions. */
function trainM(
  { table, comparisons }: PreparedLinkage,
  settings: LinkSettings,
  pairs: ComparedPairs,
  u: number[][],
  labels: EngineOptions['labels'],
): TrainedM {
  const C = comparisons.length;
  const sessionRules = emSessionRules(settings);
  // the shards' own counts summed, when they brought them for these session rules (ShardPatterns)
  const brought = pairs.patterns as (Patterns & { sessionRules?: number[] }) | undefined;
  const patterns =
    brought && JSON.stringify(brought.sessionRules) === JSON.stringify(sessionRules)
      ? { gamma: brought.gamma, counts: brought.counts, size: brought.size, sessions: brought.sessions }
      : patternCounts(pairs.gamma, pairs.mask, pairs.count, C, sessionRules);
  const m = comparisons.map((c, i) => {
    const fixed = settings.comparisons[i]!.m;
    return fixed ? [0, ...fixed] : initialM(c.levels);
  });
  const mSource: ModelComparison['mSource'][] = settings.comparisons.map((c) => (c.m ? 'fixed' : 'default'));
  const sessions: EmSession[] = [];
  // EM always runs (with labels, its m is kept beside the labels' m in the model, for comparison)
  const sums = m.map((lv) => lv.map(() => 0));
  const n = m.map(() => 0);
  for (const [si, rule] of sessionRules.entries()) {
    const ruleCols = new Set(settings.blockingRules[rule]!.map(ruleColumn));
    const active = comparisons.map((c, i) => mSource[i] !== 'fixed' && !ruleCols.has(c.column));
    const mSession = m.map((lv) => [...lv]);
    const res = runEm(patterns, si, C, active, mSession, u, settings.em);
    sessions.push({
      rule: ruleName(settings.blockingRules[rule]!),
      pairs: res.pairs,
      fixedComparisons: comparisons.filter((_, i) => !active[i]).map((c) => c.name),
      iterations: res.iterations,
      converged: res.converged,
      lambda: res.lambda,
    });
    if (res.pairs === 0) continue;
    for (let c = 0; c < C; c++) {
      if (!active[c]) continue;
      n[c]!++;
      for (let l = 1; l < m[c]!.length; l++) sums[c]![l]! += mSession[c]![l]!;
    }
  }
  const mEm: Array<number[] | null> = m.map(() => null);
  for (let c = 0; c < C; c++) {
    if (n[c]! === 0) continue;
    m[c] = sums[c]!.map((s, l) => (l === 0 ? 0 : s / n[c]!));
    mEm[c] = m[c]!;
    mSource[c] = 'em';
  }
  const labelledMatches = settings.labelledPairs
    ? mFromLabelsInto(table, comparisons, settings, labels, m, mSource)
    : 0;
  return { m, mEm, mSource, sessions, patterns, labelledMatches };
}

/** m from clerical labels (settings.labelledPairs) over every comparison not fixed; returns the labelled matches used. */
function mFromLabelsInto(
  table: LinkTable,
  comparisons: PreparedComparison[],
  settings: LinkSettings,
  labels: EngineOptions['labels'],
  m: number[][],
  mSource: ModelComparison['mSource'][],
): number {
  const matches = labelledMatchIndexes(table, labels ?? []);
  if (matches.length === 0)
    throw new Error(`labelledPairs ${settings.labelledPairs}: no labelled match refers to records in the input`);
  const mLab = mFromLabels(comparisons, matches);
  for (let c = 0; c < comparisons.length; c++) {
    if (mSource[c] === 'fixed') continue;
    m[c] = mLab[c]!;
    mSource[c] = 'labels';
  }
  return matches.length;
}

/** Step 6: the prior match probability: set in the settings, from deterministic rules, else from EM's lambda. */
function priorOf(
  { table }: PreparedLinkage,
  settings: LinkSettings,
  trained: TrainedM,
  u: number[][],
  possible: number,
): Model['prior'] & { deterministicPairs: number } {
  const deterministicPairs = deterministicPairCount(table, settings);
  const of = (p: number, source: Model['prior']['source']) => ({
    probability: p,
    weight: Math.log2(p / (1 - p)),
    source,
    deterministicPairs,
  });
  if (settings.probabilityTwoRandomRecordsMatch !== undefined)
    return of(settings.probabilityTwoRandomRecordsMatch, 'settings');
  if (settings.deterministicRules.length > 0 && deterministicPairs > 0)
    return of(Math.min(0.99, deterministicPairs / settings.deterministicRecall / possible), 'deterministic_rules');
  const { patterns } = trained;
  const est = estimateLambda(patterns, patterns.sessions - 1, trained.m.length, trained.m, u);
  return of(Math.min(0.99, Math.max((est.lambda * est.pairs) / possible, 1e-12)), 'em');
}

/** The pairs the deterministic rules join (0 without such rules). */
function deterministicPairCount(table: LinkTable, settings: LinkSettings): number {
  if (settings.deterministicRules.length === 0) return 0;
  const linkType = settings.linkType;
  const detKeys = settings.deterministicRules.map((r) => ruleKeys(table, r));
  const detCounts = settings.deterministicRules.map((r, i) =>
    countRulePairs(detKeys[i]!, table.source, table.sources.length, linkType, ruleName(r)),
  );
  for (const c of detCounts) {
    const refusal = blockingRefusal('deterministic', c, table.n, settings);
    if (refusal) throw new Error(refusal);
  }
  return enumerateShard({ n: table.n, source: table.source, linkType, ruleKeys: detKeys, comparisons: [] }, 0, 1).count;
}

/** Per comparison with term frequencies: the exact level's adjustment weight per distinct value, else null. */
function tfAdjustmentsOf(comparisons: PreparedComparison[], u: number[][]): Array<Float64Array | null> {
  return comparisons.map((c, ci) => {
    if (!c.termFrequency) return null;
    const cnt = new Float64Array(c.values.length);
    let nonNull = 0;
    for (let i = 0; i < c.codes.length; i++) {
      const v = c.codes[i]!;
      if (v >= 0) {
        cnt[v]!++;
        nonNull++;
      }
    }
    const uExact = u[ci]![1]!;
    const adj = new Float64Array(c.values.length);
    for (let v = 0; v < adj.length; v++)
      adj[v] = Math.max(-10, Math.min(10, Math.log2(uExact / Math.max(cnt[v]! / nonNull, 1e-9))));
    return adj;
  });
}

/** A veto rule over comparison levels: it holds when every `conds` level set holds and no `unless` one does. */
export interface Veto {
  name: string;
  conds: Array<{ c: number; levels: Uint8Array }>;
  unless: Array<{ c: number; levels: Uint8Array }>;
  /** Pairs at or above the threshold it vetoed (counted while scoring). */
  count: number;
}

function vetoRulesOf(settings: LinkSettings, comparisons: PreparedComparison[]): Veto[] {
  const levelSets = (v: { name: string }, spec: Record<string, string[]>) =>
    Object.entries(spec).map(([name, lv]) => {
      const c = comparisons.findIndex((x) => x.name === name);
      if (c < 0)
        throw new Error(
          `vetoRules "${v.name}": no comparison named "${name}" (comparisons: ${comparisons.map((x) => x.name).join(', ')})`,
        );
      const levels = new Uint8Array(16);
      for (const want of lv) {
        const hits = comparisons[c]!.levels.map((l, i) => (l.kind === want || l.label === want ? i : -1)).filter(
          (i) => i >= 0,
        );
        if (hits.length === 0)
          throw new Error(
            `vetoRules "${v.name}": comparison "${name}" has no level "${want}" (levels: ${comparisons[c]!.levels.map((l) => l.label).join(', ')})`,
          );
        for (const h of hits) levels[h] = 1;
      }
      return { c, levels };
    });
  return settings.vetoRules.map((v) => ({
    name: v.name,
    conds: levelSets(v, v.when),
    unless: levelSets(v, v.unless ?? {}),
    count: 0,
  }));
}

/** Known-different unique id pairs (first input) as record index pairs; pairs naming a record not in the input dropped. */
function cannotLinkIndexes(table: LinkTable, cannotLink: EngineOptions['cannotLink']): Array<[number, number]> {
  const cannot: Array<[number, number]> = [];
  if (!cannotLink || cannotLink.length === 0) return cannot;
  const idx = new Map<string, number>();
  for (let i = 0; i < table.n; i++) if (table.source[i] === 0) idx.set(table.ids[i]!, i);
  for (const [x, y] of cannotLink) {
    const a = idx.get(x);
    const b = idx.get(y);
    if (a === undefined || b === undefined || a === b) continue;
    cannot.push([a, b]);
  }
  return cannot;
}

export interface Scored {
  weight: Float64Array;
  probability: Float64Array;
  vetoed: Uint8Array;
  above: number;
  knownDifferentPairs: number;
}

/** Step 7: each pair's match weight and probability, and the veto (or known-different) that blocks it. */
export function scorePairs(
  pairs: Pick<ComparedPairs, 'count' | 'l' | 'r' | 'gamma'>,
  comparisons: PreparedComparison[],
  s: ScoringModel & { progress: EngineProgress },
): Scored {
  const C = comparisons.length;
  const { vetoes, thresholdWeight, tfAdjustment, knownDifferent } = s;
  const vetoed = new Uint8Array(pairs.count);
  const weight = new Float64Array(pairs.count);
  const probability = new Float64Array(pairs.count);
  const flatW = s.levelWeights.map((lv) => Float64Array.from(lv));
  let above = 0;
  let knownDifferentPairs = 0;
  s.progress.start('scoring pairs', pairs.count);
  for (let p = 0; p < pairs.count; p++) {
    let w = s.priorWeight;
    const g = p * C;
    const a = pairs.l[p]!;
    for (let c = 0; c < C; c++) {
      const lvl = pairs.gamma[g + c]!;
      w += flatW[c]![lvl]!;
      if (lvl === 1) {
        const tf = tfAdjustment[c];
        if (tf) w += tf[comparisons[c]!.codes[a]!]!;
      }
    }
    weight[p] = w;
    probability[p] = probabilityOf(w);
    if (knownDifferent(a, pairs.r[p]!)) {
      vetoed[p] = KNOWN_DIFFERENT;
      knownDifferentPairs++;
    }
    for (let v = 0; v < vetoes.length && vetoed[p] === 0; v++) {
      const vt = vetoes[v]!;
      if (
        vt.conds.every((k) => k.levels[pairs.gamma[g + k.c]!] === 1) &&
        !vt.unless.some((k) => k.levels[pairs.gamma[g + k.c]!] === 1)
      ) {
        vetoed[p] = v + 1;
        if (w >= thresholdWeight) vetoes[v]!.count++;
        break;
      }
    }
    if (w >= thresholdWeight && vetoed[p] === 0) above++;
    if ((p & 0xfffff) === 0xfffff) s.progress.tick(0x100000);
  }
  s.progress.stop();
  return { weight, probability, vetoed, above, knownDifferentPairs };
}

/** Step 8: the run's clustering at a threshold: pairs at or above it and not vetoed, through the same guards. */
function clustererOf(
  table: LinkTable,
  settings: LinkSettings,
  olderThan: EngineOptions['olderThan'],
  cannot: Array<[number, number]>,
  pairs: ComparedPairs,
  { weight, probability, vetoed }: Scored,
): {
  clusterAt: (thresholdWeight: number) => Clustering;
  linksAt: (t: number) => ClusterInput;
  strongestAt: (t: number) => Int32Array;
  clusterOptions: ClusterOptions;
} {
  const strongCols = settings.clustering.strongIdentifiers.map((col) => {
    const enc = table.columns.get(col);
    if (!enc) throw new Error(`clustering.strongIdentifiers: no column "${col}"`);
    return { column: col, codes: enc.codes };
  });
  const clusterOptions: ClusterOptions = {
    strongIdentifiers: strongCols,
    singleLinkMinProbability: settings.clustering.singleLinkMinProbability,
    cannotLink: cannot,
    ambiguityMarginWeight: settings.clustering.ambiguityMarginWeight,
    ...ageOrderOf(table, settings, olderThan),
  };
  const strongest = strongestPairsFrom(pairs, weight, vetoed);
  const linksAt = (t: number): ClusterInput => {
    let count = 0;
    for (let p = 0; p < pairs.count; p++) if (weight[p]! >= t && vetoed[p] === 0) count++;
    const linkIdx = new Int32Array(count);
    for (let p = 0, k = 0; p < pairs.count; p++) if (weight[p]! >= t && vetoed[p] === 0) linkIdx[k++] = p;
    const links = {
      count,
      l: Int32Array.from(linkIdx, (p) => pairs.l[p]!),
      r: Int32Array.from(linkIdx, (p) => pairs.r[p]!),
      weight: Float64Array.from(linkIdx, (p) => weight[p]!),
      probability: Float64Array.from(linkIdx, (p) => probability[p]!),
    };
    // link k is the k-th such pair (linkIdx ascending): the shared sorted prefix as link indexes
    const sorted = strongest(t);
    const order = new Int32Array(count);
    for (let k = 0; k < count; k++) order[k] = lowerBound(linkIdx, sorted[k]!);
    return { links, order };
  };
  const clusterAt = (t: number): Clustering => {
    const { links, order } = linksAt(t);
    return clusterRecords(table.n, links, clusterOptions, order);
  };
  return { clusterAt, linksAt, strongestAt: strongest, clusterOptions };
}

/** The first position in ascending `xs` holding a value >= x. */
export function lowerBound(xs: Int32Array, x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Pair indexes not vetoed with weight >= t, strongest first (ties by record indexes), for any t: the pairs at a
 * threshold are a prefix of that order, so it is sorted once for the first threshold asked and extended by the pairs
 * between a lower one and the lowest so far (which all sort after them). Threshold sensitivity re-clusters at ten
 * thresholds: one sort of ~1M links instead of ten.
 */
function strongestPairsFrom(pairs: ComparedPairs, weight: Float64Array, vetoed: Uint8Array): (t: number) => Int32Array {
  let sorted = new Int32Array(0);
  let from = Infinity;
  return (t) => {
    if (t < from) {
      // counted, then filled: not a JS array of millions of numbers
      const between = (p: number) => weight[p]! >= t && weight[p]! < from && vetoed[p] === 0;
      let count = 0;
      for (let p = 0; p < pairs.count; p++) if (between(p)) count++;
      const extra = new Int32Array(count);
      for (let p = 0, k = 0; p < pairs.count; p++) if (between(p)) extra[k++] = p;
      const more = strongestFirst({ count: extra.length, l: pairs.l, r: pairs.r, weight }, extra);
      const next = new Int32Array(sorted.length + more.length);
      next.set(sorted);
      next.set(more, sorted.length);
      sorted = next;
      from = t;
    }
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (weight[sorted[mid]!]! >= t) lo = mid + 1;
      else hi = mid;
    }
    return sorted.subarray(0, lo);
  };
}

/** The model as saved: parameters, counts and the blocking, EM, scoring and clustering figures (no data values). */
function modelOf(x: {
  prepared: Omit<PreparedLinkage, 'shardInput'>;
  settings: LinkSettings;
  /** Every candidate pair: how many, and how many each blocking rule found first. */
  candidates: { count: number; newPairsByRule: number[] };
  possible: number;
  uEst: UEstimate;
  trained: TrainedM;
  prior: Model['prior'] & { deterministicPairs: number };
  levelWeights: number[][];
  thresholdWeight: number;
  vetoes: Veto[];
  cannot: Array<[number, number]>;
  scored: Scored;
  clustering: Clustering;
  timings: Record<string, number>;
}): Model {
  const { prepared, settings, candidates, possible, uEst, trained, clustering } = x;
  const { table, comparisons } = prepared;
  const { deterministicPairs, ...prior } = x.prior;
  const refusedByReason: Record<string, number> = {};
  for (const r of clustering.refused) refusedByReason[r.reason] = (refusedByReason[r.reason] ?? 0) + 1;
  return {
    version: 1,
    linkType: settings.linkType,
    records: table.n,
    sources: table.sources.map((name, i) => ({
      name,
      records: table.source.reduce((s, v) => s + (v === i ? 1 : 0), 0),
    })),
    prior,
    threshold: { probability: probabilityOf(x.thresholdWeight), weight: x.thresholdWeight },
    comparisons: comparisons.map((c, ci) => modelComparison(c, ci, settings, trained, uEst.u, x.levelWeights)),
    u: { sampledPairs: uEst.sampledPairs, exhaustive: uEst.exhaustive, seed: settings.seed },
    em: { sessions: trained.sessions },
    labels: settings.labelledPairs ? { labelledPairs: settings.labelledPairs, matches: trained.labelledMatches } : null,
    blocking: {
      rules: blockingAnalysisRules(prepared.counts, candidates.newPairsByRule),
      candidatePairs: candidates.count,
      totalPossiblePairs: possible,
      reductionRatio: possible === 0 ? 0 : 1 - candidates.count / possible,
      limits: {
        maxPairsPerRecord: settings.maxPairsPerRecord,
        maxBlockRecords: settings.maxBlockRecords,
        maxPairsPerRule: settings.maxPairsPerRule ?? null,
      },
      shards: prepared.shardCount,
    },
    deterministicRules: {
      rules: settings.deterministicRules.map(ruleName),
      pairs: deterministicPairs,
      recall: settings.deterministicRecall,
    },
    scoring: {
      pairsScored: candidates.count,
      pairsAtOrAboveThreshold: x.scored.above,
      vetoes: x.vetoes.map((v) => ({ name: v.name, pairsAtOrAboveThreshold: v.count })),
      knownDifferentPeople: { given: x.cannot.length, candidatePairs: x.scored.knownDifferentPairs },
    },
    clustering: {
      clusters: Object.values(clustering.sizeDistribution).reduce((s, v) => s + v, 0),
      sizeDistribution: clustering.sizeDistribution,
      refusedMerges: clustering.refused.length,
      refusedByReason,
      strongIdentifiers: settings.clustering.strongIdentifiers,
      singleLinkMinProbability: settings.clustering.singleLinkMinProbability,
    },
    timingsMs: x.timings,
  };
}

function modelComparison(
  c: PreparedComparison,
  ci: number,
  settings: LinkSettings,
  { m, mEm, mSource }: TrainedM,
  u: number[][],
  levelWeights: number[][],
): ModelComparison {
  return {
    name: c.name,
    column: c.column,
    type: c.type,
    termFrequency: c.termFrequency,
    mSource: mSource[ci]!,
    uSource: settings.comparisons[ci]!.u ? 'fixed' : 'random_sample',
    levels: c.levels.map((lv, l) => ({
      label: lv.label,
      m: l === 0 ? null : m[ci]![l]!,
      ...(mSource[ci] === 'labels' ? { mEm: l === 0 || !mEm[ci] ? null : mEm[ci]![l]! } : {}),
      u: l === 0 ? null : u[ci]![l]!,
      weight: levelWeights[ci]![l]!,
    })),
  };
}

/** Per blocking rule: the pairs it found first (new) and the running total over the rules. */
function blockingAnalysisRules(counts: RuleCount[], newPairs: number[]): BlockingAnalysis['rules'] {
  const rules = counts.map((c, i) => ({ ...c, newPairs: newPairs[i]!, cumulativePairs: 0 }));
  let cum = 0;
  for (const r of rules) r.cumulativePairs = cum += r.newPairs;
  return rules;
}

function concatShards(shards: ShardPairs[], C: number): ComparedPairs {
  const count = shards.reduce((s, x) => s + x.count, 0);
  const l = new Int32Array(count);
  const r = new Int32Array(count);
  const mask = new Uint16Array(count);
  const gamma = new Uint8Array(count * C);
  let at = 0;
  for (const s of shards) {
    l.set(s.l, at);
    r.set(s.r, at);
    mask.set(s.mask, at);
    gamma.set(s.gamma, at * C);
    at += s.count;
  }
  return { count, l, r, mask, gamma };
}

/** The clustering age-order constraint: birth days per record and (older, younger) record index pairs. */
function ageOrderOf(
  table: LinkTable,
  settings: LinkSettings,
  olderThan: Array<[string, string]> | undefined,
): { ageOrder?: AgeOrder } {
  const ao = settings.clustering.ageOrder;
  if (!ao || !olderThan || olderThan.length === 0) return {};
  const enc = table.columns.get(ao.column);
  if (!enc) throw new Error(`clustering.ageOrder: no column "${ao.column}"`);
  const dayOf = enc.values.map((v) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v);
    return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000 : Number.NaN;
  });
  const born = Float64Array.from(enc.codes, (c) => (c >= 0 ? dayOf[c]! : Number.NaN));
  const idx = new Map<string, number>();
  for (let i = 0; i < table.n; i++) if (table.source[i] === 0) idx.set(table.ids[i]!, i);
  const pairs: Array<[number, number]> = [];
  for (const [x, y] of olderThan) {
    const a = idx.get(x);
    const b = idx.get(y);
    if (a !== undefined && b !== undefined && a !== b) pairs.push([a, b]);
  }
  return { ageOrder: { born, pairs, minGapDays: ao.minGapYears * 365.25 } };
}
