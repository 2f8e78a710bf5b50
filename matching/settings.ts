/**
 * Linkage settings: data, zod-validated on load. The same schema drives the generic `link` command
 * (any CSV/Parquet) and the pipeline's match stage (matching/settings/partnership.json).
 */
import { z } from 'zod';
import { issuesText } from '../models/zod-issues.ts';

export const COMPARISON_TYPES = [
  'exact',
  'levenshtein',
  'jaro_winkler',
  'name',
  'date',
  'postcode_uk',
  'identifier',
  'string',
] as const;
export type ComparisonType = (typeof COMPARISON_TYPES)[number];

const probability = z.number().gt(0).lt(1);

export const comparisonSchema = z.strictObject({
  /** The column compared (after trimming the header). */
  column: z.string().trim().min(1),
  type: z.enum(COMPARISON_TYPES, {
    error: (i) => `unknown comparison type ${JSON.stringify(i.input)}: expected one of ${COMPARISON_TYPES.join(', ')}`,
  }),
  /** Name in the model and explanations; defaults to the column. */
  name: z.string().trim().min(1).optional(),
  /** date: how the column is written, e.g. "yyyyMMdd", "dd/MM/yyyy"; default: YYYY-MM-DD (yyyyMMdd also accepted). */
  format: z.string().optional(),
  /** levenshtein: edit-distance bands, e.g. [1, 2]; identifier: [1] adds a one-edit level (clear ids with typos). */
  distances: z.array(z.int().min(1)).optional(),
  /** jaro_winkler / name / string: similarity bands, strictly decreasing, e.g. [0.92, 0.88, 0.7]. */
  similarities: z.array(z.number().gt(0).lt(1)).optional(),
  /** Term-frequency adjustment of the exact level (default: on for `name`, off otherwise). */
  termFrequency: z.boolean().optional(),
  /** name: also a level for "one part of a multi-part name equals a part of the other" (double-barrelled/changed surnames). */
  parts: z.boolean().optional(),
  /** name: a level for first/last names swapped: this column equals the other record's `swapWith` column. */
  swapWith: z.string().trim().min(1).optional(),
  /** Fixed m (and/or u) per level, in level order excluding the null level: skips estimating them. */
  m: z.array(probability).optional(),
  u: z.array(probability).optional(),
});
export type ComparisonSettings = z.infer<typeof comparisonSchema>;

/** A blocking / deterministic rule: columns that must be equal, each optionally transformed, e.g. "surname:soundex". */
export const ruleSchema = z.array(z.string().trim().min(1)).min(1);
export type RuleSettings = z.infer<typeof ruleSchema>;

