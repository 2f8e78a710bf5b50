/**
 * match stage: secure person records -> Fellegi-Sunter linkage -> persons.
 *
 * Reads:  secure as_at=D/person-records.parquet (PersonRecord, snake_case or camelCase columns).
 * Writes: curated pairs   (record_id_l, record_id_r, match_weight, match_probability, match_key): every scored pair
 *                         with probability >= linkage.pairsMinProbability (default 0.001), for threshold sensitivity;
 *         curated links   (the same columns): pairs accepted into persons by the guarded clustering;
 *         curated persons (record_id, person_id): one row per record, person_id = "P" + 12 hex of SHA-256 of the
 *                         cluster's smallest record_id;
 *         curated match/as_at=D/model.json       the model (prior, m/u/weights, EM history, blocking analysis, counts; no data values);
 *         curated match/as_at=D/clustering.json  refused merges (record ids, reason, weights), cluster size distribution;
 *         secure  as_at=D/match/review-sample.json  explanations with compared values of the pairs nearest the threshold.
 * Relationships (curated, when present) are cannot-link constraints: a mother and her baby, a contact and the pupil,
 * are never one person, nor are the clusters holding them merged.
 * Settings: config.linkage.settings (a full linkage settings object) or matching/settings/partnership.json.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { isAccepted, linkRecords, type ShardExecutor } from '../../matching/engine.ts';
import { explainPair, pairsNearestThreshold } from '../../matching/explain.ts';
import { workerExecutor } from '../../matching/parallel.ts';
import { parseLinkSettings, type LinkSettings } from '../../matching/settings.ts';
import partnershipSettings from '../../matching/settings/partnership.json' with { type: 'json' };
import { iterateParquet, selectColumnsIn, writeParquet, type ParquetRow, type ParquetValue } from '../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../layout.ts';
import type { StageContext } from './context.ts';
import { allSettledOrThrow } from './all-settled.ts';
import { defineStage } from './index.ts';
import { writePairTable } from './match-pairs.ts';

export const matchInputSchema = z.object({}).loose().default({});

export const matchKeys = {
  model: (asAt: string) => `match/as_at=${asAt}/model.json`,
  clustering: (asAt: string) => `match/as_at=${asAt}/clustering.json`,
  reviewSample: (asAt: string) => keys.secure(asAt, 'match/review-sample.json'),
};

const linkageConfigSchema = z.object({
  settings: z.unknown().optional(),
  pairsMinProbability: z.number().min(0).max(1).default(0.001),
  reviewSample: z.int().min(0).default(50),
  workers: z.int().min(0).optional(),
}).loose();

/** PersonRecord fields the engine reads, and the column names they may have in the Parquet file. */
const FIELDS: Record<string, string[]> = {
  record_id: ['record_id', 'recordId'],
  forename: ['forename'],
  surname: ['surname'],
  date_of_birth: ['date_of_birth', 'dateOfBirth'],
  sex: ['sex'],
  postcode: ['postcode'],
  address_line1: ['address_line1', 'address_line_1', 'addressLine1'],
  nhs_number_token: ['nhs_number_token', 'nhsNumberToken'],
  upn_token: ['upn_token', 'upnToken'],
};

function cell(v: ParquetValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.join(' ');
  return String(v);
}

export function personIdOf(smallestRecordId: string): string {
  return `P${createHash('sha256').update(smallestRecordId).digest('hex').slice(0, 12)}`;
}

export function matchSettings(ctx: StageContext): LinkSettings {
  const cfg = linkageConfigSchema.parse(ctx.config.linkage ?? {});
  return parseLinkSettings(cfg.settings ?? partnershipSettings, cfg.settings ? 'config linkage.settings' : 'matching/settings/partnership.json');
}

/** Relationships whose `from` person is a generation above the `to` person. */
const PARENT_LIKE = new Set(['mother', 'father', 'step_parent', 'grandparent', 'carer']);

/**
 * Pair indexes ordered by (smaller record id, larger record id), given each record's rank in record id order:
 * two stable counting-sort passes over the ranks (larger id, then smaller id), linear in pairs plus records.
 */