export const linkSettingsSchema = z.strictObject({
  linkType: z.enum(['dedupe_only', 'link_only', 'link_and_dedupe']).default('dedupe_only'),
  uniqueIdColumn: z.string().trim().min(1).default('unique_id'),
  comparisons: z.array(comparisonSchema).min(1),
  blockingRules: z.array(ruleSchema).min(1),
  deterministicRules: z.array(ruleSchema).default([]),
  /** Share of true matches the deterministic rules are believed to find (for the prior). */
  deterministicRecall: z.number().gt(0).max(1).default(0.9),
  /** Fixed prior probability that two random records match; overrides the deterministic-rule estimate. */
  probabilityTwoRandomRecordsMatch: probability.optional(),
  thresholdProbability: probability.optional(),
  thresholdWeight: z.number().optional(),
  /**
   * Vetoes: combinations of comparison levels that no weight of other evidence may override, e.g. possible
   * twins (forename completely different, same date of birth). Keys are comparison names; values level
   * kinds or labels (e.g. "else", "exact"). A vetoed pair keeps its weight but is never accepted.
   */
  vetoRules: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        when: z.record(z.string(), z.array(z.string()).min(1)),
        /** The veto does not hold when any of these comparisons is at one of these levels (e.g. the NHS numbers agree). */
        unless: z.record(z.string(), z.array(z.string()).min(1)).optional(),
      }),
    )
    .default([]),
  /**
   * The blocking guard: a rule is refused before any pair is made when it would produce more than this many
   * candidate pairs per input record (a rule too loose grows with the square of the population; a sound one
   * grows with it: ~28 per record for forename & surname & postcode district at 1M families) ...
   */
  maxPairsPerRecord: z.number().positive().default(100),
  /** ... or when one of its blocks holds more than this many records (a block is scored whole in one shard) ... */
  maxBlockRecords: z.int().positive().default(10_000),
  /** ... or, when set, more than this many candidate pairs in all (an absolute cap; off by default). */
  maxPairsPerRule: z.int().positive().optional(),
  /** Seeded random sampling of record pairs for u. */
  uSamplePairs: z.int().positive().default(1_000_000),
  seed: z.int().default(42),
  em: z
    .strictObject({
      maxIterations: z.int().positive().default(25),
      tolerance: z.number().positive().default(1e-4),
      /** Blocking rules whose pairs train m (one EM session each); default: the blocking rules. Indexes into blockingRules. */
      sessions: z.array(z.int().min(0)).optional(),
    })
    .default({ maxIterations: 25, tolerance: 1e-4 }),
  /** m from clerical labels (CSV with unique_id_l, unique_id_r, clerical_match_score) instead of EM; path relative to the settings file. */
  labelledPairs: z.string().optional(),
  clustering: z
    .strictObject({
      /** Columns holding strong identifiers (tokens): clusters with different values are never merged. */
      strongIdentifiers: z.array(z.string().trim().min(1)).default([]),
      /** A merge of clusters (more than two records) resting on a single link needs at least this probability. */
      singleLinkMinProbability: probability.default(0.99),
      /** Links of a record without a strong identifier to holders of two different ones, within this many bits, are refused (0 = off). */
      ambiguityMarginWeight: z.number().min(0).default(0),
      /**
       * With relationships saying one record is a parent or carer of another (the caller's `olderThan` pairs):
       * the parent's person must be born at least minGapYears before the child's person, by this date column.
       */
      ageOrder: z.strictObject({ column: z.string().trim().min(1), minGapYears: z.number().min(0) }).optional(),
    })
    .default({ strongIdentifiers: [], singleLinkMinProbability: 0.99, ambiguityMarginWeight: 0 }),
  /** Worker threads for scoring shards (0 = in-process); default: one per core, at most 4. */
  workers: z.int().min(0).optional(),
  /** Blocking-key shards (the unit of parallel work: a worker thread locally, a Lambda of a Distributed Map in AWS): at least this many ... */
  shards: z.int().positive().default(16),
  /** ... and more when the candidate pairs (summed over the blocking rules) exceed this many per shard. */
  pairsPerShard: z.int().positive().optional(),
});
export type LinkSettings = z.infer<typeof linkSettingsSchema>;

/** Parse settings JSON (already read) with a clear message naming the file and the key at fault. */
export function parseLinkSettings(raw: unknown, origin = 'settings'): LinkSettings {
  const parsed = linkSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${origin}: ${issuesText(parsed.error)}`);
  }
  const s = parsed.data;
  if (s.thresholdProbability !== undefined && s.thresholdWeight !== undefined) {
    throw new Error(`${origin}: give thresholdProbability or thresholdWeight, not both`);
  }
  return s;
}

export function thresholdWeightOf(s: LinkSettings): number {
  if (s.thresholdWeight !== undefined) return s.thresholdWeight;
  const p = s.thresholdProbability ?? 0.5;
  return Math.log2(p / (1 - p));
}

/** Columns a settings file reads (ids, comparisons, rules, strong identifiers). */
export function columnsUsed(s: LinkSettings): string[] {
  const cols = new Set<string>([s.uniqueIdColumn]);
  for (const c of s.comparisons) {
    cols.add(c.column);
    if (c.swapWith) cols.add(c.swapWith);
  }
  for (const r of [...s.blockingRules, ...s.deterministicRules]) for (const t of r) cols.add(ruleColumn(t));
  for (const c of s.clustering.strongIdentifiers) cols.add(c);
  if (s.clustering.ageOrder) cols.add(s.clustering.ageOrder.column);
  return [...cols];
}

export function ruleColumn(term: string): string {
  const i = term.lastIndexOf(':');
  return (i < 0 ? term : term.slice(0, i)).trim();
}

export function ruleTransform(term: string): string | null {
  const i = term.lastIndexOf(':');
  return i < 0 ? null : term.slice(i + 1).trim();
}