export function sortPairsByIds(pairIdx: readonly number[], l: ArrayLike<number>, r: ArrayLike<number>, rank: Int32Array): number[] {
  const m = pairIdx.length;
  const lo = new Int32Array(m);
  const hi = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const a = rank[l[pairIdx[k]!]!]!;
    const b = rank[r[pairIdx[k]!]!]!;
    lo[k] = a < b ? a : b;
    hi[k] = a < b ? b : a;
  }
  const pass = (items: Int32Array, key: Int32Array): Int32Array => {
    const start = new Int32Array(rank.length + 1);
    for (let k = 0; k < m; k++) start[key[items[k]!]! + 1]!++;
    for (let v = 0; v < rank.length; v++) start[v + 1]! += start[v]!;
    const out = new Int32Array(m);
    for (let k = 0; k < m; k++) out[start[key[items[k]!]!]!++] = items[k]!;
    return out;
  };
  const sorted = pass(pass(Int32Array.from({ length: m }, (_, k) => k), hi), lo);
  return Array.from(sorted, (k) => pairIdx[k]!);
}

export async function matchStage(ctx: StageContext, _input: z.infer<typeof matchInputSchema> = {}) {
  const cfg = linkageConfigSchema.parse(ctx.config.linkage ?? {});
  const settings = matchSettings(ctx);
  const asAt = ctx.asAt;
  const key = keys.secure(asAt, PERSON_RECORDS_KEY);
  if (!(await ctx.stores.secure.exists(key))) throw new Error(`match: ${ctx.stores.secure.location}/${key} is missing: run the standardise stage first`);

  // read the secure person records into columns
  const columns: Record<string, Array<string | null>> = {};
  for (const f of Object.keys(FIELDS)) columns[f] = [];
  let resolved: Record<string, string | undefined> | null = null;
  ctx.progress.start('match: reading person records');
  // only the columns the engine reads (whichever of their names the file uses)
  for await (const batch of iterateParquet(ctx.stores.secure, key, selectColumnsIn(Object.values(FIELDS).flat()))) {
    for (const row of batch as ParquetRow[]) {
      if (!resolved) {
        resolved = {};
        for (const [f, names] of Object.entries(FIELDS)) resolved[f] = names.find((n) => n in row);
        if (!resolved.record_id) throw new Error(`match: ${key} has no record_id column (columns: ${Object.keys(row).join(', ')})`);
      }
      for (const f of Object.keys(FIELDS)) {
        const name = resolved[f];
        columns[f]!.push(name ? cell(row[name]) : null);
      }
    }
    ctx.progress.tick(batch.length);
  }
  ctx.progress.stop();
  const n = columns.record_id!.length;

  // known different people: the two ends of every explicit relationship (mother -> baby, contact -> pupil, ...)
  const cannotLink: Array<[string, string]> = [];
  // ... and a parent or carer is older than the child (settings clustering.ageOrder)
  const olderThan: Array<[string, string]> = [];
  const relKey = keys.curated('relationships', asAt);
  if (await ctx.stores.curated.exists(relKey)) {
    for await (const batch of iterateParquet(ctx.stores.curated, relKey)) {
      for (const r of batch as ParquetRow[]) {
        const from = cell(r.from_record_id ?? r.fromRecordId);
        const to = cell(r.to_record_id ?? r.toRecordId);
        if (from && to && from !== to) {
          cannotLink.push([from, to]);
          if (PARENT_LIKE.has(cell(r.relationship) ?? '')) olderThan.push([from, to]);
        }
      }
    }
  }

  const workers = cfg.workers ?? (process.env.AWS_LAMBDA_FUNCTION_NAME ? 0 : Math.min(4, availableParallelism()));
  const executor: ShardExecutor | undefined = workers > 1 && n > 20_000 ? workerExecutor(workers) : undefined;
  let res;
  try {
    res = await linkRecords([{ name: 'person-records', columns }], settings, { ...(executor ? { executor } : {}), progress: ctx.progress, cannotLink, olderThan });
  } finally {
    await executor?.close?.();
  }
  const { table, pairs, clustering, model } = res;
  const ids = table.ids;
  const ruleNames = model.blocking.rules.map((r) => r.rule);

  // persons: one row per record, sorted by record_id
  const smallest = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const c = clustering.cluster[i]!;
    const cur = smallest.get(c);
    if (cur === undefined || ids[i]! < cur) smallest.set(c, ids[i]!);
  }
  const personOfCluster = new Map<number, string>();
  for (const [c, id] of smallest) personOfCluster.set(c, personIdOf(id));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
  const personRows = order.map((i) => ({ record_id: ids[i]!, person_id: personOfCluster.get(clustering.cluster[i]!)! }));

  // pairs (above the floor) and links (accepted), each pair with its ids in sorted order; record rank in
  // record_id order makes sorting pairs by (smaller id, larger id) a sort of integers
  const rank = new Int32Array(n);
  order.forEach((i, k) => { rank[i] = k; });
  const idsByRank = order.map((i) => ids[i]!);
  const pairTable = (idx: number[]) => {
    const sorted = sortPairsByIds(idx, pairs.l, pairs.r, rank);
    return {
      idsByRank, ruleNames, count: sorted.length,
      lo: (k: number) => Math.min(rank[pairs.l[sorted[k]!]!]!, rank[pairs.r[sorted[k]!]!]!),
      hi: (k: number) => Math.max(rank[pairs.l[sorted[k]!]!]!, rank[pairs.r[sorted[k]!]!]!),
      weight: (k: number) => Number(pairs.weight[sorted[k]!]!.toPrecision(12)),
      probability: (k: number) => Number(pairs.probability[sorted[k]!]!.toPrecision(12)),
      // the first blocking rule that found the pair
      rule: (k: number) => { const m = pairs.mask[sorted[k]!]!; return 31 - Math.clz32(m & -m); },
    };
  };
  const kept: number[] = [];
  for (let p = 0; p < pairs.count; p++) if (pairs.probability[p]! >= cfg.pairsMinProbability) kept.push(p);
  const linked: number[] = [];
  let linkIdx = 0;
  for (let p = 0; p < pairs.count; p++) {
    if (!isAccepted(res, p)) continue;
    if (clustering.accepted[linkIdx++]) linked.push(p);
  }
  // The three tables are written side by side: each one's DuckDB work (join, Parquet encoding) overlaps the
  // others' line writing. Each table's bytes depend only on its own rows.
  const [, pairsWritten, linksAccepted] = await allSettledOrThrow([
    writeParquet(ctx.stores.curated, keys.curated('persons', asAt), [{ name: 'record_id', type: 'VARCHAR' }, { name: 'person_id', type: 'VARCHAR' }], personRows),
    writePairTable(ctx.stores.curated, keys.curated('pairs', asAt), pairTable(kept)),
    writePairTable(ctx.stores.curated, keys.curated('links', asAt), pairTable(linked)),
  ]);

  // model and clustering report (curated: ids and numbers only), review sample (secure: compared values)
  const { timingsMs: _t, ...modelJson } = model;
  await ctx.stores.curated.put(matchKeys.model(asAt), `${JSON.stringify(modelJson, null, 2)}\n`);
  const refused = clustering.refused.map((r) => ({
    record_id_l: ids[r.recordL]!,
    record_id_r: ids[r.recordR]!,
    reason: r.reason,
    ...(r.column ? { column: r.column } : {}),
    match_weight: Number(r.matchWeight.toPrecision(12)),
    match_probability: Number(r.matchProbability.toPrecision(12)),
    links_between_clusters: r.linksBetween,
    cluster_size_l: r.sizeL,
    cluster_size_r: r.sizeR,
  }));
  await ctx.stores.curated.put(matchKeys.clustering(asAt), `${JSON.stringify({ sizeDistribution: clustering.sizeDistribution, refusedMerges: refused }, null, 2)}\n`);
  const sample = pairsNearestThreshold(res, cfg.reviewSample).map((p) => explainPair(res, p, { includeValues: true }));
  await ctx.stores.secure.put(matchKeys.reviewSample(asAt), `${JSON.stringify({ threshold: model.threshold, pairs: sample }, null, 2)}\n`);

  const persons = personOfCluster.size;
  const counts = {
    records: n,
    candidatePairs: pairs.count,
    pairsWritten,
    linksAccepted,
    mergesRefused: clustering.refused.length,
    persons,
  };
  ctx.log.info('match: done', counts);
  return { counts };
}

export const stage = defineStage('match', matchInputSchema, matchStage);
